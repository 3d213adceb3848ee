"""What a dispatch rules table would pick on an issue-18 sweep, computed offline.

    PYTHONPATH=src python benchmarks/sweep.py --summary --out SWEEP.json --rules TABLE.py

A sweep of ``benchmarks/sweep.py`` times every applicable variant of each shape in its own
worker (cells ``variant:<name>``); those cells do not depend on the rules. So any table
(a file defining ``RULES`` as :mod:`elman._kernels.rules_table` does, e.g. an older one
from ``git show``) can be judged on any sweep: its pick on each shape is the first
matching row for the shape's features (:func:`elman._kernels.rules.features`, two threads
and BLAS, as the sweep ran), and its time that variant's cell. The figures are those of
the summary's "pick within 15% of the best variant", with one difference: the summary
times the pick in a worker of its own (cell ``pick``), here the pick is the variant's own
cell, so a pick that is the best counts 1.00 exactly (the worker's cell adds its noise).
A pick whose variant the sweep did not time counts as a miss ("not timed"). A forward's
time is the fastest cell of the variants that run the same forward code
(:func:`rules_samples.pooled_forwards`: the fused twins); the summary also prints the
count with every cell its own.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from rules_samples import pooled_forwards  # benchmarks/

from elman._kernels.rules import features, first_match

__all__ = ["load_rules", "table_pick", "table_summary"]

STATS = {"median": statistics.median, "min": min}
WITHIN = 1.15


def load_rules(path: Path) -> tuple:
    """``RULES`` of a rules-table file (it only assigns literals; no import is run)."""
    namespace: dict[str, Any] = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 (our own file)
    return namespace["RULES"]


def table_pick(entry: dict[str, Any], rules: tuple) -> str:
    """The variant ``rules`` pick for a sweep entry (two threads, BLAS: as the sweep ran)."""
    s = entry["shape"]
    D = 2 if s["bidirectional"] else 1
    f = features(entry["rows"], s["N"], s["I"], s["H"], s["layers"], D, True, True)
    return first_match(f, rules)


def _ratio(
    entry: dict[str, Any], name: str, kind: str, stat: str, pooled: bool = True
) -> float | None:
    f = STATS[stat]
    cells = {
        k.split(":", 1)[1]: f(ts)
        for k, ts in entry.get(kind, {}).items()
        if k.startswith("variant:") and ts
    }
    if kind == "fwd" and pooled:  # twins' forwards: one code, several measurements
        cells = pooled_forwards(cells)
    if name not in cells:
        return None
    return cells[name] / min(cells.values())


def table_summary(data: dict[str, Any], rules: tuple, stat: str = "median") -> str:
    """Pick / best per kind for the table ``rules`` on every shape of ``data``."""
    entries = [
        e
        for e in data["shapes"].values()
        if any(k.startswith("variant:") for k in e.get("fwd", {}))
    ]
    if not entries:
        return "## rules table, offline: no variant cells in this file"
    n = len(entries)
    lines = [f"## rules table, offline ({stat} of each variant cell): {n} shapes"]
    ratios: dict[str, list[float | None]] = {}
    picks = [table_pick(e, rules) for e in entries]
    for kind in ("fwd", "fb"):
        ratios[kind] = [_ratio(e, p, kind, stat) for e, p in zip(entries, picks, strict=True)]
        good = sum(r is not None and r <= WITHIN for r in ratios[kind])
        timed = [(r, e, p) for e, p, r in zip(entries, picks, ratios[kind], strict=True) if r]
        worst = max(timed, key=lambda t: t[0], default=None)
        text = "" if worst is None else f", worst {worst[0]:.2f} at {_label(worst[1])} ({worst[2]})"
        lines.append(
            f"- pick within 15% of the best variant ({kind}): {good}/{n} "
            f"({100 * good / n:.0f}%){text}; not timed {n - len(timed)}"
        )
    both = sum(
        a is not None and b is not None and a <= WITHIN and b <= WITHIN
        for a, b in zip(ratios["fwd"], ratios["fb"], strict=True)
    )
    lines.append(f"- both kinds within 15%: {both}/{n} ({100 * both / n:.0f}%)")
    raw = [_ratio(e, p, "fwd", stat, pooled=False) for e, p in zip(entries, picks, strict=True)]
    good = sum(r is not None and r <= WITHIN for r in raw)
    lines.append(
        f"- (fwd with each twin's forward its own cell, not pooled: {good}/{n} "
        f"({100 * good / n:.0f}%), worst {max((r for r in raw if r), default=1.0):.2f})"
    )
    misses = [
        (max(a or 99.0, b or 99.0), e, p, a, b)
        for e, p, a, b in zip(entries, picks, ratios["fwd"], ratios["fb"], strict=True)
        if not (a is not None and b is not None and a <= WITHIN and b <= WITHIN)
    ]
    for _, e, p, a, b in sorted(misses, key=lambda m: -m[0]):
        lines.append(
            f"    {_label(e)} pick {p}: fwd {_fmt(a)}, fb {_fmt(b)} (best {_bests(e, stat)})"
        )
    return "\n".join(lines)


def _fmt(r: float | None) -> str:
    return "not timed" if r is None else f"{r:.2f}"


def _bests(entry: dict[str, Any], stat: str) -> str:
    out = []
    for kind in ("fwd", "fb"):
        cells = {
            k: STATS[stat](t) for k, t in entry[kind].items() if k.startswith("variant:") and t
        }
        out.append(min(cells, key=cells.__getitem__).split(":", 1)[1])
    return out[0] if out[0] == out[1] else f"fwd {out[0]}, fb {out[1]}"


def _label(e: dict[str, Any]) -> str:
    s = e["shape"]
    return (
        f"({s['L']},{s['N']},{s['I']},{s['H']},{s['layers']}{',bi' if s['bidirectional'] else ''}"
        f" {s['dtype'][5:]}{' packed' if s['packed'] else ''})"
    )
