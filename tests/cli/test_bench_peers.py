"""``elman bench --against``: parsing, missing peers, and the adapters' numbers (JAX's
output and gradients, onnxruntime's output) equal to elman's and torch's on small shapes.
Speed is never asserted."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from elman.cli.bench_peers import PEERS, load_peers, parse_against
from elman.cli.bench_timing import Case, elman_contestant, measure
from elman.cli.main import main

# (L, N, I, H, layers, bidirectional)
SMALL = [(5, 3, 4, 6, 2, True), (7, 2, 3, 5, 1, False)]


def elman_outputs(case: Case) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    import elman
    from elman.nn.utils.rnn import pack_padded_sequence

    x = elman.from_numpy(case.x.copy()).requires_grad_(True)
    inp = x if case.lengths is None else pack_padded_sequence(x, case.lengths)
    out, _ = case.model(inp)
    out = out.data if case.lengths is not None else out
    out.backward(case.g)
    grads = {k: p.grad.numpy().copy() for k, p in case.model.named_parameters()}
    grads["input"] = x.grad.numpy().copy()
    for p in case.model.parameters():
        p.grad = None
    return out.detach().numpy(), grads


def close(a: np.ndarray, b: np.ndarray, dtype: str) -> None:
    tol = {"float64": (1e-10, 1e-12), "float32": (2e-5, 2e-5)}[dtype]
    np.testing.assert_allclose(a, b, rtol=tol[0], atol=tol[1])


# ---- --against ---------------------------------------------------------------------------


def test_against_parses_known_names_in_order_once() -> None:
    assert parse_against("torch,jax") == ["torch", "jax"]
    assert parse_against(" JAX , torch,jax ") == ["jax", "torch"]
    assert parse_against("none") == [] and parse_against("") == []
    assert parse_against("onnxruntime") == ["onnxruntime"]


def test_against_refuses_an_unknown_peer_with_a_hint() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="unknown peer 'jaxx'.*did you mean jax"):
        parse_against("torch,jaxx")


def test_against_unknown_peer_is_a_one_line_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "elman", "bench", "--against", "tensorflow"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2  # the command line is wrong: nothing ran
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown peer 'tensorflow'" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_missing_peer_is_skipped_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jax", None)  # import jax raises ImportError
    said: list[str] = []
    assert load_peers(["jax"], say=said.append) == []
    assert said == [f"jax is not installed: skipping it ({PEERS['jax'][2]})"]


def test_sweep_flags_out_of_place_are_user_errors(tmp_path: Path) -> None:
    assert main(["bench", "--against", "none", "--plot", str(tmp_path / "p.png")]) == 1
    assert main(["bench", "--against", "none", "--sweep", "2", "--shape", "1,1,1,1,1"]) == 1


def test_bench_json_has_per_peer_times_and_ratios(tmp_path: Path) -> None:
    pytest.importorskip("jax")
    pytest.importorskip("onnxruntime")
    out = tmp_path / "b.json"
    args = ["bench", "--shape", "4,2,3,5,2,bi", "--against", "jax,onnxruntime", "--repeat", "5"]
    assert main([*args, "--min-time", "0", "--settle", "0", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["against"] == ["jax", "onnxruntime"]
    assert "jax" in data["machine"] and "onnxruntime" in data["machine"]
    (res,) = data["results"]
    for name in ("elman", "jax", "onnxruntime"):
        assert len(res["fwd"][f"{name}_s"]) == 5
        assert all(t > 0 for t in res["fwd"][f"{name}_s"])
    assert set(res["fwd"]["ratios"]) == {"jax", "onnxruntime"}
    assert set(res["fb"]["ratios"]) == {"jax"}
    assert "no backward" in res["fb"]["skipped"]["onnxruntime"]
    assert "ratio" not in res["fwd"]  # the torch ratio's key, when torch is a peer


def test_measure_interleaves_every_contestant() -> None:
    case = Case((3, 2, 2, 3, 1, False), "float64", False, seed=0)
    order: list[str] = []
    a, b = elman_contestant(case), elman_contestant(case)
    b.name = "other"
    fa, fb = a.fwd, b.fwd
    assert fa is not None and fb is not None
    a.fwd = lambda: (order.append("elman"), fa())[1]
    b.fwd = lambda: (order.append("other"), fb())[1]
    res = measure([a, b], repeat=2, min_time=0.0, fb=False)
    assert len(res["fwd"]["elman_s"]) == len(res["fwd"]["other_s"]) == 2
    timed = order[-2:]  # the last repetition's order is rotated
    assert timed == ["other", "elman"]


# ---- the adapters' numbers ------------------------------------------------------------------


@pytest.mark.parametrize("shape", SMALL)
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize(("dtype", "act"), [("float64", "tanh"), ("float32", "relu")])
def test_jax_matches_elman_and_torch(shape: Any, packed: bool, dtype: str, act: str) -> None:
    pytest.importorskip("jax")
    from elman.cli.bench_jax import jax_outputs

    case = Case(shape, dtype, packed, seed=3, nonlinearity=act)
    out, grads = jax_outputs(case)
    e_out, e_grads = elman_outputs(case)
    assert out.dtype == np.dtype(dtype)
    close(out, e_out, dtype)
    assert set(grads) == set(e_grads)
    for k in grads:
        close(grads[k], e_grads[k], dtype)
    try:
        import torch  # noqa: F401
    except ImportError:
        return
    from elman.cli.bench_peers import torch_outputs

    t_out, t_grads = torch_outputs(case)
    close(out, t_out, dtype)
    for k in grads:
        close(grads[k], t_grads[k], dtype)


@pytest.mark.parametrize("shape", SMALL)
@pytest.mark.parametrize("packed", [False, True])
def test_onnxruntime_matches_elman(shape: Any, packed: bool) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from elman.cli.bench_onnx import onnx_outputs

    case = Case(shape, "float32", packed, seed=4)
    e_out, _ = elman_outputs(case)
    close(onnx_outputs(case), e_out, "float32")


def test_onnxruntime_skips_float64_and_backward_with_reasons() -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from elman.cli.bench_onnx import OnnxPeer

    peer = OnnxPeer()
    c = peer.contestant(Case(SMALL[1], "float64", False, seed=0))
    assert c.fwd is None and c.fb is None
    assert "float64" in c.notes["fwd"] and "backward" in c.notes["fb"]
    c = peer.contestant(Case(SMALL[1], "float32", True, seed=0))
    assert c.fwd is not None and c.fb is None
    c.fwd()
