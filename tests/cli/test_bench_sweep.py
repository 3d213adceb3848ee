"""``elman bench --sweep``: the shape sampler, the JSON file, resuming, the summary and the
plot. Tiny shapes, one repetition, no peers (except where a test says); speed is never
asserted."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from elman.cli._errors import UserError
from elman.cli.bench_sweep import (
    FORMAT,
    MAX_ELEMENTS,
    RANGES,
    SweepShape,
    _log_uniform,
    draw_shapes,
    sweep,
)
from elman.cli.main import main
from elman.cli.sweep_report import pick_ratio, summary

TINY = 2e4  # a budget of forward multiply-adds that keeps every shape a few microseconds


def test_draws_are_deterministic_and_prefix_stable() -> None:
    a = draw_shapes(30, seed=7)
    assert a == draw_shapes(30, seed=7)
    assert draw_shapes(10, seed=7) == a[:10]  # a longer sweep extends a shorter one
    assert a != draw_shapes(30, seed=8)


def test_draws_respect_the_budget_and_the_ranges() -> None:
    for budget in (1e5, 1e7):
        shapes = draw_shapes(200, seed=1, budget=budget)
        assert all(s.madds <= budget and s.elements <= MAX_ELEMENTS for s in shapes)
        for s in shapes:
            for k, (lo, hi) in RANGES.items():
                assert lo <= getattr(s, k) <= hi
            assert 1 <= s.layers <= 3
    shapes = draw_shapes(400, seed=2, budget=1e30)
    assert {s.dtype for s in shapes} == {"float32", "float64"}
    assert {s.packed for s in shapes} == {False, True}
    assert {s.bidirectional for s in shapes} == {False, True}
    assert {s.layers for s in shapes} == {1, 2, 3}


def test_sizes_are_log_uniform() -> None:
    rng = np.random.default_rng(0)
    lo, hi = RANGES["L"]
    draws = np.array([_log_uniform(rng, lo, hi) for _ in range(4000)])
    assert draws.min() >= lo and draws.max() <= hi
    # each decade of the range holds about the same share of the draws
    for a, b in ((1, 10), (10, 100), (100, 1000), (1000, 10000)):
        share = np.mean((draws >= a) & (draws < b))
        expected = math.log(b / a) / math.log(hi + 1)
        assert abs(share - expected) < 0.03, (a, b, share, expected)


def test_madds_counts_every_layer_and_direction() -> None:
    s = SweepShape(10, 2, 3, 4, 2, True, "float32", False)
    # layer 0: 2 directions * L*N * H*(I + H); layer 1: input 2H
    assert s.madds == 2 * 20 * 4 * (3 + 4) + 2 * 20 * 4 * (8 + 4)
    assert s.key == "10,2,3,4,2,2,float32,dense"


def run_sweep(path: Path, count: int, seed: int = 3, **kw: Any) -> dict[str, Any]:
    kw = {"budget": TINY, "repeat": 1, "min_time": 0.0, "settle": 0.0, **kw}
    return sweep(path, count, seed, [], progress=False, note=lambda s: None, **kw)


def test_json_schema(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    run_sweep(out, 2)
    data = json.loads(out.read_text())
    assert data["format"] == FORMAT
    assert data["config"]["sweep"] == {"seed": 3, "budget": TINY, "variants": False}
    (run,) = data["runs"]
    assert {"started", "ended", "machine", "repeat", "peers"} <= set(run)
    assert run["machine"]["cores"] >= 1 and run["peers"] == []
    shapes = draw_shapes(2, 3, TINY)
    assert list(data["shapes"]) == [s.key for s in shapes]
    for s in shapes:
        e = data["shapes"][s.key]
        assert e["shape"]["L"] == s.L and e["shape"]["dtype"] == s.dtype
        assert e["madds"] == s.madds and e["regime"] in ("overhead", "latency", "mid", "compute")
        assert e["rows"] <= s.L * s.N and isinstance(e["pick"], str)
        for kind in ("fwd", "fb"):
            (t,) = e[kind]["elman"]
            assert t > 0


def test_resume_times_only_new_shapes(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    first = run_sweep(out, 2)
    kept = {k: v["fwd"]["elman"] for k, v in first["shapes"].items()}
    data = run_sweep(out, 3)
    assert len(data["runs"]) == 2 and len(data["shapes"]) == 3
    for k, times in kept.items():
        assert data["shapes"][k]["fwd"]["elman"] == times  # not timed again
    assert json.loads(out.read_text())["shapes"].keys() == data["shapes"].keys()


def test_resume_refuses_another_sweep_or_file(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    run_sweep(out, 1)
    with pytest.raises(UserError, match="holds another sweep"):
        run_sweep(out, 1, seed=4)
    other = tmp_path / "bench.json"
    other.write_text(json.dumps({"results": []}))
    with pytest.raises(UserError, match="not a sweep file"):
        run_sweep(other, 1)


def test_cli_sweep_writes_the_file_and_a_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out, png = tmp_path / "s.json", tmp_path / "s.png"
    args = ["bench", "--sweep", "2", "--seed", "5", "--budget", "1e4", "--against", "none"]
    args += ["--repeat", "5", "--min-time", "0", "--settle", "0", "--json", str(out)]
    assert main([*args, "--plot", str(png)]) == 0
    assert len(json.loads(out.read_text())["shapes"]) == 2
    assert png.read_bytes()[:4] == b"\x89PNG"


def entry(shape: tuple, fwd: dict[str, float], fb: dict[str, float]) -> dict[str, Any]:
    L, N, I, H, layers, bi, dtype = shape
    s = SweepShape(L, N, I, H, layers, bi, dtype, False)
    return {
        "shape": {**s.__dict__},
        "madds": s.madds,
        "regime": "overhead" if H <= 64 else "mid",
        "pick": "fused",
        "fwd": {k: [v, v * 1.01, v * 0.99] for k, v in fwd.items()},
        "fb": {k: [v] for k, v in fb.items()},
    }


def test_summary_computes_the_acceptance_figures() -> None:
    a = entry(
        (2000, 2, 8, 32, 1, False, "float32"),
        {"elman": 1.0, "torch": 12.0, "pick": 1.0, "variant:fused": 1.0, "variant:x": 2.0},
        {"elman": 1.0, "torch": 20.0, "jax": 3.0, "pick": 1.3, "variant:fused": 1.0},
    )
    b = entry(
        (100, 64, 32, 512, 1, False, "float64"),
        {"elman": 2.0, "torch": 1.0, "pick": 1.0, "variant:fused": 1.1},
        {"elman": 1.0, "torch": 1.5, "jax": 0.5, "pick": 1.0, "variant:fused": 1.0},
    )
    assert pick_ratio(a, "fb") == pytest.approx((1.3, "fused"))
    data = {"config": {"sweep": {"seed": 0}}, "shapes": {"a": a, "b": b}}
    text = summary(data)
    assert "2 shapes" in text
    assert "pick within 15% of the best variant (fb): 1/2 (50%), worst pick/best 1.30" in text
    assert "faster than torch fwd: 1/2 (50%), lowest 0.50" in text
    assert "(100,64,32,512,1 64) 0.50 (mid)" in text  # the failing shape, listed
    assert "faster than torch fwd [float32]: 1/1 (100%)" in text
    assert "overhead, L >= 1000: fwd >= 10x torch: 1/1 (100%), lowest 12.00" in text
    assert "overhead, L >= 1000: fwd+bwd >= 30x torch: 0/1 (0%), lowest 20.00" in text
    assert "overhead: fwd+bwd >= 2x JAX: 1/1 (100%), lowest 3.00" in text


def test_benchmarks_script_adds_variant_and_pick_workers(tmp_path: Path) -> None:
    """benchmarks/sweep.py (source tree only): worker cells next to the in-process ones."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    script = root / "benchmarks" / "sweep.py"
    if not script.exists():
        pytest.skip("benchmarks/ is not here (an installed package)")
    out = tmp_path / "w.json"
    args = ["--count", "1", "--seed", "3", "--budget", "2e3", "--repeat", "1", "--min-time", "0"]
    args += ["--settle", "0", "--against", "none", "--out", str(out), "--peak", "quick"]
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    proc = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["config"]["sweep"]["variants"] is True
    (e,) = data["shapes"].values()
    for kind in ("fwd", "fb"):
        cells = set(e[kind])
        assert {"elman", "pick"} <= cells, cells
        assert any(c.startswith("variant:") for c in cells), cells
    assert "pick within 15% of the best variant (fb): " in proc.stdout
    assert data["runs"][-1]["peak"]["core"]["float32"]["fma_latency_s"] > 0
    assert "## against the machine's bound (peak from the file's last run" in proc.stdout
