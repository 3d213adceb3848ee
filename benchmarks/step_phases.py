"""Where an anchor's training step goes, phase by phase, elman against torch in one process.

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/step_phases.py --anchor charlm --cpu
        [--rounds 10] [--block 10] [--no-torch] [--nodes] [--json-out phases.jsonl]

The step of ``benchmarks/time_to_solve.py`` (its anchors, the same batches and initial
weights for both libraries), split by ``perf_counter`` stamps, or with ``--cpu`` by the
calling thread's CPU time (``time.thread_time``: a time slice taken by another process on a
loaded machine is not counted; meaningful with one thread per library only): the batch,
forward (model and loss), ``zero_grad``, ``backward``, ``clip_grad_norm_(1.0)``,
``Adam.step``. A round runs a block of steps of each library, the order swapped every
round; each phase is the mean of a block, the tables the medians over the rounds.
``--nodes``: elman's backward per graph node (the engine's call of each node's backward,
timed the same way), to see what a step's backward spends outside the recurrence.

Compare two trees by alternated runs of this script (``PYTHONPATH=<tree>/src``), each with
torch in the same process (its step is the yardstick that the load moves too), appending
to one ``--json-out`` file per tree.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _anchors  # noqa: E402

PHASES = ["batch", "forward", "zero_grad", "backward", "clip", "adam"]


def block(run: _anchors.Run, steps: int, clock: Any, settle: float = 0.0) -> np.ndarray:
    """``steps`` training steps (after ``settle`` seconds of sleep and one untimed step, as
    ``elman bench --train``, when given); the mean seconds of each phase."""
    lib, a = run.lib, run.anchor
    if settle > 0:
        time.sleep(settle)
        block(run, 1, clock)
    clip = lib.nn.utils.clip_grad_norm_
    total = np.zeros(len(PHASES))
    for _ in range(steps):
        t0 = clock()
        batch = a.batch(run.steps)
        t1 = clock()
        loss = a.loss(lib, run.model, batch, run)
        t2 = clock()
        run.opt.zero_grad()
        t3 = clock()
        loss.backward()
        t4 = clock()
        clip(run.params, 1.0)
        t5 = clock()
        run.opt.step()
        t6 = clock()
        run.steps += 1
        total += np.diff([t0, t1, t2, t3, t4, t5, t6])
    return total / steps


def time_nodes(clock: Any) -> dict[str, list[float]]:
    """Time each call of a node's backward by elman's engine (from now on)."""
    from elman.autograd import engine

    times: dict[str, list[float]] = collections.defaultdict(list)
    original = engine._call_backward

    def timed(node: Any, outs: Any) -> Any:
        t = clock()
        result = original(node, outs)
        times[node.name()].append(clock() - t)
        return result

    engine._call_backward = timed
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--anchor", default="charlm", choices=sorted(_anchors.ANCHORS))
    p.add_argument("--quick", action="store_true", help="the anchor's small data (same model)")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--block", type=int, default=10, help="steps per library per round")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--cpu", action="store_true", help="the thread's CPU time (one thread)")
    p.add_argument("--settle", type=float, default=0.0, help="sleep before each block (s)")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--nodes", action="store_true", help="elman's backward per graph node")
    p.add_argument("--label", default="")
    p.add_argument("--json-out", type=Path, default=None, help="append one JSON line")
    args = p.parse_args(argv)
    import elman

    torch = None if args.no_torch else __import__("torch")
    if args.threads:
        elman.set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    clock = time.thread_time if args.cpu else time.perf_counter
    anchor = _anchors.ANCHORS[args.anchor](args.quick, 0)
    elman.manual_seed(0)
    libs = [("elman", elman)] + ([("torch", torch)] if torch is not None else [])
    runs = _anchors.build_runs(anchor, libs)
    for run in runs.values():  # compiled kernels, first allocations
        block(run, 5, clock)
    nodes = time_nodes(clock) if args.nodes else None
    phases: dict[str, list[np.ndarray]] = {name: [] for name in runs}
    for i in range(args.rounds):
        names = list(runs)[:: -1 if i % 2 else 1]
        for name in names:
            phases[name].append(block(runs[name], args.block, clock, args.settle))
    med = {}
    for name, v in phases.items():
        values = [*np.median(v, 0), float(np.median(np.sum(v, 1)))]
        med[name] = dict(zip(PHASES + ["step"], values, strict=True))
    unit = "CPU ms" if args.cpu else "ms"
    for name, m in med.items():
        print(f"{name:6s} ({unit}) " + " ".join(f"{k} {v * 1e3:.3f}" for k, v in m.items()))
    if torch is not None:
        e, t = med["elman"], med["torch"]
        print("torch / elman   " + " ".join(f"{k} {t[k] / e[k]:.2f}" for k in e))
    out: dict[str, Any] = {"label": args.label, "anchor": args.anchor, "cpu": args.cpu}
    out["ms"] = {name: {k: v * 1e3 for k, v in m.items()} for name, m in med.items()}
    if nodes is not None:
        out["elman_backward_nodes_us"] = {k: float(np.median(v)) * 1e6 for k, v in nodes.items()}
        for k, v in out["elman_backward_nodes_us"].items():
            print(f"  elman backward node {k:24s} {v:9.1f} us (median of {len(nodes[k])})")
    if args.json_out is not None:
        with args.json_out.open("a") as f:
            f.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
