"""Where a training step's CPU time goes at two threads: the calling thread's share of the
two-thread work (inside ``handover.run_pair``), its serial rest, and the helper's CPU.

    PYTHONPATH=src python benchmarks/train_cpu_split.py 64,32,32,256,1,lm=96 [SHAPE ...]
        [--steps 3] [--reps 5] [--variant layered-rows] [--pieces]

The steps are ``elman bench --train``'s (its ``Trainer``: forward with the graph, loss,
backward, clipping, Adam, zero_grad), elman alone. CPU time, not wall time, so that it can
be read on a loaded machine: ``time.thread_time`` of the calling thread and
``time.process_time`` of the process (the helper = process - calling thread). When the
helper's CPU equals the calling thread's share inside the pairs (balanced halves), the
calling thread's CPU per step is what a quiet machine's wall time would be, up to the
helper's start-up latency. ``--pieces``: the calling thread's serial CPU (outside the
pairs) and its total CPU per piece of the step (the layered stack's products and
recurrences, the Linear head, cross-entropy, the MSE loss, the embedding, clipping,
Adam). ``--variant``: force a kernel variant (``dispatch.FORCED``, as
``ELMAN_KERNEL_VARIANT``). Measured figures: docs/performance.md, "The GEMM-heavy shapes".
"""

from __future__ import annotations

import argparse
import collections
import statistics
import time
from typing import Any

import elman
from elman._kernels import direction_pairs, dispatch, handover, layer_pipeline, split_recurrence
from elman._kernels import layered_stack as LS
from elman.cli.bench_train import PHASES, Stream, Trainer
from elman.cli.train_grid import parse_train_shape, step_cost
from elman.nn import functional as NF
from elman.nn import functional_ce as CE
from elman.nn import functional_embedding as EM
from elman.nn import functional_loss as FL

INSIDE = [0.0]  # the calling thread's CPU seconds inside run_pair so far
PIECES: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])  # total, serial
DEPTH: collections.Counter[str] = collections.Counter()  # (recursive pieces counted once)


def _counted_run_pair(real: Any) -> Any:
    def run_pair(kernel: Any, args0: tuple, args1: tuple, flags: Any = None) -> None:
        t = time.thread_time()
        try:
            real(kernel, args0, args1, flags)
        finally:
            INSIDE[0] += time.thread_time() - t

    return run_pair


def _timed(f: Any, label: str) -> Any:
    def piece(*a: Any, **k: Any) -> Any:
        DEPTH[label] += 1
        t, i = time.thread_time(), INSIDE[0]
        try:
            return f(*a, **k)
        finally:
            DEPTH[label] -= 1
            if DEPTH[label] == 0:
                total = time.thread_time() - t
                PIECES[label][0] += total
                PIECES[label][1] += total - (INSIDE[0] - i)

    return piece


def _instrument_pieces() -> None:
    for name in ("project_all", "recur_forward_in", "recur_backward_in", "t_product",
                 "dw_hh_of", "input_grad", "layered_forward", "layered_backward"):  # fmt: skip
        setattr(LS, name, _timed(getattr(LS, name), name))
    for cls, label in ((NF.LinearFunction, "head"), (CE.ClassIndexRowsFunction, "cross-entropy"),
                       (EM.EmbeddingFunction, "embedding"),
                       (FL.MSELossFunction, "mse")):  # fmt: skip
        for way in ("forward", "backward"):
            f = cls.__dict__[way].__func__
            setattr(cls, way, staticmethod(_timed(f, f"{label} {way}")))
    elman.nn.utils.clip_grad_norm_ = _timed(elman.nn.utils.clip_grad_norm_, "clip_grad_norm_")
    elman.optim.Adam.step = _timed(elman.optim.Adam.step, "Adam.step")


def measure(text: str, steps: int, reps: int, variant: str) -> None:
    shape = parse_train_shape(text, "float32")
    dispatch.FORCED = variant
    elman.manual_seed(0)
    trainer = Trainer(elman, shape, Stream(shape, 0))
    for _ in range(3):  # compiled kernels, pooled arrays
        trainer.step([0.0] * len(PHASES))
    names = [p.variant.name for p in trainer.model.rnn._fast_plans.values() if p]
    PIECES.clear()
    rows: dict[str, list[float]] = collections.defaultdict(list)
    for _ in range(reps):
        t, p, i = time.thread_time(), time.process_time(), INSIDE[0]
        for _ in range(steps):
            trainer.step([0.0] * len(PHASES))
        calling, process = time.thread_time() - t, time.process_time() - p
        inside = INSIDE[0] - i
        parts = {"calling": calling, "inside": inside}
        parts.update(serial=calling - inside, helper=process - calling)
        for key, value in parts.items():
            rows[key].append(value / steps * 1e3)
    med = {k: statistics.median(v) for k, v in rows.items()}
    bound = 2 * step_cost(shape)["macs"] / 195e9 * 1e3  # the quiet AMD run's float32 peak
    print(
        f"{text} [{', '.join(names)}]: calling thread {med['calling']:.2f} ms "
        f"(min {min(rows['calling']):.2f}) = in pairs {med['inside']:.2f} + serial "
        f"{med['serial']:.2f}; helper {med['helper']:.2f} ms; FLOP bound at 195 GFLOP/s "
        f"{bound:.2f} ms (float64: x2)"
    )
    for label, (total, serial) in sorted(PIECES.items(), key=lambda kv: -kv[1][0]):
        n = steps * reps
        print(f"  {label:24s} {total / n * 1e3:7.3f} ms, serial {serial / n * 1e3:7.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("shapes", nargs="+", help="training shapes as `elman bench --train-shape`")
    p.add_argument("--steps", type=int, default=3, help="steps per repetition")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--variant", default="", help="force a kernel variant")
    p.add_argument("--pieces", action="store_true", help="CPU per piece of the step")
    args = p.parse_args()
    counted = _counted_run_pair(handover.run_pair)
    modules = [handover, split_recurrence, direction_pairs, layer_pipeline]
    try:  # (a tree with the skinny head's kernel)
        from elman._kernels import skinny

        modules.append(skinny)
    except ImportError:
        pass
    for module in modules:
        module.run_pair = counted
    if args.pieces:
        _instrument_pieces()
    for text in args.shapes:
        measure(text, args.steps, args.reps, args.variant)


if __name__ == "__main__":
    main()
