"""The samples benchmarks/make_rules_table.py fits the dispatch rules on, from its two inputs.

* ``benchmarks/dispatch-sweep.json`` (:mod:`dispatch_sweep`): float32 dense shapes of one
  or two layers in two thread conditions ("two": two kernel threads allowed, "one":
  ``OMP_NUM_THREADS=1``), and packed passes on the speed table and its neighbours
  (``--packed``; they guard the speed table, they are not fitted on).
* The issue-18 sweeps (``benchmarks/sweep.py``, format ``elman-sweep/1``): random shapes of
  one to three layers, uni- and bidirectional, float32 and float64, dense and packed, every
  applicable variant timed in its own worker process (cells ``variant:<name>``), with two
  threads allowed.

A sample is one shape in one condition: its features (:func:`elman._kernels.rules.features`)
and the regret of every measured variant. A variant's regret is the mean of its two log
ratios to the fastest variant of the sample, forward (no_grad) and forward+backward, each
kind's fastest taken on its own: ``(log(fwd / best fwd) + log(fb / best fb)) / 2``. The
pick is one variant for both kinds and issue 18 judges each kind's pick / best, so both
count equally (a sum of seconds, the cost before the issue-18 sweep, let the longer
forward+backward decide alone, and the forward's pick was within 15% of the best on 63% of
the first 300-shape sweep). A cell's time is its fastest repetition, not its median: on the
loaded 2-core machine the times of one cell were bimodal (the same call 1.9 or 6.5 ms, in
no order), and the best variant picked on 5 repetitions was within 15% of the best on the
other 5 for 86% of the samples by the fastest time, 70% by the median.
"""

from __future__ import annotations

import math
from typing import Any

from elman._kernels.rules import features

UNMEASURED = math.log(2.0)  # the regret charged for a pick with no measurement


def regrets(times: dict[str, tuple[float, float]]) -> dict[str, float]:
    """``{variant: regret}`` from ``{variant: (fastest fwd, fastest fwd+bwd)}``."""
    best_fwd = min(t[0] for t in times.values())
    best_fb = min(t[1] for t in times.values())
    return {
        v: (math.log(fwd / best_fwd) + math.log(fb / best_fb)) / 2 for v, (fwd, fb) in times.items()
    }


def _sample(shape: str, cond: str, f: dict[str, float], times: dict) -> dict[str, Any]:
    return {"shape": shape, "cond": cond, "f": f, "regret": regrets(times), "times": times}


def _known(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each sample the variants its sweep timed on any shape: a variant outside them
    (newer than the sweep) has no evidence there, for or against (:func:`regret`)."""
    known = frozenset(v for s in samples for v in s["times"])
    for s in samples:
        s["known"] = known
    return samples


def dispatch_sweep_samples(sweep: dict[str, Any], packed: bool = False) -> list[dict[str, Any]]:
    """One sample per (shape, condition) of ``dispatch-sweep.json``: its dense conditions
    ("two", "one"), or with ``packed`` the packed ones ("two-packed", ...: T is the packed
    rows). Shapes are keyed "L,N,I,H,layers,D"."""
    out = []
    for key in sorted(sweep["shapes"], key=lambda k: tuple(map(int, k.split(",")))):
        L, N, I, H, NL, D = map(int, key.split(","))
        for cond, variants in sorted(sweep["shapes"][key].items()):
            if cond.endswith("-packed") != packed:
                continue
            times = {v: (min(t["fwd"]), min(t["fb"])) for v, t in variants.items()}
            T = sweep["packed_rows"][key] if packed else L * N
            f = features(T, N, I, H, NL, D, cond.startswith("two"), True)
            out.append(_sample(key, cond, f, times))
    return _known(out)


def issue18_samples(sweep: dict[str, Any]) -> list[dict[str, Any]]:
    """One sample per shape of an issue-18 sweep file (condition "two"), in key order;
    shapes keyed as the file does, "L,N,I,H,layers,D,dtype,dense|packed"."""
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
        out.append(_sample(key, "two", f, times))
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
