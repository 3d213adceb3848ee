"""Short calls (issue 18's short overhead regime), this tree's elman against another tree's,
in ONE process: the other tree's ``elman`` package is copied under the name
``elman_before`` (its modules import each other relatively) and both run the closures the
sweep times (``elman bench``'s fwd: the forward under no_grad on a fixed input; fb: a fresh
input that requires grad, packed per call for packed shapes, the forward with its graph,
``backward`` and every ``.grad`` set to None), alternated in every repetition (the order
rotated), optionally with torch. Prints per shape the medians and minima of each, and the
median over repetitions of before/after (> 1: this tree faster).

    python benchmarks/short_calls.py --before /path/to/old/src --repeat 15 \\
        --shape 1,1,6,3,3,bi,float64 --shape 7,3,2,2,2,float32,packed

A shape is ``L,N,I,H,layers`` with any of ``bi``, ``float64`` (default float32) and
``packed``; without ``--shape`` the short-regime shapes of the quiet sweep that were within
1.5x of the bars (forward 8x, forward+backward 15x torch) and the four of issue 18's brief.
``--cpu`` times thread CPU time instead of wall time (a loaded machine's preemption left
out).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

DEFAULT = [
    "25,167,12,10,1",
    "40,64,30,16,2",
    "10,8,300,32,2",
    "16,4,1000,8,1,bi",
    "1,1,6,3,3,bi,float64",
    "1,8,6,4,2,bi",
    "2,1,18,2,1,bi",
    "2,25,10,3,1,float64",
    "7,3,2,2,2,packed",
    "3,1,5,23,3,packed",
    "3,13,65,5,3,packed",
    "1,3,14,4,3,packed",
    "3,2,5,5,2,bi,float64,packed",
    "9,11,50,2,1,bi,packed",
]


def parse(text: str) -> tuple[tuple[Any, ...], str, bool]:
    parts = text.split(",")
    L, N, I, H, layers = map(int, parts[:5])
    dtype = "float64" if "float64" in parts else "float32"
    return (L, N, I, H, layers, "bi" in parts), dtype, "packed" in parts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", required=True, help="the other tree's src directory")
    p.add_argument("--shape", action="append", help="L,N,I,H,layers[,bi][,float64][,packed]")
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--min-time", type=float, default=0.02, help="seconds a timed block lasts")
    p.add_argument("--torch", action="store_true", help="time torch too (its default threads)")
    p.add_argument("--cpu", action="store_true", help="thread CPU time, not wall time")
    args = p.parse_args()
    clock = time.thread_time if args.cpu else time.perf_counter
    root = tempfile.mkdtemp()
    # (with its __pycache__: copytree keeps the sources' times, so Numba's cache stays valid)
    shutil.copytree(os.path.join(args.before, "elman"), os.path.join(root, "elman_before"))
    sys.path.insert(0, root)
    old = importlib.import_module("elman_before")
    from elman.cli.bench_timing import Case, elman_contestant

    def timed(fn: Callable[[], None], loops: int) -> float:
        t = clock()
        for _ in range(loops):
            fn()
        return (clock() - t) / loops

    for text in args.shape or DEFAULT:
        shape, dtype, packed = parse(text)
        case = Case(shape, dtype, packed, 0)
        libs = {
            name: (c.fwd, c.fb)
            for name, c in (
                ("after", elman_contestant(case)),
                ("before", elman_contestant(case, old)),
            )
        }
        if args.torch:
            from elman.cli.bench_peers import TorchPeer

            c = TorchPeer().contestant(case)
            libs["torch"] = (c.fwd, c.fb)
        cells = [f"{text:30s}"]
        for k, kind in enumerate(("fwd", "fb")):
            fns = {name: fs[k] for name, fs in libs.items()}
            loops = {}
            for name, fn in fns.items():
                fn()
                fn()
                loops[name] = max(1, int(args.min_time / max(timed(fn, 1), 1e-7)))
            times: dict[str, list[float]] = {name: [] for name in fns}
            names = list(fns)
            for r in range(args.repeat):
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    times[name].append(timed(fns[name], loops[name]))
            b, a = times["before"], times["after"]
            gain = statistics.median(x / y for x, y in zip(b, a, strict=True))
            cells.append(
                f"{kind}: {statistics.median(b) * 1e6:.1f} -> {statistics.median(a) * 1e6:.1f} us"
                f" (min {min(b) * 1e6:.1f} -> {min(a) * 1e6:.1f}) x{gain:.2f}"
            )
            if "torch" in times:
                t = statistics.median(times["torch"])
                cells.append(
                    f"torch/elman {t / statistics.median(b):.2f} -> {t / statistics.median(a):.2f}"
                )
        print("  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
