"""Whole training steps, elman against torch: ``elman bench --train``, and its tables.

    PYTHONPATH=src nice -n 19 python benchmarks/train_step.py [--grid full] [--json out.json]
        (any flag of ``elman bench``; --train is implied)
    python benchmarks/train_step.py --table out.json [more.json ...]

The first form runs ``elman bench --train`` (src/elman/cli/bench_train.py: same weights,
same batches, interleaved repetitions, perf_counter stamps between the phases of each
step). The second prints the markdown tables of docs/performance.md ("Training
throughput") from its JSON files: per shape the whole step's medians (ms), the ratios torch
/ elman of the step (medians, and fastest repetitions: on a loaded machine a preempted step
moves a median) and of each phase, elman's step over the bound, and the verdict. Each
phase's times, every repetition's, are in the JSON.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:.3g}"


def table(paths: list[Path]) -> str:
    lines = []
    for path in paths:
        data = json.loads(path.read_text())
        peak = data["peak"]
        lines.append(
            f"{path.name}: {data['machine']['cpu']}, elman {data.get('elman_threads')} / torch "
            f"{data['machine'].get('torch_threads')} threads, peak float32 "
            f"{peak['gflops']['float32']:.0f} / float64 {peak['gflops']['float64']:.0f} GFLOP/s, "
            f"copy {peak['bandwidth_gbs']:.1f} GB/s; medians of {data['repeat']}"
        )
        lines.append("")
        lines.append(
            "| shape (L,N,I,H,layers) | N·H² | ≥3× grid | step ms elman / torch | × "
            "| × fastest | forward × | backward × | clip × | Adam × | elman / bound | verdict |"
        )
        lines.append("|" + "---|" * 12)
        for r in data["results"]:
            lines.append(_row(r))
        lines.append("")
    return "\n".join(lines)


def _row(r: dict[str, Any]) -> str:
    e, t = r["elman"], r.get("torch")
    ratio = r.get("ratio", {})
    step = f"{_ms(e['step_s'])} / {_ms(t['step_s'])}" if t else _ms(e["step_s"])
    cells = [r["label"], f"{r['nh2']:.2g}", "yes" if r["in_3x_grid"] else "no", step]
    cells.append(f"**{ratio['step']:.2f}**" if ratio else "–")
    fastest = min(t["step_s"]) / min(e["step_s"]) if t else None
    cells.append(f"{fastest:.2f}" if fastest else "–")
    for p in ("forward", "backward", "clip", "optimizer"):
        x = ratio.get(p)
        cells.append(f"{x:.2f}" if x else "–")
    cells.append(f"{statistics.median(e['step_s']) / r['bound']['bound_s']:.1f}")
    cells.append(r.get("verdict", "–"))
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--table"]:
        print(table([Path(p) for p in argv[1:]]))
        return 0
    from elman.cli.main import main as elman_main

    return elman_main(["bench", "--train", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
