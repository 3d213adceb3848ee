"""Per-step time of elman's kernel variants on latency-regime shapes (issue 18: N <= 8,
H <= 64, L >= 1000) against the machine's bound (:mod:`elman.cli.call_bound`).

Each repetition times every variant once, forward (the graph kept, as training does) and
forward+backward, in turn (interleaved, the order rotated); medians and minima over the
repetitions, ns per step (the call's time / L), and the ratio to the bound.

    PYTHONPATH=src python benchmarks/latency_steps.py --peak-from benchmarks/peak-...json \
        [--variants fused-forward,layered-axpy] [--repeat 7] [--json out.json] \
        [--before /path/to/base/src]

``--before`` times the same variants of another tree in the same process, interleaved
with this tree's (its ``elman`` package copied under the name ``elman_before``, as
``few_steps.py --in-process`` does); its cells are named ``before:<variant>``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from elman._kernels import dispatch, stack_compiled
from elman.cli.call_bound import CallShape, call_bound
from elman.cli.sweep_bounds import load_peak_block

#: held-out shapes (L, N, I, H, layers, bi, dtype): named in no issue or table
SHAPES = [
    (4000, 4, 16, 32, 1, False, "float32"),
    (2000, 8, 8, 64, 1, False, "float32"),
    (3000, 2, 4, 16, 1, False, "float64"),
    (5000, 1, 3, 8, 2, False, "float32"),
    (2500, 3, 32, 24, 1, True, "float32"),
    (1500, 6, 2, 12, 3, False, "float64"),
    (8000, 5, 1, 4, 1, False, "float32"),
    (1200, 8, 128, 48, 2, True, "float64"),
    (6000, 2, 5, 6, 2, True, "float64"),
    (3000, 4, 2, 10, 3, False, "float32"),
]


def make(shape, seed=0):
    L, N, I, H, layers, bi, dtype = shape
    D = 2 if bi else 1
    rng = np.random.default_rng(seed)
    s = 1 / np.sqrt(H)
    weights = []
    for k in range(layers):
        In = I if k == 0 else D * H
        for _ in range(D):
            weights.append(
                tuple(rng.uniform(-s, s, sh).astype(dtype) for sh in ((H, In), (H, H), (H,), (H,)))
            )
    x = rng.standard_normal((L * N, I)).astype(dtype)
    sizes = np.full(L, N, dtype=np.int64)
    h0 = np.zeros((layers * D, N, H), dtype=dtype)
    g_out = rng.standard_normal((L * N, D * H)).astype(dtype)
    g_hn = np.zeros_like(h0)
    return (x, sizes, h0, weights, layers, False, None), (g_out, g_hn)


def timer(args, grads, v, compiled=stack_compiled):
    def fwd():
        return compiled.stack_forward(*args, variant=v)

    def fb():
        outs, _ = fwd()
        compiled.stack_backward(*args, outs, *grads, variant=v)

    return {"fwd": fwd, "fb": fb}


def before_tree(src: str):
    """The other tree's ``_kernels`` (dispatch, stack_compiled), imported as elman_before."""
    root = tempfile.mkdtemp()
    shutil.copytree(os.path.join(src, "elman"), os.path.join(root, "elman_before"))
    sys.path.insert(0, root)
    disp = importlib.import_module("elman_before._kernels.dispatch")
    return disp, importlib.import_module("elman_before._kernels.stack_compiled")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--peak-from", type=Path, required=True)
    p.add_argument("--variants", default="")
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--shapes", default="", help="indices into SHAPES, comma separated")
    p.add_argument("--json", type=Path)
    p.add_argument("--before", default="", help="another tree's src: its variants too")
    p.add_argument(
        "--clock",
        choices=("wall", "thread"),
        default="wall",
        help="thread: the calling thread's CPU time (robust under load; one-thread variants "
        "only: a two-thread variant's helper thread is not counted)",
    )
    a = p.parse_args()
    clock = time.perf_counter if a.clock == "wall" else time.thread_time
    before = before_tree(a.before) if a.before else None
    peak = load_peak_block(a.peak_from)
    shapes = SHAPES if not a.shapes else [SHAPES[int(i)] for i in a.shapes.split(",")]
    out = []
    for shape in shapes:
        L, N, I, H, layers, bi, dtype = shape
        args, grads = make(shape)
        pick = stack_compiled.choose_for(args[0], args[2], layers).name
        names = [n for n in (a.variants.split(",") if a.variants else [pick]) if n]
        if "pick" in names:
            names[names.index("pick")] = pick
        cells = {n: timer(args, grads, dispatch.variant(n)) for n in dict.fromkeys(names)}
        if before is not None:
            disp, comp = before
            for n in dict.fromkeys(names):
                cells[f"before:{n}"] = timer(args, grads, disp.variant(n), comp)
        for c in cells.values():
            c["fb"]()
        times = {k: {n: [] for n in cells} for k in ("fwd", "fb")}
        for rep in range(a.repeat):
            order = list(cells)[rep % len(cells) :] + list(cells)[: rep % len(cells)]
            for n in order:
                for k in ("fwd", "fb"):
                    t = clock()
                    cells[n][k]()
                    times[k][n].append(clock() - t)
        b = call_bound(CallShape(L, N, I, H, layers, 2 if bi else 1, dtype, L * N), peak)
        row = {
            "shape": shape,
            "pick": pick,
            "bound_fwd_s": b["fwd"]["bound_s"],
            "bound_fb_s": b["fb"]["bound_s"],
            "by": b["fwd"]["by"],
            "times": times,
        }
        out.append(row)
        print(
            f"{shape} pick={pick} bound/step fwd {b['fwd']['bound_s'] / L * 1e9:.0f} ns "
            f"fb {b['fb']['bound_s'] / L * 1e9:.0f} ns ({b['fwd']['by']})"
        )
        for n in cells:
            f, g = (np.median(times[k][n]) for k in ("fwd", "fb"))
            fm, gm = (np.min(times[k][n]) for k in ("fwd", "fb"))
            print(
                f"   {n:29s} fwd {f / L * 1e9:7.0f} ns/step ({f / b['fwd']['bound_s']:5.2f}x,"
                f" min {fm / b['fwd']['bound_s']:5.2f}x)   fb {g / L * 1e9:7.0f} ns/step "
                f"({g / b['fb']['bound_s']:5.2f}x, min {gm / b['fb']['bound_s']:5.2f}x)",
                flush=True,
            )
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
