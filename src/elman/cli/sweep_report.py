"""What a sweep's JSON file says (:mod:`.bench_sweep`): the figures of issue 18's acceptance
(:func:`summary`) and a plot of the ratios against each shape's work (:func:`plot`).

Every figure is a ratio of medians taken within one shape's interleaved repetitions:
``peer / elman`` (> 1: elman is faster) for torch, JAX and onnxruntime, and ``pick / best``
(the default process's time over the fastest forced variant's, both measured in worker
processes; only in files written by ``benchmarks/sweep.py``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._errors import UserError

__all__ = ["medians", "pick_ratio", "summary", "plot", "criteria"]

PEER_KINDS = [("torch", "fwd"), ("torch", "fb"), ("jax", "fwd"), ("jax", "fb")]
PEER_KINDS += [("onnxruntime", "fwd")]
LIST_AT_MOST = 12


#: how a cell's repetitions become one time: the median (issue 18's acceptance), or the
#: fastest repetition (``--stat min``: steadier on a busy machine, where preemption hits a
#: few repetitions of every cell)
STATS: dict[str, Callable[[list[float]], float]] = {"median": statistics.median, "min": min}


def medians(entry: dict[str, Any], kind: str, stat: str = "median") -> dict[str, float]:
    f = STATS[stat]
    return {name: f(ts) for name, ts in entry.get(kind, {}).items() if ts}


def peer_ratio(entry: dict[str, Any], peer: str, kind: str, stat: str = "median") -> float | None:
    m = medians(entry, kind, stat)
    return m[peer] / m["elman"] if peer in m and "elman" in m else None


def pick_ratio(entry: dict[str, Any], kind: str, stat: str = "median") -> tuple[float, str] | None:
    """``(pick / best forced variant, best's name)``, or None without variant cells."""
    m = medians(entry, kind, stat)
    variants = {k.split(":", 1)[1]: v for k, v in m.items() if k.startswith("variant:")}
    if "pick" not in m or not variants:
        return None
    best = min(variants, key=variants.__getitem__)
    return m["pick"] / variants[best], best


def label(entry: dict[str, Any]) -> str:
    s = entry["shape"]
    return (
        f"({s['L']},{s['N']},{s['I']},{s['H']},{s['layers']}{',bi' if s['bidirectional'] else ''}"
        f" {s['dtype'][5:]}{' packed' if s['packed'] else ''})"
    )


def overhead(entry: dict[str, Any]) -> bool:
    s = entry["shape"]
    return s["H"] <= 64 or s["N"] * s["H"] ** 2 <= 100_000


def long_overhead(e: dict[str, Any]) -> bool:
    return overhead(e) and e["shape"]["L"] >= 1000


def short_overhead(e: dict[str, Any]) -> bool:
    s = e["shape"]
    return overhead(e) and s["L"] <= 64 and s["L"] * s["N"] * s["I"] * s["H"] <= 10**7


Criterion = tuple[
    str, Callable[[dict[str, Any]], bool], Callable[[dict[str, Any], str], Any], float
]


def criteria() -> list[Criterion]:
    """``(title, which shapes, the ratio, the bar)``: the ratio must reach the bar (pick
    criteria: stay at or under it)."""
    out: list[Criterion] = []
    for peer, kind in PEER_KINDS:
        name = "fwd" if kind == "fwd" else "fwd+bwd"
        out.append(
            (f"faster than {peer} {name}", _all, _peer(peer, kind), 1.0),
        )
    out += [
        ("overhead, L >= 1000: fwd >= 10x torch", long_overhead, _peer("torch", "fwd"), 10.0),
        ("overhead, L >= 1000: fwd+bwd >= 30x torch", long_overhead, _peer("torch", "fb"), 30.0),
        ("overhead, short (L <= 64, LNIH <= 1e7): fwd >= 8x torch", short_overhead,
         _peer("torch", "fwd"), 8.0),
        ("overhead, short (L <= 64, LNIH <= 1e7): fwd+bwd >= 15x torch", short_overhead,
         _peer("torch", "fb"), 15.0),
        ("overhead: fwd+bwd >= 2x JAX", overhead, _peer("jax", "fb"), 2.0),
    ]  # fmt: skip
    return out


def _all(entry: dict[str, Any]) -> bool:
    return True


def _peer(peer: str, kind: str) -> Callable[[dict[str, Any], str], float | None]:
    return lambda e, stat: peer_ratio(e, peer, kind, stat)


def summary(data: dict[str, Any], stat: str = "median") -> str:
    """The acceptance figures of the file, with the shapes that miss each bar; ``stat``:
    of each cell's repetitions (:data:`STATS`)."""
    entries = list(data["shapes"].values())
    lines = [f"## sweep summary: {len(entries)} shapes ({stat} of each cell's repetitions)"]
    by = {}
    for e in entries:
        key = (e["shape"]["dtype"], "packed" if e["shape"]["packed"] else "dense")
        by[key] = by.get(key, 0) + 1
    lines.append("  " + ", ".join(f"{d} {p}: {n}" for (d, p), n in sorted(by.items())))
    for kind in ("fwd", "fb"):
        picks = [(e, pick_ratio(e, kind, stat)) for e in entries]
        picks = [(e, r) for e, r in picks if r is not None]
        if not picks:
            continue
        good = sum(r[0] <= 1.15 for _, r in picks)
        worst = max(picks, key=lambda p: p[1][0])
        lines.append(
            f"- pick within 15% of the best variant ({kind}): {good}/{len(picks)} "
            f"({100 * good / len(picks):.0f}%), worst pick/best {worst[1][0]:.2f} "
            f"at {label(worst[0])}"
        )
        lines += _failing([(e, r[0], f"best {r[1]}, pick {e['pick']}") for e, r in picks
                           if r[0] > 1.15], descending=True)  # fmt: skip
    for title, which, ratio, bar in criteria():
        for dtype in ("all", "float32", "float64"):
            rows = [(e, ratio(e, stat)) for e in entries if which(e)]
            rows = [(e, r) for e, r in rows if r is not None]
            if dtype != "all":
                rows = [(e, r) for e, r in rows if e["shape"]["dtype"] == dtype]
            if not rows:
                continue
            good = sum(_meets(r, bar) for _, r in rows)
            lo = min(r for _, r in rows)
            tag = "" if dtype == "all" else f" [{dtype}]"
            lines.append(
                f"- {title}{tag}: {good}/{len(rows)} ({100 * good / len(rows):.0f}%), "
                f"lowest {lo:.2f}"
            )
            if dtype == "all":
                miss = [(e, r, e["regime"]) for e, r in rows if not _meets(r, bar)]
                lines += _failing(miss, descending=False)
    errors = [(e, name, text) for e in entries for name, text in e.get("errors", {}).items()]
    for e, name, text in errors[:LIST_AT_MOST]:
        lines.append(f"- error: {name} on {label(e)}: {text}")
    skipped = {
        f"{peer} {kind}: {why}"
        for e in entries
        for kind, d in e.get("skipped", {}).items()
        for peer, why in d.items()
    }
    lines += [f"- not timed: {s}" for s in sorted(skipped)]
    return "\n".join(lines)


def _meets(ratio: float, bar: float) -> bool:
    """A bar of 1 means strictly faster; a bar above 1, at least that many times faster."""
    return ratio >= bar if bar > 1 else ratio > bar


def _failing(rows: list[tuple[dict[str, Any], float, str]], descending: bool) -> list[str]:
    rows = sorted(rows, key=lambda r: r[1], reverse=descending)
    out = [f"    {label(e)} {r:.2f} ({why})" for e, r, why in rows[:LIST_AT_MOST]]
    if len(rows) > LIST_AT_MOST:
        out.append(f"    ... and {len(rows) - LIST_AT_MOST} more")
    return out


def plot(data: dict[str, Any], out: Path, stat: str = "median") -> None:
    """Ratios to the peers (and pick / best, when measured) against multiply-adds."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError('--plot needs matplotlib: pip install "elman[plot]"') from None
    entries = list(data["shapes"].values())
    has_picks = any(pick_ratio(e, "fb", stat) for e in entries)
    fig, axes = plt.subplots(1, 2 if has_picks else 1, figsize=(13 if has_picks else 7, 5))
    axes = list(axes) if has_picks else [axes]
    marks = {"fwd": "o", "fb": "s"}
    colours = {"torch": "tab:red", "jax": "tab:blue", "onnxruntime": "tab:green"}
    ax = axes[0]
    for peer, kind in PEER_KINDS:
        pts = [(e["madds"], peer_ratio(e, peer, kind, stat)) for e in entries]
        pts = [(x, y) for x, y in pts if y is not None]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.scatter(xs, ys, s=14, marker=marks[kind], color=colours[peer], alpha=0.6,
                       facecolors="none" if kind == "fb" else None,
                       label=f"{peer} {'fwd' if kind == 'fwd' else 'fwd+bwd'}")  # fmt: skip
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="forward multiply-adds of the shape",
           ylabel="peer time / elman time (> 1: elman faster)",
           title="elman against its peers")  # fmt: skip
    _legend(ax)
    if has_picks:
        ax = axes[1]
        for kind in ("fwd", "fb"):
            pts = [(e["madds"], pick_ratio(e, kind, stat)) for e in entries]
            pts = [(x, r[0]) for x, r in pts if r is not None]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.scatter(xs, ys, s=14, marker=marks[kind], alpha=0.6,
                           label="fwd" if kind == "fwd" else "fwd+bwd")  # fmt: skip
        ax.axhline(1.15, color="tab:red", lw=0.8, ls="--")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set(xscale="log", xlabel="forward multiply-adds of the shape",
               ylabel="pick / best forced variant", title="the dispatcher's pick")  # fmt: skip
        _legend(ax)
    n = len(entries)
    fig.suptitle(f"elman bench sweep: {n} shapes (seed {data['config']['sweep']['seed']})")
    fig.tight_layout()
    try:
        fig.savefig(out, dpi=110)
    except OSError as exc:
        raise UserError(f"cannot write --plot {out}: {exc}") from None
    finally:
        plt.close(fig)


def _legend(ax: Any) -> None:
    if ax.get_legend_handles_labels()[0]:  # a sweep without peers has nothing to label
        ax.legend(fontsize=8)
