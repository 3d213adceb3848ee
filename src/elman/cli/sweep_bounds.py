"""A sweep file's shapes against the machine's bound (:mod:`.call_bound`): per shape the
bound, elman / bound and torch / bound; issue 18's latency-bound acceptance; and, for every
miss of an overhead-regime bar, whether the bar is reachable at all.

A bar "b× faster than the peer" asks elman for ``peer / b``; when that is below the bound
(``peer / bound < b``), no implementation reaches it on this machine, and the test that
applies instead is "within 1.5× of the bound" (the rule issue 20 uses). Such a shape is
*bound-limited*; a miss where ``peer / b`` is at or above the bound is *reachable*.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._errors import UserError
from .call_bound import LATENCY_BARS, CallShape, call_bound, in_latency_regime
from .sweep_report import (
    LIST_AT_MOST,
    label,
    long_overhead,
    medians,
    overhead,
    short_overhead,
)

__all__ = ["shape_bounds", "bound_rows", "bound_summary", "load_peak_block", "BOUND_RULE"]

#: within this factor of the bound counts where the bar is beyond the bound
BOUND_RULE = 1.5

# (title, which shapes, peer, kind, bar)
OverheadBar = tuple[str, Callable[[dict[str, Any]], bool], str, str, float]
OVERHEAD_BARS: list[OverheadBar] = [
    ("overhead, L >= 1000: fwd >= 10x torch", long_overhead, "torch", "fwd", 10.0),
    ("overhead, L >= 1000: fwd+bwd >= 30x torch", long_overhead, "torch", "fb", 30.0),
    ("overhead, short: fwd >= 8x torch", short_overhead, "torch", "fwd", 8.0),
    ("overhead, short: fwd+bwd >= 15x torch", short_overhead, "torch", "fb", 15.0),
    ("overhead: fwd+bwd >= 2x JAX", overhead, "jax", "fb", 2.0),
]


def load_peak_block(path: Path) -> dict[str, Any]:
    """The ``peak`` of a JSON file: a bare peak (``gflops`` at the top), ``elman bench
    --train``'s, or a sweep's (its last run that measured one). A peak without ``cores``
    takes the file's machine's."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"--peak-from {path}: {exc}") from None
    if not isinstance(data, dict):
        data = {}
    peak = data if "gflops" in data else data.get("peak")
    machine = data.get("machine", {})
    for run in data.get("runs", []) if peak is None else []:
        peak, machine = run.get("peak", peak), run.get("machine", machine)
    try:
        ok = all(peak["gflops"][d] > 0 for d in ("float32", "float64"))
        ok = ok and peak["bandwidth_gbs"] > 0
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise UserError(
            f"--peak-from {path}: no peak in it (positive gflops.float32/float64 and bandwidth_gbs)"
        )
    if "cores" not in peak.get("core", {}) and "cores" not in peak:
        peak = {**peak, "cores": machine.get("cores", 1)}
    return {**peak, "from": str(path)}


def shape_bounds(entry: dict[str, Any], peak: dict[str, Any], stat: str) -> dict[str, Any]:
    """``{kind: {"bound_s", "by", "elman", "torch", "jax"}}``: the bound and each library's
    time over it (None where not timed)."""
    b = call_bound(CallShape.of_entry(entry), peak)
    out: dict[str, Any] = {}
    for kind in ("fwd", "fb"):
        m = medians(entry, kind, stat)
        bound = b[kind]["bound_s"]
        out[kind] = {"bound_s": bound, "by": b[kind]["by"]}
        for lib in ("elman", "torch", "jax"):
            out[kind][lib] = m[lib] / bound if lib in m and bound > 0 else None
    return out


def bound_rows(data: dict[str, Any], peak: dict[str, Any], stat: str = "median") -> list[Any]:
    """Every shape's bound and each library's time over it, one row per shape (for a file:
    ``benchmarks/sweep.py --bounds-out``)."""
    rows = []
    for key, e in data["shapes"].items():
        b = shape_bounds(e, peak, stat)
        row: dict[str, Any] = {"key": key, "label": label(e)}
        for kind in ("fwd", "fb"):
            row[kind] = {k: (round(v, 9) if isinstance(v, float) else v)
                         for k, v in b[kind].items()}  # fmt: skip
        rows.append(row)
    return rows


def bound_summary(data: dict[str, Any], peak: dict[str, Any], stat: str = "median") -> str:
    """The latency-bound acceptance and the overhead bars' misses split by the bound."""
    entries = list(data["shapes"].values())
    bounds = {id(e): shape_bounds(e, peak, stat) for e in entries}
    lines = [_peak_line(peak)]
    lines += _bound_spread(entries, bounds)
    lines += _latency_acceptance(entries, bounds)
    for bar in OVERHEAD_BARS:
        lines += _classify(entries, bounds, bar)
    return "\n".join(lines)


def _peak_line(peak: dict[str, Any]) -> str:
    g = peak["gflops"]
    core = peak.get("core", {})
    text = (
        f"## against the machine's bound (peak from {peak.get('from', 'this run')}: "
        f"{g['float32']:.0f} / {g['float64']:.0f} GFLOP/s float32 / float64, copy "
        f"{peak['bandwidth_gbs']:.1f} GB/s"
    )
    if "float32" in core:
        c32, c64 = core["float32"], core["float64"]
        text += (
            f"; FMA latency {c32['fma_latency_s'] * 1e9:.2f} ns, tanh latency "
            f"{c32['act_latency_s'] * 1e9:.1f} / {c64['act_latency_s'] * 1e9:.1f} ns"
        )
    else:
        text += "; no chain latencies measured: the latency bound counts throughput only"
    return text + ")"


def _bound_spread(entries: list[dict[str, Any]], bounds: dict[int, Any]) -> list[str]:
    lines = []
    for kind in ("fwd", "fb"):
        el = sorted(r for e in entries if (r := bounds[id(e)][kind]["elman"]) is not None)
        to = sorted(r for e in entries if (r := bounds[id(e)][kind]["torch"]) is not None)
        by: dict[str, int] = {}
        for e in entries:
            by[bounds[id(e)][kind]["by"]] = by.get(bounds[id(e)][kind]["by"], 0) + 1
        if el:
            lines.append(
                f"- {kind}: elman / bound median {_q(el, 0.5):.2f} [quartiles "
                f"{_q(el, 0.25):.2f}-{_q(el, 0.75):.2f}], torch / bound median "
                f"{_q(to, 0.5) if to else float('nan'):.2f}; bound set by "
                + ", ".join(f"{k} {v}" for k, v in sorted(by.items()))
            )
    return lines


def _q(xs: list[float], q: float) -> float:
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]


def _latency_acceptance(entries: list[dict[str, Any]], bounds: dict[int, Any]) -> list[str]:
    rows = [e for e in entries if in_latency_regime(CallShape.of_entry(e))]
    lines = []
    for kind in ("fwd", "fb"):
        bar = LATENCY_BARS[kind]
        rs = [(e, bounds[id(e)][kind]["elman"]) for e in rows]
        rs = [(e, r) for e, r in rs if r is not None]
        if not rs:
            continue
        good = sum(r <= bar for _, r in rs)
        lines.append(
            f"- latency bound (N <= 8, H <= 64, L >= 1000): {kind} within {bar}x of the bound: "
            f"{good}/{len(rs)} ({100 * good / len(rs):.0f}%), worst {max(r for _, r in rs):.2f}"
        )
        lines += _listed([(e, r, "") for e, r in rs if r > bar], descending=True)
    return lines


def classify(
    entry: dict[str, Any], b: dict[str, Any], peer: str, kind: str, bar: float, stat: str
) -> str | None:
    """``met``, ``met (bound)`` (bound-limited, within :data:`BOUND_RULE` of the bound),
    ``missed (bound)`` (bound-limited, beyond it) or ``missed`` (reachable); None where the
    peer or elman was not timed."""
    m = medians(entry, kind, stat)
    if peer not in m or "elman" not in m:
        return None
    if m[peer] / m["elman"] >= bar:
        return "met"
    peer_over_bound = b[kind][peer]
    if peer_over_bound is not None and peer_over_bound < bar:
        return "met (bound)" if b[kind]["elman"] <= BOUND_RULE else "missed (bound)"
    return "missed"


def _classify(
    entries: list[dict[str, Any]], bounds: dict[int, Any], bar_spec: OverheadBar,
    stat: str = "median",
) -> list[str]:  # fmt: skip
    title, which, peer, kind, bar = bar_spec
    got: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        if which(e):
            c = classify(e, bounds[id(e)], peer, kind, bar, stat)
            if c is not None:
                got.setdefault(c, []).append(e)
    n = sum(len(v) for v in got.values())
    if not n:
        return []
    ok = len(got.get("met", [])) + len(got.get("met (bound)", []))
    lines = [
        f"- {title}, or within {BOUND_RULE}x of the bound where the bar is beyond it: "
        f"{ok}/{n} ({100 * ok / n:.0f}%): met {len(got.get('met', []))}, bound-limited "
        f"{len(got.get('met (bound)', [])) + len(got.get('missed (bound)', []))} "
        f"({len(got.get('met (bound)', []))} within {BOUND_RULE}x), reachable misses "
        f"{len(got.get('missed', []))}"
    ]

    def ratio(e: dict[str, Any]) -> float:
        m = medians(e, kind, stat)
        return m[peer] / m["elman"]

    def why(e: dict[str, Any]) -> str:
        b = bounds[id(e)][kind]
        return f"elman/bound {b['elman']:.2f}, {peer}/bound {b[peer]:.2f}, by {b['by']}"

    reach = [(e, ratio(e), why(e)) for e in got.get("missed", [])]
    if reach:
        lines.append(f"  reachable misses ({peer}/elman; the bar leaves room above the bound):")
        lines += _listed(reach, descending=False)
    limited = got.get("missed (bound)", []) + got.get("met (bound)", [])
    if limited:
        lines.append(f"  bound-limited ({peer}/bound < {bar:g}; {peer}/elman):")
        rows = [(e, ratio(e), why(e)) for e in limited]
        lines += _listed(sorted(rows, key=lambda r: -bounds[id(r[0])][kind]["elman"]),
                         descending=None)  # fmt: skip
    return lines


def _listed(rows: list[tuple[dict[str, Any], float, str]], descending: bool | None) -> list[str]:
    if descending is not None:
        rows = sorted(rows, key=lambda r: r[1], reverse=descending)
    out = [f"    {label(e)} {r:.2f}" + (f" ({w})" if w else "") for e, r, w in rows[:LIST_AT_MOST]]
    if len(rows) > LIST_AT_MOST:
        out.append(f"    ... and {len(rows) - LIST_AT_MOST} more")
    return out
