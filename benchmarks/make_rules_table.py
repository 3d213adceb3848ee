"""Generate src/elman/_kernels/rules_table.py from the checked-in sweeps.

    PYTHONPATH=src python benchmarks/make_rules_table.py [--sweep F] [--issue18 F ...]
        [--out F] [--report F]

Inputs (:mod:`rules_samples`): ``benchmarks/dispatch-sweep.json`` (float32 dense shapes of
one or two layers, two thread conditions, packed passes on the speed table) and the
issue-18 sweep ``benchmarks/results-2026-12-08-sweep-quiet.json`` (300 random shapes of seed
18: one to three layers, uni- and bidirectional, float32 and float64, dense and packed).
The rows' STRUCTURE is written by hand (:data:`rules_rows.ROWS`: which variants contend in
which region and in which order, a comment each: the domain knowledge); every NUMBER is
derived from the measurements, as follows.

* A sample is one sweep shape in one thread condition ("two": two kernel threads allowed,
  "one": ``OMP_NUM_THREADS=1``), the machine having BLAS, and of one kind (forward, or
  forward+backward): one variant serves both kinds, so a cut's cost sums both kinds'
  samples. The regret of picking a variant there is its log ratio to the kind's fastest
  variant, fastest repetitions, twins' forwards pooled (:mod:`rules_samples` says why);
  log 2 when the sample's sweep times the
  variant elsewhere but not on this shape (it skips the hopeless,
  ``dispatch_sweep.applicable``); no evidence either way when the sample's sweep never
  times the variant (dispatch-sweep.json predates ``fused-gemm``).
* Bounds are set one at a time, in row order, in passes until one changes nothing
  (coordinate descent on the total regret, starting from the values in :data:`ROWS`:
  "today's"). For a bound, only the samples that reach its row and satisfy the row's
  other bounds can change their pick; their values of the bound's feature are sorted and
  every cut between two neighbouring values is tried (plus "take all", "take none"). The
  cut of least total regret wins, but a cut whose partition differs from today's must beat
  today's by more than :data:`MARGIN` (noise); among equals the cut nearest today's value.
* The speed table is where the acceptance of a change is judged: a cut that would give one
  of its shapes (in either condition, dense or packed) a pick more than 15% slower than the
  best and slower than the pick of today's bounds, or a variant its sweep never timed, is
  not taken (the note says so). Packed samples of dispatch-sweep.json (``--packed``
  passes, the speed table only) count for this check alone.
* The number written is the geometric mean of the two measured values the cut falls
  between, to 2 significant digits (more if 2 do not separate them): the measured
  crossover. When the samples all lie on one side of the bound, the bound keeps today's
  value and the table marks it "not measured".

Deterministic: the same sweeps give the same file (tests/_kernels/test_rules_table.py).
``--report`` writes the agreement of the new table, today's bounds and the measured best
on every sample (benchmarks/dispatch-agreement.md). A held-out sweep (another seed) judges
the table without refitting: ``benchmarks/sweep.py --summary --out F --rules TABLE``.
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
from rules_rows import ROWS  # noqa: E402  (benchmarks/, the rows' structure)
from rules_samples import UNMEASURED, dispatch_sweep_samples, issue18_samples, regret  # noqa: E402

from elman._kernels.rules import first_match  # noqa: E402

MARGIN = 0.05  # total log-regret a change of partition must win by (~5% on one shape)
NEAR = math.log(1.15)  # a speed-table shape's pick may be this far from the best
ISSUE18 = HERE / "results-2026-12-08-sweep-quiet.json"  # the 300-shape sweep of seed 18, quiet


def _annotate(samples: list, speed: set[str], weight: float) -> list[dict[str, Any]]:
    """Mark the speed-table samples, each sample's regret under today's bounds, its weight."""
    old = to_rules(ROWS)
    for s in samples:
        s["speed"] = s["shape"] in speed
        r = regret(s, first_match(s["f"], old))
        s["old"] = UNMEASURED if r is None else r
        s["weight"] = weight
    return samples


def load_samples(sweep: dict[str, Any], packed: bool = False) -> list[dict[str, Any]]:
    """The samples of dispatch-sweep.json (:func:`rules_samples.dispatch_sweep_samples`);
    packed ones are checked (the speed table), not fitted on: weight 0."""
    speed = {",".join(map(str, s)) for s in SPEED}
    return _annotate(dispatch_sweep_samples(sweep, packed), speed, 0.0 if packed else 1.0)


def load_issue18(sweep: dict[str, Any]) -> list[dict[str, Any]]:
    """The samples of an issue-18 sweep (:func:`rules_samples.issue18_samples`), fitted on."""
    return _annotate(issue18_samples(sweep), set(), 1.0)


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
        if s["speed"]:  # the speed table: a variant its sweep never timed may not take it
            ri = UNMEASURED if ri is None else ri
            rf = UNMEASURED if rf is None else rf
        elif ri is None or rf is None:  # a variant its sweep never timed: no evidence
            if ri is None and rf is None:
                continue
            ri = rf if ri is None else ri
            rf = ri if rf is None else rf
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


def render(rows: list, notes: dict, sweep_meta: dict, inputs: list[str]) -> str:
    lines = [
        '"""The dispatch rules: generated by benchmarks/make_rules_table.py from the sweeps',
        *[
            f"benchmarks/{name}{',' if i < len(inputs) - 1 else ';'}"
            for i, name in enumerate(inputs)
        ],
        "do not edit (see :mod:`.rules`).",
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
        "--issue18",
        action="append",
        help=f"an issue-18 sweep (benchmarks/sweep.py) to fit on too; default {ISSUE18}",
    )
    parser.add_argument(
        "--out", default=str(HERE.parent / "src" / "elman" / "_kernels" / "rules_table.py")
    )
    parser.add_argument("--report", default="", help="write the agreement report (markdown)")
    args = parser.parse_args(argv)
    sweep = json.loads(Path(args.sweep).read_text())
    samples = load_samples(sweep)
    packed = load_samples(sweep, packed=True)
    names = args.issue18 or [ISSUE18]
    wide = [s for name in names for s in load_issue18(json.loads(Path(name).read_text()))]
    rows, notes = fit(samples + wide + [s for s in packed if s["speed"]])
    inputs = [Path(args.sweep).name] + [Path(n).name for n in names]
    Path(args.out).write_text(render(rows, notes, sweep.get("meta", {}), inputs))
    if args.report:
        from agreement import report  # benchmarks/agreement.py

        text = report(samples + wide, to_rules(rows), to_rules(ROWS), packed)
        Path(args.report).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
