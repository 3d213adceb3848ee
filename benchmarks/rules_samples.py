"""The samples benchmarks/make_rules_table.py fits the dispatch rules on, from its two inputs.

* ``benchmarks/dispatch-sweep.json`` (:mod:`dispatch_sweep`): float32 dense shapes of one
  or two layers in two thread conditions ("two": two kernel threads allowed, "one":
  ``OMP_NUM_THREADS=1``), and packed passes on the speed table and its neighbours
  (``--packed``; they guard the speed table, they are not fitted on).
* The issue-18 sweeps (``benchmarks/sweep.py``, format ``elman-sweep/1``): random shapes of
  one to three layers, uni- and bidirectional, float32 and float64, dense and packed, every
  applicable variant timed in its own worker process (cells ``variant:<name>``), with two
  threads allowed.

A sample is one shape in one condition and of one kind (a forward alone under no_grad, or
forward+backward): its features (:func:`elman._kernels.rules.features`) and the regret of
every measured variant, its log ratio to the kind's fastest variant of the shape,
``log(t / best)``. One pick serves both kinds (so that a forward gives the same bits with a
graph or without), so the two samples of a shape land on the same row and a cut's cost is
the sum of both kinds' log ratios; issue 18 judges each kind's pick / best. (Picks per kind,
rows gated on whether the call records a graph, were tried on the 2026-12-08 sweeps: 94% /
91% of the fitted shapes within 15% against 93% / 91% for one pick, 87% / 90% held out
against 85% / 91%: no gain beyond noise; docs/performance.md.) A cell's time is its fastest
repetition, not its median: on the
loaded 2-core machine the times of one cell were bimodal (the same call 1.9 or 6.5 ms, in
no order), and the best variant picked on 5 repetitions was within 15% of the best on the
other 5 for 86% of the samples by the fastest time, 70% by the median.
"""

from __future__ import annotations

import math
from typing import Any

from elman._kernels.rules import features

UNMEASURED = math.log(2.0)  # the regret charged for a pick with no measurement


KINDS = ("fwd", "fb")  # grad = 0: a forward alone; grad = 1: forward+backward


def forward_code(name: str) -> str:
    """Which code a variant's forward runs: the fused variants' forward is one compiled
    loop nest whatever their step mode (``fused``, ``fused-outer``, ``fused-forward``,
    ``fused-forward-outer``: "fused-loops"), or that with the input projections one BLAS
    call each (``fused-gemm``, ``fused-forward-gemm``: "fused-blas"); every other variant
    its own (the layered forwards run their modes)."""
    from elman._kernels.dispatch import VARIANTS
    from elman._kernels.modes import GEMM

    v = VARIANTS.get(name)
    if v is None or not v.fused:
        return name
    return "fused-blas" if v.mode is GEMM else "fused-loops"


def pooled_forwards(cells: dict[str, float]) -> dict[str, float]:
    """Forward times with each variant's time the fastest cell of its forward code
    (:func:`forward_code`): twins' forwards are the same code measured in separate workers,
    whose times differ by placement alone (identical code differed by more than 15% on 8%
    of cell pairs, fastest repetitions: docs/performance.md); the forward a twin runs is
    as fast as the fastest of those measurements."""
    best: dict[str, float] = {}
    for name, t in cells.items():
        key = forward_code(name)
        best[key] = min(best.get(key, math.inf), t)
    return {name: best[forward_code(name)] for name in cells}


def regrets(times: dict[str, tuple[float, float]], grad: int) -> dict[str, float]:
    """``{variant: regret}`` of the kind ``grad`` (0: forward, twins' forwards pooled by
    :func:`pooled_forwards`; 1: forward+backward) from ``{variant: (fastest fwd, fastest
    fwd+bwd)}``."""
    kind = {v: t[grad] for v, t in times.items()}
    if grad == 0:
        kind = pooled_forwards(kind)
    best = min(kind.values())
    return {v: math.log(t / best) for v, t in kind.items()}


def _samples(shape: str, cond: str, f: dict[str, float], times: dict) -> list[dict[str, Any]]:
    """The shape's two samples, one per kind."""
    return [
        {
            "shape": shape,
            "cond": f"{cond} {KINDS[grad]}",
            "kind": KINDS[grad],
            "f": f,
            "regret": regrets(times, grad),
            "times": times,
        }
        for grad in (0, 1)
    ]


def _known(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each sample the variants its sweep timed on any shape: a variant outside them
    (newer than the sweep) has no evidence there, for or against (:func:`regret`)."""
    known = frozenset(v for s in samples for v in s["times"])
    for s in samples:
        s["known"] = known
    return samples


def dispatch_sweep_samples(sweep: dict[str, Any], packed: bool = False) -> list[dict[str, Any]]:
    """Two samples (the kinds) per (shape, condition) of ``dispatch-sweep.json``: its dense
    conditions ("two", "one"), or with ``packed`` the packed ones ("two-packed", ...: T is
    the packed rows). Shapes are keyed "L,N,I,H,layers,D"."""
    out = []
    for key in sorted(sweep["shapes"], key=lambda k: tuple(map(int, k.split(",")))):
        L, N, I, H, NL, D = map(int, key.split(","))
        for cond, variants in sorted(sweep["shapes"][key].items()):
            if cond.endswith("-packed") != packed:
                continue
            times = {v: (min(t["fwd"]), min(t["fb"])) for v, t in variants.items()}
            T = sweep["packed_rows"][key] if packed else L * N
            f = features(T, N, I, H, NL, D, cond.startswith("two"), True)
            out += _samples(key, cond, f, times)
    return _known(out)


def issue18_samples(sweep: dict[str, Any]) -> list[dict[str, Any]]:
    """Two samples (the kinds) per shape of an issue-18 sweep file (condition "two"), in key
    order; shapes keyed as the file does, "L,N,I,H,layers,D,dtype,dense|packed"."""
    out = []
    for key in sorted(sweep["shapes"]):
        e = sweep["shapes"][key]
        s = e["shape"]
        times = {
            name.split(":", 1)[1]: (min(e["fwd"][name]), min(e["fb"][name]))
            for name in sorted(e.get("fwd", {}))
            if name.startswith("variant:") and e["fwd"][name] and e.get("fb", {}).get(name)
        }
        if not times:
            continue
        D = 2 if s["bidirectional"] else 1
        f = features(e["rows"], s["N"], s["I"], s["H"], s["layers"], D, True, True)
        out += _samples(key, "two", f, times)
    return _known(out)


def regret(sample: dict[str, Any], name: str) -> float | None:
    """The sample's regret of picking ``name``: :data:`UNMEASURED` if its sweep times
    ``name`` elsewhere but not here (the sweeps skip the hopeless, dispatch_sweep.applicable),
    None if its sweep never times ``name`` (no evidence)."""
    if name not in sample["known"]:
        return None
    return sample["regret"].get(name, UNMEASURED)


def ratios(sample: dict[str, Any], name: str) -> tuple[float, float] | None:
    """``(fwd, fwd+bwd)`` of ``name`` over each kind's fastest variant, None if not timed."""
    t = sample["times"].get(name)
    if t is None:
        return None
    best = [min(x[k] for x in sample["times"].values()) for k in (0, 1)]
    return t[0] / best[0], t[1] / best[1]
