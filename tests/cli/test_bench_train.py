"""``elman bench --train``: the training-step harness, its grid, bounds, JSON and errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from elman.cli import bench_train
from elman.cli.bench_train import PHASES, SCHEMA, make_pair
from elman.cli.main import main
from elman.cli.train_grid import (
    DEFAULT_GRID,
    FULL_GRID,
    TrainShape,
    measure_peak,
    parse_train_shape,
    step_bound,
    step_cost,
    verdict,
)

PEAK = {"gflops": {"float32": 100.0, "float64": 50.0}, "bandwidth_gbs": 10.0}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "elman", *args], capture_output=True, text=True, timeout=300
    )


# ---- grid parsing ---------------------------------------------------------------------------


def test_parse_a_full_spec() -> None:
    s = parse_train_shape("200, 64, 8, 128, 2, bi, relu, packed, all, f64")
    assert s == TrainShape(200, 64, 8, 128, 2, True, "relu", True, "all", 96, "float64")
    assert s.label() == "(200,64,8,128,2) bi relu packed all f64"
    assert (s.D, s.nh2, s.out_size) == (2, 64 * 128 * 128, 8)


def test_parse_defaults_and_language_model() -> None:
    s = parse_train_shape("64,32,32,256,1,lm=40")
    assert (s.head, s.vocab, s.out_size, s.nonlinearity, s.bi, s.packed) == (
        "lm", 40, 40, "tanh", False, False
    )  # fmt: skip
    assert s.dtype == ""  # not given: elman bench fills in --dtype
    assert parse_train_shape("5,2,3,4,1").head == "last"


@pytest.mark.parametrize(
    "spec, words",
    [
        ("1,2,3", "L,N,I,H,LAYERS"),
        ("1,2,x,4,1", "integers"),
        ("1,2,0,4,1", "positive"),
        ("5,2,3,4,1,sideways", "unknown field 'sideways'"),
        ("5,2,3,4,1,lm=1", "vocabulary >= 2"),
        ("5,2,3,4,1,lm,packed", "lm runs dense"),
    ],
)
def test_parse_rejects(spec: str, words: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=words):
        parse_train_shape(spec)


def test_the_3x_grid_is_l20_and_nh2_up_to_1e7() -> None:
    assert TrainShape(20, 38, 1, 512).in_3x_grid  # 38·512² = 9.96e6
    assert not TrainShape(20, 39, 1, 512).in_3x_grid
    assert not TrainShape(19, 8, 1, 32).in_3x_grid


def test_grids_cover_the_issue() -> None:
    full = FULL_GRID
    assert {s.dtype for s in full} == {"float32", "float64"}
    assert min(s.L for s in full) == 20 and max(s.L for s in full) == 500
    assert min(s.N for s in full) == 8 and max(s.N for s in full) == 256
    assert min(s.I for s in full) == 1 and max(s.I for s in full) == 128
    assert min(s.H for s in full) == 32 and max(s.H for s in full) == 512
    assert {s.layers for s in full} == {1, 2}
    for grid in (full, DEFAULT_GRID):
        assert {s.head for s in grid} == {"last", "all", "lm"}
        assert {s.nonlinearity for s in grid} == {"relu", "tanh"}
        assert {s.bi for s in grid} == {s.packed for s in grid} == {True, False}
        assert {s.in_3x_grid for s in grid} == {True, False}
    assert len(set(full)) == len(full) and len(set(DEFAULT_GRID)) == len(DEFAULT_GRID)
    assert {s.dtype for s in DEFAULT_GRID} == {"float32", "float64"}


# ---- the bound ------------------------------------------------------------------------------


def test_step_cost_counts_by_hand() -> None:
    s = TrainShape(10, 4, 3, 5)  # one layer, last head, float32, 40 rows
    cost = step_cost(s)
    rnn_macs = 40 * (3 * 25 + 2 * 3 * 5)  # no dX for the data-fed layer
    head_macs = 3 * 4 * 5 * 1
    assert cost["macs"] == rnn_macs + head_macs
    params = (5 * 3 + 25 + 10) + (5 + 1)
    elems = 40 * (8 * 5 + 3 * 3) + 3 * 4 * (5 + 2) + 13 * params
    assert (cost["params"], cost["bytes"]) == (params, 4 * elems)
    b = step_bound(cost, PEAK, "float32")
    assert b["flop_s"] == pytest.approx(2 * cost["macs"] / 100e9)
    assert b["bytes_s"] == pytest.approx(cost["bytes"] / 10e9)
    assert b["bound_s"] == max(b["flop_s"], b["bytes_s"])


def test_step_cost_second_layer_and_packed_rows() -> None:
    one = step_cost(TrainShape(10, 4, 3, 5, 1, bi=True))
    two = step_cost(TrainShape(10, 4, 3, 5, 2, bi=True))
    # the second layer reads 2H = 10 features and needs dX, both directions
    assert two["macs"] - one["macs"] == 2 * 40 * (3 * 25 + 3 * 10 * 5)
    assert step_cost(TrainShape(10, 4, 3, 5, packed=True))["rows"] == 22
    assert step_cost(TrainShape(10, 4, 3, 5), rows=7)["rows"] == 7


@pytest.mark.parametrize(
    "in_grid, elman_ms, torch_ms, bound_ms, want",
    [
        (True, 1.0, 3.1, 0.1, "met"),
        (True, 1.0, 2.9, 0.1, "missed (3×)"),
        (True, 1.4, 2.9, 1.0, "met (bound)"),  # torch / 3 < bound: within 1.5× of the bound
        (True, 1.6, 2.9, 1.0, "missed (bound)"),
        (False, 1.0, 1.5, 0.1, "met"),
        (False, 1.0, 1.4, 0.1, "missed (1.5×)"),
    ],
)
def test_verdict_follows_the_acceptance(
    in_grid: bool, elman_ms: float, torch_ms: float, bound_ms: float, want: str
) -> None:
    entry = {
        "in_3x_grid": in_grid,
        "elman": {"step_s": [elman_ms / 1e3] * 5},
        "torch": {"step_s": [torch_ms / 1e3] * 5},
        "ratio": {"step": torch_ms / elman_ms},
        "bound": {"bound_s": bound_ms / 1e3},
    }
    assert verdict(entry) == want


def test_measure_peak_small() -> None:
    peak = measure_peak(n=64, copy_mb=1, repeat=2)
    assert peak["gflops"]["float32"] > 0 and peak["gflops"]["float64"] > 0
    assert peak["bandwidth_gbs"] > 0


# ---- same losses as torch -------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        "12,4,2,8,1,relu,f64",
        "9,5,3,6,2,bi,packed,all,f64",
        "7,3,4,6,1,bi,packed,f64",
        "8,3,5,7,1,lm=11,f64",
        "10,4,3,8,2,relu,all,f32",
    ],
)
def test_harness_losses_match_torch(spec: str) -> None:
    torch = pytest.importorskip("torch")
    shape = parse_train_shape(spec)
    e, t = make_pair(shape, torch, seed=3)
    assert t is not None
    tol = 1e-10 if shape.dtype == "float64" else 1e-5
    for _ in range(6):  # the stream cycles its 4 batches; Adam moves the weights each step
        acc = [0.0] * len(PHASES)
        le, lt = e.step(acc), t.step(acc)
        np.testing.assert_allclose(float(le.item()), float(lt.item()), rtol=tol, atol=tol)
        assert all(a >= 0 for a in acc)
    for (name, pe), pt in zip(e.model.named_parameters(), t.model.parameters(), strict=True):
        got, want = pe.detach().numpy(), pt.detach().numpy()
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=name)


# ---- the command ----------------------------------------------------------------------------


def test_bench_train_json_schema(tmp_path: Path) -> None:
    peak = tmp_path / "peak.json"
    peak.write_text(json.dumps({"peak": PEAK}))
    out = tmp_path / "t.json"
    argv = "bench --train-shape 6,3,2,4,1,bi,packed --train-shape 5,2,3,4,1,lm=7,f64"
    argv += f" --repeat 5 --min-time 0 --settle 0 --no-torch --peak-from {peak} --json {out}"
    assert main(argv.split()) == 0
    data = json.loads(out.read_text())
    assert data["schema"] == SCHEMA and data["phases"] == list(PHASES)
    assert data["peak"]["gflops"] == PEAK["gflops"] and data["repeat"] == 5
    assert [r["shape"]["dtype"] for r in data["results"]] == ["float32", "float64"]
    for r in data["results"]:
        assert set(r) >= {"shape", "label", "nh2", "in_3x_grid", "cost", "bound", "elman"}
        assert len(r["elman"]["step_s"]) == 5
        assert set(r["elman"]["phases_s"]) == set(PHASES)
        steps = np.array(r["elman"]["step_s"])
        parts = np.sum([r["elman"]["phases_s"][p] for p in PHASES], axis=0)
        np.testing.assert_allclose(parts, steps, rtol=1e-12)
        assert r["bound"]["bound_s"] > 0 and r["verdict"] == "-"
        assert np.isfinite(r["elman"]["loss"])


def test_dtype_flag_fills_unmarked_specs() -> None:
    specs = [parse_train_shape("5,2,3,4,1"), parse_train_shape("5,2,3,4,1,f32")]
    ns = argparse.Namespace(train_shape=specs, dtype="float64")
    assert [s.dtype for s in bench_train.shapes_of(ns)] == ["float64", "float32"]


@pytest.mark.parametrize(
    "args, words",
    [
        (("--train-shape", "1,2,3"), "--train-shape wants L,N,I,H,LAYERS"),
        (("--grid", "ful"), "did you mean 'full'?"),
        (("--train", "--shape", "4,2,3,5,1"), "--shape times RNN calls"),
        (("--train", "--packed"), "--train-shape ...,packed"),
        (("--train", "--skip-fb"), "--skip-fb times RNN calls"),
        (("--train", "--sweep", "3"), "--sweep and --plot time RNN calls"),
        (("--train", "--against", "torch,jax"), "against torch only"),
    ],
)
def test_bad_arguments_are_one_line_usage_errors(args: tuple[str, ...], words: str) -> None:
    proc = run_cli("bench", *args, "--no-torch")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("elman bench: error:")
    assert words in lines[0]


def test_a_bad_peak_file_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    proc = run_cli("bench", "--train-shape", "5,2,3,4,1", "--no-torch", "--peak-from", str(bad),
                   "--json", str(tmp_path / "o.json"))  # fmt: skip
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not the JSON of 'elman bench --train'" in lines[0]


def test_measure_shape_against_torch_has_every_ratio() -> None:
    torch = pytest.importorskip("torch")
    pair = make_pair(parse_train_shape("6,3,2,4,1,f64"), torch, seed=0)
    res = bench_train.measure_shape(pair, repeat=5, min_time=0.0, settle=0.0)
    assert set(res["ratio"]) == {"step", "step_fastest", *PHASES}
    assert res["elman"]["steps_done"] == res["torch"]["steps_done"]  # same place in the stream
    np.testing.assert_allclose(res["elman"]["loss"], res["torch"]["loss"], rtol=1e-10)
