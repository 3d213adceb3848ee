"""Inference speed under no_grad of this checkout against another (e.g. the code before a
change), interleaved in fresh processes.

    PYTHONPATH=src python benchmarks/nograd_speed.py --old /path/to/old/src [--rounds 5]

For each shape, each round runs one process per checkout (alternating which goes first):
it builds the RNN, warms up (compiles) with two calls, then times --calls calls under
``no_grad`` and reports the fastest (on a loaded machine the least disturbed). The table
prints the median over rounds of each checkout's fastest calls and new/old. The figures
of docs/reliability.md (Memory) come from it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = """
import json, sys, time
import numpy as np
import elman
I, H, NL, N, T, bi, layout, calls = json.loads(sys.argv[1])
elman.manual_seed(0)
rnn = elman.nn.RNN(I, H, NL, bidirectional=bi, batch_first=layout == "batch")
shape = (N, T, I) if layout == "batch" else (T, N, I)
x = elman.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
with elman.no_grad():
    rnn(x); rnn(x)
    times = []
    for _ in range(calls):
        t = time.perf_counter(); rnn(x); times.append(time.perf_counter() - t)
print(json.dumps(min(times)))
"""

# (I, H, layers, N, steps, bidirectional, layout): fused, the layered variants, both layouts
SHAPES = [
    (2, 16, 2, 1, 100_000, False, "batch"),
    (1, 64, 2, 1, 100_000, False, "batch"),
    (8, 64, 2, 8, 20_000, True, "time"),
    (16, 128, 3, 8, 5_000, False, "batch"),
    (32, 256, 2, 16, 2_000, False, "time"),
    (4, 32, 2, 4, 20_000, True, "batch"),
]


def one(src: str, shape: tuple, calls: int) -> float:
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps([*shape, calls])],
        env=env, capture_output=True, text=True, timeout=900, check=True,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the other checkout's src folder")
    parser.add_argument("--new", default=os.path.join(os.path.dirname(__file__), "..", "src"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=15)
    parser.add_argument("--shapes", help="indices into SHAPES, e.g. 0,5 (default: all)")
    args = parser.parse_args()
    print("| shape | old ms | new ms | new/old |")
    print("|---|---:|---:|---:|")
    picked = [SHAPES[int(k)] for k in args.shapes.split(",")] if args.shapes else SHAPES
    for shape in picked:
        t: dict[str, list[float]] = {"old": [], "new": []}
        for k in range(args.rounds):
            order = ["old", "new"] if k % 2 == 0 else ["new", "old"]
            for which in order:
                t[which].append(one(getattr(args, which), shape, args.calls))
        old, new = statistics.median(t["old"]), statistics.median(t["new"])
        I, H, NL, N, T, bi, layout = shape
        name = f"I={I} H={H} L{NL}{' bi' if bi else ''} N={N} T={T:,} {layout}"
        print(f"| {name} | {old * 1e3:.1f} | {new * 1e3:.1f} | {new / old:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
