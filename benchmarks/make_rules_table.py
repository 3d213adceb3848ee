"""Generate src/elman/_kernels/rules_table.py from the sweep benchmarks/dispatch-sweep.json.

    PYTHONPATH=src python benchmarks/make_rules_table.py [--sweep F] [--out F] [--report F]

The rows' STRUCTURE is written here (:data:`ROWS`: which variants contend in which region
and in which order, a comment each: the domain knowledge); every NUMBER is derived from the
measurements, as follows.

* A sample is one sweep shape in one thread condition ("two": two kernel threads allowed,
  "one": ``OMP_NUM_THREADS=1``), this machine having BLAS. A variant's cost on it is its
  fastest forward (no_grad) time plus its fastest forward+backward time over the
  repetitions (one inference call plus one training step, equally weighted in seconds: the
  forward+backward dominates wherever the two disagree). The fastest, not the median: on
  the loaded 2-core machine of the sweep the times of one cell were bimodal (the same call
  1.9 or 6.5 ms, in no order), and the best variant picked on 5 repetitions was within 15%
  of the best on the other 5 for 86% of the samples by the fastest time, 70% by the median.
  The best is the measured variant of least cost; the regret of a pick is log(cost of the
  pick / best cost), log 2 when the pick was not measured there.
* Bounds are set one at a time, in row order, in passes until one changes nothing
  (coordinate descent on the total regret, starting from today's values, :data:`ROWS`).
  For a bound, only the samples that reach its row and satisfy the row's other bounds can
  change their pick; their values of the bound's feature are sorted and every cut between
  two neighbouring values is tried (plus "take all", "take none"). The cut of least total
  regret wins, but a cut whose partition differs from today's must beat today's by more
  than :data:`MARGIN` (noise); among equals the cut nearest today's value.
* The speed table is where the acceptance of a change is judged: a cut that would give one
  of its shapes (in either condition, dense or packed) a pick more than 15% slower than the
  best and slower than the pick of today's bounds is not taken (the note says so). Packed
  samples (``--packed`` passes, the speed table only) count for this check alone.
* The number written is the geometric mean of the two measured values the cut falls
  between, to 2 significant digits (more if 2 do not separate them): the measured
  crossover. When the samples all lie on one side of the bound, the bound keeps today's
  value and the table marks it "not measured".

Deterministic: the same sweep gives the same file (tests/_kernels/test_rules_table.py).
``--report`` writes the agreement of the new table, today's bounds and the measured best
on every sample (benchmarks/dispatch-agreement.md).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE)]

from dispatch_sweep import SPEED  # noqa: E402  (benchmarks/, the speed table's shapes)

from elman._kernels.rules import features, first_match  # noqa: E402

MARGIN = 0.05  # total log-regret a change of partition must win by (~5% on one shape)
NEAR = math.log(1.15)  # a speed-table shape's pick may be this far from the best
UNMEASURED = math.log(2.0)  # the regret charged for a pick with no measurement

# (comment, variant, ((feature, low, high, derive), ...)): today's bounds (dispatch._auto_for
# of main 15263a3); derive=False marks a structural condition (which case the row is for)
ROWS: list[tuple[str, str, tuple[tuple[str, Any, Any, bool], ...]]] = [
    (
        "short stacks of wide inputs (I >= 8H, I <= 1024): the forward in one call, each "
        "layer's input projection one BLAS call, then the loops; layered backward. HAND-SET "
        "(not in the sweep yet): measured interleaved on 10 shapes (2026-12-07, docs/"
        "performance.md), forward 1.3-1.7x and forward+backward 1.1-1.3x layered-gemm up to "
        "T*layers*D = 128, behind it from 256 rows of N*H = 128 and on a bidirectional stack",
        "fused-forward-gemm",
        (
            ("blas", 1, 1, False),
            ("D", 1, 1, False),
            ("H", None, 32, False),
            ("I_H", 8, None, False),
            ("I", None, 1024, False),
            ("TLD", None, 200, False),
        ),
    ),
    (
        "tiny problems: loops only, the whole stack in one call (per-call overhead is most "
        "of the time); the backward fused too while short (its per-row weight-gradient "
        "loops lose to GEMMs over many rows)",
        "fused",
        (
            ("H", None, 32, True),
            ("NH", None, 128, True),
            ("IH", None, 4096, True),
            ("TLD", None, 2048, True),
        ),
    ),
    (
        "tiny problems with long sequences: fused forward, layered backward",
        "fused-forward",
        (("H", None, 32, True), ("NH", None, 128, True), ("IH", None, 4096, True)),
    ),
    (
        "one sequence, a few steps (streaming a step a call): the layered path's fixed cost "
        "(Python, packing W_hh) outweighs the fused loops' slower steps",
        "fused",
        (
            ("N", 1, 1, False),
            ("H", None, 96, True),
            ("IH", None, 4096, True),
            ("THHLD", None, 5e4, True),
        ),
    ),
    (
        "the same between H = 96 and 128, with the outer products",
        "fused-outer",
        (
            ("N", 1, 1, False),
            ("H", 97, None, True),
            ("H", None, 127, False),  # where the next row takes over
            ("IH", None, 4096, True),
            ("THHLD", None, 5e4, True),
        ),
    ),
    (
        "one sequence of wide H, a few steps: fused forward with the outer products, the "
        "fused backward while its weight-gradient block stays small",
        "fused-outer",
        (
            ("N", 1, 1, False),
            ("H", 128, None, True),
            ("I_H", None, 4, True),
            ("THHLD", None, 2e5, True),
            ("WG", None, 1e5, True),
        ),
    ),
    (
        "the same with a large weight-gradient block: layered backward",
        "fused-forward-outer",
        (
            ("N", 1, 1, False),
            ("H", 128, None, True),
            ("I_H", None, 4, True),
            ("THHLD", None, 2e5, True),
        ),
    ),
    (
        "two directions side by side, one per thread (no per-step exchange); two threads "
        "only on calls big enough to pay for the hand-over",
        "layered-pairs",
        (
            ("two", 1, 1, False),
            ("D", 2, 2, False),
            ("THH", 3e7, None, True),
            ("N", None, 32, True),
            ("H", 128, None, True),
        ),
    ),
    (
        "a unidirectional stack's forward as a layer wavefront, one layer per thread",
        "layered-pairs",
        (
            ("two", 1, 1, False),
            ("layers", 2, None, False),
            ("THH", 3e7, None, True),
            ("N", None, 16, True),
            ("H", 256, None, True),
        ),
    ),
    (
        "the batch in two halves, one per thread, six-row outer products: many rows",
        "layered-rows-outer",
        (
            ("two", 1, 1, False),
            ("THH", 5e7, None, True),
            ("N", 16, None, True),
            ("H", 128, None, True),
        ),
    ),
    (
        "the same for fewer rows of wide H on big calls",
        "layered-rows-outer",
        (
            ("two", 1, 1, False),
            ("THH", 2e8, None, True),
            ("N", 8, None, True),
            ("H", 256, None, True),
        ),
    ),
    (
        "the outer products on two threads, each keeping half of W_hh in its cache "
        "(weight-streaming bound)",
        "layered-split",
        (
            ("two", 1, 1, False),
            ("THH", 3e7, None, True),
            ("N", None, 32, True),
            ("H", 400, None, True),
        ),
    ),
    (
        "the same for very few rows",
        "layered-split",
        (
            ("two", 1, 1, False),
            ("THH", 3e7, None, True),
            ("N", None, 3, True),
            ("H", 256, None, True),
        ),
    ),
    (
        "the batch in two halves on single-threaded BLAS per step: many rows of small H",
        "layered-rows",
        (
            ("two", 1, 1, False),
            ("blas", 1, 1, False),
            ("THH", 2e8, None, True),
            ("N", 16, None, True),
        ),
    ),
    (
        "one sequence, small H: k-unrolled loops streaming W_hh.T",
        "layered-axpy",
        (("N", 1, 1, False), ("H", None, 96, True)),
    ),
    (
        "few rows of wide H: the register-blocked outer products",
        "layered-outer",
        (("H", 128, None, True), ("N", None, 3, True)),
    ),
    (
        "more rows of wider H: the same",
        "layered-outer",
        (("H", 256, None, True), ("N", None, 32, True)),
    ),
    (
        "no BLAS found: the outer products from H = 96 (not measurable here: kept)",
        "layered-outer",
        (("blas", 0, 0, False), ("H", 96, None, False)),
    ),
    ("no BLAS found, small H: the axpy loops", "layered-axpy", (("blas", 0, 0, False),)),
    ("everything else: one BLAS call per step from inside the kernel", "layered-gemm", ()),
]


def load_samples(sweep: dict[str, Any], packed: bool = False) -> list[dict[str, Any]]:
    """One sample per (shape, condition): its features and each variant's cost. Dense
    conditions ("two", "one"), or with ``packed`` the packed ones ("two-packed", ...: T is
    the packed rows)."""
    out = []
    for key in sorted(sweep["shapes"], key=lambda k: tuple(map(int, k.split(",")))):
        L, N, I, H, NL, D = map(int, key.split(","))
        for cond, variants in sorted(sweep["shapes"][key].items()):
            if cond.endswith("-packed") != packed:
                continue
            cost = {v: min(t["fwd"]) + min(t["fb"]) for v, t in variants.items()}
            T = sweep["packed_rows"][key] if packed else L * N
            f = features(T, N, I, H, NL, D, cond.startswith("two"), True)
            out.append(
                {"shape": key, "cond": cond, "f": f, "cost": cost, "best": min(cost.values())}
            )
    old = to_rules(ROWS)
    for sample in out:
        sample["speed"] = tuple(map(int, sample["shape"].split(","))) in SPEED
        sample["old"] = regret(sample, first_match(sample["f"], old))
        sample["weight"] = 0.0 if packed else 1.0  # packed: checked, not fitted on
    return out


def regret(sample: dict[str, Any], name: str) -> float:
    c = sample["cost"].get(name)
    return UNMEASURED if c is None else math.log(c / sample["best"])


def to_rules(rows: list) -> tuple:
    return tuple((v, tuple((k, lo, hi) for k, lo, hi, _ in b)) for _, v, b in rows)


def _separate(a: float, b: float) -> float:
    """A round number strictly between a < b near their geometric mean (2 digits or more)."""
    g = math.sqrt(a * b) if a > 0 else b / 2
    for digits in range(2, 12):
        r = float(f"{g:.{digits - 1}e}")
        if a < r < b:
            return int(r) if r == int(r) else r
    return g


def fit_bound(rows: list, r: int, j: int, samples: list) -> tuple[Any, str]:
    """The value of bound j of row r of least total regret, and how it was measured."""
    key, low, high, _ = rows[r][2][j]
    _, orig_low, orig_high, _ = ROWS[r][2][j]
    today = orig_low if low is not None else orig_high
    others = rows[r][2][:j] + rows[r][2][j + 1 :]
    before = to_rules(rows[:r])
    after = to_rules(rows[r + 1 :])
    reach = []
    for s in samples:
        f = s["f"]
        if _matches(f, before) or not all(_within(f[k], lo, hi) for k, lo, hi, _ in others):
            continue
        guard = max(s["old"], NEAR) if s["speed"] else math.inf
        ri, rf = regret(s, rows[r][1]), regret(s, first_match(f, after))
        reach.append((f[key], ri, rf, guard, s["weight"]))
    values = sorted({v for v, *_, w in reach if w})
    if not values or (values[-1] <= today if low is None else values[0] >= today):
        return today, "not measured (today's value: no sample beyond it)"
    if values[0] > today if low is None else values[-1] < today:
        return today, "not measured (today's value: no sample within it)"
    # cut i: the row takes values[:i] (upper bound) or values[i:] (lower bound)
    now = sum(1 for v in values if (v <= today if low is None else v < today))
    cuts, vetoed = [], False
    for i in range(len(values) + 1):
        # the cut between values[i - 1] and values[i]: the row takes values[:i] (an upper
        # bound) or values[i:] (a lower bound); samples of weight 0 (packed) by their value
        edge = values[i - 1] if i == len(values) else values[i]
        if low is None:
            taken = [v < edge or (i == len(values) and v <= edge) for v, *_ in reach]
        else:
            taken = [v >= edge and not (i == len(values) and v <= edge) for v, *_ in reach]
        picked = [
            (ri if t else rf, g, w) for t, (_, ri, rf, g, w) in zip(taken, reach, strict=True)
        ]
        if i != now and any(p > g + 1e-12 for p, g, _ in picked):
            vetoed = True  # a speed-table shape would run slower than with today's bounds
            continue
        cuts.append((sum(p * w for p, _, w in picked), i))
    loss_of = dict((i, loss) for loss, i in cuts)
    best = min(loss for loss, _ in cuts)
    today_loss = loss_of[now]
    ok = [i for loss, i in cuts if loss <= best + 1e-12]
    if today_loss <= best + MARGIN:
        i = now
    else:
        i = min(ok, key=lambda i: abs(i - now))
    note = f"regret {loss_of[i]:.3f} (today's {today_loss:.3f}) over {len(reach)} samples"
    if vetoed:
        note += "; cuts slowing a speed-table shape excluded"
    if i == now and (i == 0 or i == len(values)):
        return today, f"today's value: all samples on one side of it; {note}"
    if i == 0 or i == len(values):  # the row wins on all samples, or on none
        takes_all = (i == len(values)) == (low is None)
        edge = values[-1] if i == len(values) else values[0]
        side = "the row won on every sample: its last" if takes_all else "it lost on all: its first"
        nudge = _separate(edge / 2, edge) if i == 0 else _separate(edge, edge * 2)
        value = edge if takes_all else nudge
        return value, f"one-sided ({side} measured point); {note}"
    return _separate(
        values[i - 1], values[i]
    ), f"between {values[i - 1]:g} and {values[i]:g}; {note}"


def _within(v: float, lo: Any, hi: Any) -> bool:
    return (lo is None or v >= lo) and (hi is None or v <= hi)


def _matches(f: dict, rules: tuple) -> bool:
    return any(all(_within(f[k], lo, hi) for k, lo, hi in b) for _, b in rules)


def fit(samples: list, passes: int = 8) -> tuple[list, dict]:
    """Coordinate descent from today's bounds: passes over every derived bound until a pass
    changes none (at most ``passes``)."""
    rows = [(c, v, tuple(b)) for c, v, b in ROWS]
    notes: dict[tuple[int, int], str] = {}
    for _ in range(passes):
        start = list(rows)
        for r, (c, v, bounds) in enumerate(rows):
            for j, (k, lo, hi, derive) in enumerate(bounds):
                if not derive:
                    continue
                value, notes[r, j] = fit_bound(rows, r, j, samples)
                new = (k, value, hi, derive) if lo is not None else (k, lo, value, derive)
                rows[r] = (c, v, rows[r][2][:j] + (new,) + rows[r][2][j + 1 :])
        if rows == start:
            break
    return rows, notes


def _num(x: Any) -> str:
    if x is None:
        return "None"
    if isinstance(x, float) and x >= 1e4:
        return f"{x:.4g}".replace("e+0", "e").replace("e+", "e")
    return repr(x)


def render(rows: list, notes: dict, sweep_meta: dict) -> str:
    lines = [
        '"""The dispatch rules: generated by benchmarks/make_rules_table.py from',
        "benchmarks/dispatch-sweep.json; do not edit (see :mod:`.rules`).",
        "",
        "Rows of (variant, ((feature, low, high), ...)): the first row whose bounds all hold",
        "(low <= feature <= high, None unbounded) names the variant; the last is unconditional.",
        f"Sweep: {sweep_meta.get('cpu', '?')}, {sweep_meta.get('cores', '?')} cores.",
        '"""',
        "",
        "RULES = (",
    ]
    for r, (comment, variant, bounds) in enumerate(rows):
        lines.append(f"    # {comment}")
        lines.append("    (")
        lines.append(f'        "{variant}",')
        lines.append("        (" if bounds else "        (),")
        for j, (k, lo, hi, derive) in enumerate(bounds):
            why = notes.get((r, j), "structural") if derive else "structural"
            lines.append(f'            ("{k}", {_num(lo)}, {_num(hi)}),  # {why}')
        if bounds:
            lines.append("        ),")
        lines.append("    ),")
    lines.append(")")
    return "\n".join(_wrap(line) for line in lines) + "\n"


def _wrap(line: str, width: int = 100) -> str:
    """Comments longer than the line length go on the line above, split at words."""
    if len(line) <= width or "#" not in line:
        return line
    if line.lstrip().startswith("#"):
        code, comment = "", line.lstrip()[2:]
    else:
        code, comment = line.split("  # ", 1)
    indent = " " * (len(line) - len(line.lstrip()))
    words, out, cur = comment.split(), [], indent + "#"
    for w in words:
        if len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = indent + "#"
        cur += " " + w
    out.append(cur)
    return "\n".join(out + ([code] if code else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default=str(HERE / "dispatch-sweep.json"))
    parser.add_argument(
        "--out", default=str(HERE.parent / "src" / "elman" / "_kernels" / "rules_table.py")
    )
    parser.add_argument("--report", default="", help="write the agreement report (markdown)")
    args = parser.parse_args(argv)
    sweep = json.loads(Path(args.sweep).read_text())
    samples = load_samples(sweep)
    packed = load_samples(sweep, packed=True)
    rows, notes = fit(samples + [s for s in packed if s["speed"]])
    Path(args.out).write_text(render(rows, notes, sweep.get("meta", {})))
    if args.report:
        from agreement import report  # benchmarks/agreement.py

        text = report(samples, to_rules(rows), to_rules(ROWS), packed)
        Path(args.report).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
