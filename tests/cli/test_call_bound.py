"""The machine's bound of one RNN call (:mod:`elman.cli.call_bound`) and the sweep summary
against it (:mod:`elman.cli.sweep_bounds`): hand-computed shapes, a made-up peak."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from elman.cli._errors import UserError
from elman.cli.call_bound import CallShape, bandwidth_at, call_bound, call_cost
from elman.cli.core_probe import measure_full_peak
from elman.cli.sweep_bounds import (
    bound_rows,
    bound_summary,
    classify,
    load_peak_block,
    shape_bounds,
)

# 2 cores; float32 2e11 FLOP/s in all: one core 5e10 multiply-adds a second (20 ps each)
PEAK = {
    "gflops": {"float32": 200.0, "float64": 100.0},
    "bandwidth_gbs": 10.0,
    "bandwidth_by_bytes": {"1000": 100.0, "100000": 50.0},
    "core": {
        "cores": 2,
        "float32": {"fma_latency_s": 1e-9, "act_latency_s": 20e-9, "act_element_s": 0.5e-9},
        "float64": {"fma_latency_s": 1e-9, "act_latency_s": 40e-9, "act_element_s": 1e-9},
    },
}


def test_cost_by_hand() -> None:
    # two layers, bidirectional, dense: L=3, N=2 -> R=6 rows, I=5, H=4, D=2
    # (the first step's 2 rows start from h0 = 0: no product with W_hh, no dW_hh share)
    s = CallShape(3, 2, 5, 4, 2, 2, "float32", 6)
    c = call_cost(s)
    fwd = 2 * (6 * 5 * 4 + 4 * 16) + 2 * (6 * 8 * 4 + 4 * 16)  # layer 0, 1 (input 2H = 8)
    bwd = 2 * (2 * 4 * 16 + 2 * 6 * 5 * 4) + 2 * (2 * 4 * 16 + 2 * 6 * 8 * 4)
    assert c["macs_fwd"] == fwd == 880
    assert c["macs_fb"] == fwd + bwd
    P = 2 * (4 * 5 + 16 + 8) + 2 * (4 * 8 + 16 + 8)  # W_ih, W_hh, two biases per direction
    assert s.params == P == 200
    assert c["bytes_fwd"] == 4 * (6 * 5 + 6 * 8 + P)
    assert c["bytes_fb"] == 4 * (2 * 6 * 5 + 2 * 6 * 8 + 2 * P)


def test_bandwidth_takes_the_fastest_footprint_not_above() -> None:
    assert bandwidth_at(PEAK, 500) == math.inf  # below every measured copy: no bound
    assert bandwidth_at(PEAK, 5000) == 100e9
    assert bandwidth_at(PEAK, 1e6) == 100e9  # the faster small copy bounds larger ones
    old = {"gflops": {}, "bandwidth_gbs": 10.0}  # only measure_peak's 256 MB copy
    assert bandwidth_at(old, 1e6) == math.inf
    assert bandwidth_at(old, 1e9) == 10e9


def test_latency_bound_of_a_long_small_step() -> None:
    # L=1000, N=1, H=16, one layer: a step's work 256/5e10 + 16*0.5e-9 = 13.12 ns, its
    # chain (1 + log2 16) * 1 ns + 20 ns = 25 ns; the first step only its 20 ns activation.
    # Backward: chain (2 + 4) * 1 ns = 6 ns (work (256 + 16) / 5e10 = 5.44 ns), first 1 ns
    s = CallShape(1000, 1, 3, 16, 1, 1, "float32", 1000)
    b = call_bound(s, PEAK)
    assert b["fwd"]["by"] == "latency"
    assert b["fwd"]["latency_s"] == pytest.approx(999 * 25e-9 + 20e-9)
    assert b["per_step"]["fwd_s"] == pytest.approx(25e-9)
    assert b["fb"]["latency_s"] == pytest.approx(999 * 25e-9 + 20e-9 + 999 * 6e-9 + 1e-9)
    # flop: 2 * (1000 * 3*16 + 999 * 256) / 2e11
    assert b["fwd"]["flop_s"] == pytest.approx(2 * (1000 * 48 + 999 * 256) / 2e11)
    # eight rows: the work passes the chain: 7992 rows' products, 8000 rows' activations,
    # the rows split over the two cores (they are independent sequences)
    s8 = CallShape(1000, 8, 3, 16, 1, 1, "float32", 8000)
    want = (7992 * 256 / 5e10 + 8000 * 16 * 0.5e-9) / 2
    assert call_bound(s8, PEAK)["fwd"]["latency_s"] == pytest.approx(want)
    assert call_bound(s8, PEAK)["per_step"]["fwd_s"] == pytest.approx(4 * (256 / 5e10 + 8e-9))


def test_latency_path_of_stacks() -> None:
    one = call_bound(CallShape(1000, 1, 3, 16, 1, 1, "float32", 1000), PEAK)["fwd"]["latency_s"]
    uni2 = call_bound(CallShape(1000, 1, 3, 16, 2, 1, "float32", 1000), PEAK)["fwd"]
    uni3 = call_bound(CallShape(1000, 1, 3, 16, 3, 1, "float32", 1000), PEAK)["fwd"]
    bi3 = call_bound(CallShape(1000, 1, 3, 16, 3, 2, "float32", 1000), PEAK)["fwd"]
    assert uni2["latency_s"] == pytest.approx(one)  # two layers in a wavefront on two cores
    # three chains on two cores: a core interleaves two chains (only their work, 13.12 ns a
    # step, is shared: 3 * 13.12 / 2 < 25 ns), so the path is still one chain
    assert uni3["latency_s"] == pytest.approx(one)
    assert bi3["latency_s"] == pytest.approx(3 * one)  # each layer waits for both directions


def test_flop_bound_of_a_wide_step_and_float64() -> None:
    s = CallShape(1, 64, 1024, 64, 1, 1, "float64", 64)
    b = call_bound(s, PEAK)["fwd"]
    assert b["by"] == "flop"
    assert b["bound_s"] == pytest.approx(2 * 64 * 1024 * 64 / 1e11)  # one step: from h0 = 0


def _entry(L: int, N: int, I: int, H: int, elman: float, torch: float) -> dict:  # noqa: E741
    shape = {"L": L, "N": N, "I": I, "H": H, "layers": 1, "bidirectional": False,
             "dtype": "float32", "packed": False}  # fmt: skip
    times = {"elman": [elman] * 3, "torch": [torch] * 3}
    return {"shape": shape, "rows": L * N, "regime": "overhead", "fwd": times, "fb": times}


def test_classify_reachable_and_bound_limited() -> None:
    # bound of (1000, 1, 3, 16): 24.995 us forward
    b = shape_bounds(_entry(1000, 1, 3, 16, 30e-6, 200e-6), PEAK, "median")
    assert b["fwd"]["elman"] == pytest.approx(30 / 24.995)
    assert b["fwd"]["torch"] == pytest.approx(200 / 24.995)
    # torch 8x the bound: 10x torch is beyond the bound; elman within 1.5x of it
    e = _entry(1000, 1, 3, 16, 30e-6, 200e-6)
    assert classify(e, b, "torch", "fwd", 10.0, "median") == "met (bound)"
    e = _entry(1000, 1, 3, 16, 40e-6, 200e-6)
    b = shape_bounds(e, PEAK, "median")
    assert classify(e, b, "torch", "fwd", 10.0, "median") == "missed (bound)"
    e = _entry(1000, 1, 3, 16, 200e-6, 1e-3)  # torch 40x the bound: 10x is reachable
    b = shape_bounds(e, PEAK, "median")
    assert classify(e, b, "torch", "fwd", 10.0, "median") == "missed"
    e = _entry(1000, 1, 3, 16, 40e-6, 1e-3)
    b = shape_bounds(e, PEAK, "median")
    assert classify(e, b, "torch", "fwd", 20.0, "median") == "met"


def test_summary_prints_both_groups(tmp_path: Path) -> None:
    entries = [_entry(1000, 1, 3, 16, 30e-6, 200e-6), _entry(2000, 2, 3, 8, 1e-3, 2e-3)]
    data = {"shapes": {str(i): e for i, e in enumerate(entries)}}
    text = bound_summary(data, PEAK)
    assert "latency bound (N <= 8, H <= 64, L >= 1000): fwd within 1.5x of the bound: 1/2" in text
    assert "reachable misses" in text and "bound-limited" in text
    rows = bound_rows(data, PEAK)
    assert [r["key"] for r in rows] == ["0", "1"]
    assert rows[0]["fwd"]["bound_s"] == pytest.approx(24.995e-6, rel=1e-6)
    assert rows[0]["fwd"]["elman"] == pytest.approx(30 / 24.995, rel=1e-6)
    assert rows[0]["fwd"]["by"] == "latency" and rows[0]["fb"]["jax"] is None
    path = tmp_path / "peak.json"
    path.write_text(
        json.dumps(
            {"machine": {"cores": 2}, "peak": {"gflops": PEAK["gflops"], "bandwidth_gbs": 10.0}}
        )
    )
    got = load_peak_block(path)
    assert got["cores"] == 2 and "no chain latencies" in bound_summary(data, got)
    for bad in ({}, {"gflops": {"float32": 1.0}}, {"gflops": PEAK["gflops"]}, [1]):
        path.write_text(json.dumps(bad))
        with pytest.raises(UserError, match="no peak"):
            load_peak_block(path)


def test_measure_full_peak_small() -> None:
    peak = measure_full_peak(quick=True)
    for dtype in ("float32", "float64"):
        c = peak["core"][dtype]
        assert 0 < c["fma_latency_s"] < 1e-6 and 0 < c["act_latency_s"] < 1e-5
        assert 0 < c["act_element_s"] < 1e-6
    assert all(v > 0 for v in peak["bandwidth_by_bytes"].values())
    assert peak["core"]["cores"] >= 1
