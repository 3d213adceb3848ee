"""Two trees' training steps by thread CPU time, for a loaded machine: before/after A/B.

    python benchmarks/rows_cpu_ab.py BEFORE_SRC AFTER_SRC --shape 200,64,8,128,1,all
        [--dtype float32] [--rounds 9] [--steps 3] [--json-out ab.jsonl]

Each round runs one fresh process per tree (the order swapped every round), each timing
three blocks of ``--steps`` elman training steps of ``elman bench --train``'s model
(forward with the graph, backward, clip 1.0, Adam, zero_grad) at elman's default threads,
after three untimed steps. Per block: the wall time, the CPU time of the calling thread
(``time.thread_time``), of elman's helper thread (its ``pthread_getcpuclockid`` clock) and
of every other thread of the process (the process CPU time less the two: a BLAS worker
spinning would show here). Printed (and appended as one JSON line): the medians over all
blocks, per step, in ms, and the fastest calling-thread time. On a machine whose cores are
shared with other work, wall times are preempted and only the CPU times compare; the
calling thread's is the critical path of a two-thread step (the helper waits for no one).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, statistics, sys, time
from elman.cli.train_grid import parse_train_shape
from elman.cli.bench_train import make_pair
from elman._kernels import handover
shape = parse_train_shape(sys.argv[1], sys.argv[2])
steps = int(sys.argv[3])
e, _ = make_pair(shape, None, 0)
e.block(3, 0.0)
h = handover._STATE.helper
clk = time.pthread_getcpuclockid(h.thread.ident) if h is not None else None
helper = (lambda: time.clock_gettime(clk)) if clk is not None else (lambda: 0.0)
for _ in range(3):
    t, c, hc, pc = time.perf_counter(), time.thread_time(), helper(), time.process_time()
    e.block(steps, 0.0)
    main, other = time.thread_time() - c, time.process_time() - pc
    hcpu = helper() - hc
    print(json.dumps({"wall": (time.perf_counter() - t) / steps, "main": main / steps,
                      "helper": hcpu / steps, "other": (other - main - hcpu) / steps}))
"""


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--shape", required=True)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--json-out")
    a = p.parse_args(argv)
    trees = {"before": a.before, "after": a.after}
    blocks: dict[str, list[dict[str, float]]] = {k: [] for k in trees}
    for r in range(a.rounds):
        for k in list(trees) if r % 2 == 0 else list(trees)[::-1]:
            env = {**os.environ, "PYTHONPATH": trees[k]}
            cmd = [sys.executable, "-c", CHILD, a.shape, a.dtype, str(a.steps)]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            blocks[k] += [json.loads(line) for line in out.stdout.split("\n") if line]
    med = statistics.median
    result: dict[str, object] = {"shape": a.shape, "dtype": a.dtype, "rounds": a.rounds}
    for k, bs in blocks.items():
        fields = ("wall", "main", "helper", "other")
        row = {f: round(med([b[f] for b in bs]) * 1e3, 3) for f in fields}
        row["cpu"] = round(med([b["main"] + b["helper"] for b in bs]) * 1e3, 3)
        row["main_min"] = round(min(b["main"] for b in bs) * 1e3, 3)
        result[k] = row
    line = json.dumps(result)
    print(line)
    if a.json_out:
        with open(a.json_out, "a") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
