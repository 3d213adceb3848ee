"""``elman bench --train``: whole training steps, elman against torch, in one process.

A step is what a training loop does: forward with the graph kept (the RNN, the head and the
loss), ``loss.backward()``, ``clip_grad_norm_(params, 1.0)``, ``Adam.step()`` and
``zero_grad()``. The same model code runs on both libraries (elman mirrors torch's API), the
torch model loads elman's initial ``state_dict``, and both consume the same stream of
batches, so after k steps their losses agree within float tolerance.

Timing: each phase sits between two ``time.perf_counter()`` stamps taken in the same step
(forward | backward | clip | optimizer step | zero_grad), so the phases add up to the step.
Each repetition runs a few steps of elman, then the same number of torch (interleaved, after
``--settle`` seconds of pause and one untimed step each); a repetition's phase time is its
mean over its steps, and the table shows medians over the repetitions.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import EXIT_USAGE, UserError, check_output_file, os_reason
from .train_grid import (
    GRIDS,
    TrainShape,
    load_peak,
    measure_peak,
    parse_train_shape,
    step_bound,
    step_cost,
    verdict,
)

PHASES = ("forward", "backward", "clip", "optimizer", "zero_grad")
SCHEMA = "elman-bench-train/1"


class _TrainAction(argparse.Action):
    """``--grid`` and ``--train-shape`` imply ``--train``."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        namespace.train = True
        if self.dest == "train_shape":
            namespace.train_shape = [*(namespace.train_shape or []), values]
        else:
            setattr(namespace, self.dest, values)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags ``elman bench`` gains for training steps."""
    p.add_argument(
        "--train",
        action="store_true",
        help=(
            "time whole training steps (forward with graph, loss, backward, clip 1.0, Adam, "
            "zero_grad) on the training grid, with the split per phase, each shape's "
            "FLOP/bandwidth bound and the machine's measured peak in the JSON"
        ),
    )
    p.add_argument(
        "--grid",
        choices=sorted(GRIDS),
        default="default",
        action=_TrainAction,
        help="the training grid (implies --train): 'default' runs in a few minutes; "
        "'full' is the whole grid of issue 20, float32 and float64",
    )
    p.add_argument(
        "--train-shape",
        type=parse_train_shape,
        action=_TrainAction,
        metavar="L,N,I,H,LAYERS[,bi][,relu][,packed][,last|all|lm[=V]][,f64]",
        help="a training shape instead of the grid (repeatable, implies --train)",
    )
    p.add_argument(
        "--peak-from",
        type=Path,
        metavar="JSON",
        help="with --train: take the machine's peak (GFLOP/s, copy GB/s) from an earlier "
        "'elman bench --train' JSON instead of measuring it (measure once on a quiet machine)",
    )


def usage_error(message: str) -> int:
    sys.stderr.write(f"elman bench: error: {message} (see 'elman bench --help')\n")
    return EXIT_USAGE


class Stream:
    """The same batches for both libraries: ``count`` batches made once, cycled."""

    def __init__(self, shape: TrainShape, seed: int, count: int = 4) -> None:
        rng = np.random.default_rng(seed)
        s, dt = shape, shape.dtype
        self.batches = []
        for _ in range(count):
            lengths = None
            if s.packed:
                lengths = np.sort(rng.integers(1, s.L + 1, size=s.N))[::-1].copy()
                lengths[0] = s.L
            rows = int(lengths.sum()) if lengths is not None else s.L * s.N
            if s.head == "lm":
                x = rng.integers(0, s.vocab, size=(s.N, s.L))
                y = rng.integers(0, s.vocab, size=s.N * s.L)
            else:
                x = rng.standard_normal((s.N, s.L, s.I)).astype(dt)
                y_shape = (
                    (s.N, 1) if s.head == "last" else ((rows, s.I) if s.packed else (s.N, s.L, s.I))
                )
                y = rng.standard_normal(y_shape).astype(dt)
            self.batches.append((x, lengths, y))
        self.rows = statistics.mean(
            int(b[1].sum()) if b[1] is not None else s.L * s.N for b in self.batches
        )


def build_model(lib: Any, shape: TrainShape) -> Any:
    """The same model in either library (``lib`` is ``elman`` or ``torch``)."""
    nn = lib.nn
    dtype = getattr(lib, shape.dtype)

    class TrainModel(nn.Module):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            super().__init__()
            if shape.head == "lm":
                self.embed = nn.Embedding(shape.vocab, shape.I, dtype=dtype)
            self.rnn = nn.RNN(
                shape.I,
                shape.H,
                shape.layers,
                nonlinearity=shape.nonlinearity,
                bidirectional=shape.bi,
                batch_first=True,
                dtype=dtype,
            )
            self.fc = nn.Linear(shape.D * shape.H, shape.out_size, dtype=dtype)

        def forward(self, x: Any, lengths: Any) -> Any:
            if shape.head == "lm":
                x = self.embed(x)
            if lengths is not None:
                x = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True)
            out, h_n = self.rnn(x)
            if shape.head == "last":
                if lengths is None:
                    return self.fc(out[:, -1])
                last = lib.cat([h_n[-1 - d] for d in reversed(range(shape.D))], 1)
                return self.fc(last)
            return self.fc(out.data if lengths is not None else out)

    return TrainModel()


class Trainer:
    """One library's model, optimizer and position in the stream; ``step`` times phases."""

    def __init__(self, lib: Any, shape: TrainShape, stream: Stream, state: Any = None) -> None:
        self.lib, self.shape, self.stream = lib, shape, stream
        self.model = build_model(lib, shape)
        if state is not None:
            self.model.load_state_dict(state)
        self.params = list(self.model.parameters())
        self.opt = lib.optim.Adam(self.params, lr=1e-3)
        self.clip = lib.nn.utils.clip_grad_norm_
        F = lib.nn.functional
        self.loss_fn = F.cross_entropy if shape.head == "lm" else F.mse_loss
        self.batches = [self._tensors(b) for b in stream.batches]
        self.position = 0
        self.last_loss = math.nan

    def _tensors(self, batch: tuple[Any, ...]) -> tuple[Any, ...]:
        x, lengths, y = batch
        f = self.lib.from_numpy
        return f(x), None if lengths is None else f(lengths), f(y)

    def step(self, out: list[float]) -> Any:
        """One training step; adds each phase's seconds to ``out`` (len(PHASES))."""
        x, lengths, y = self.batches[self.position % len(self.batches)]
        self.position += 1
        clock = time.perf_counter
        t0 = clock()
        pred = self.model(x, lengths)
        if self.shape.head == "lm":
            pred = pred.reshape(-1, self.shape.vocab)
        loss = self.loss_fn(pred, y)
        t1 = clock()
        loss.backward()
        t2 = clock()
        self.clip(self.params, 1.0)
        t3 = clock()
        self.opt.step()
        t4 = clock()
        self.opt.zero_grad()
        t5 = clock()
        for i, dt in enumerate((t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            out[i] += dt
        self.last_loss = float(loss.item())
        return loss

    def block(self, steps: int, settle: float) -> list[float]:
        """``steps`` timed steps after a settle pause and one untimed step: mean per phase."""
        if settle > 0:
            time.sleep(settle)
            self.step([0.0] * len(PHASES))
        acc = [0.0] * len(PHASES)
        for _ in range(steps):
            self.step(acc)
        return [a / steps for a in acc]


def make_pair(shape: TrainShape, torch: Any, seed: int) -> tuple[Trainer, Trainer | None]:
    """elman's trainer and torch's, with the same initial weights and data stream."""
    import elman

    elman.manual_seed(seed)
    stream = Stream(shape, seed)
    e = Trainer(elman, shape, stream)
    if torch is None:
        return e, None
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in e.model.state_dict().items()}
    return e, Trainer(torch, shape, stream, state)


def measure_shape(
    pair: tuple[Trainer, Trainer | None], repeat: int, min_time: float, settle: float
) -> dict[str, Any]:
    """Interleaved repetitions of both libraries' blocks; the same steps for each."""
    trainers = [t for t in pair if t is not None]
    first = []
    for t in trainers:  # warm-up: compile kernels, make Adam's state
        t.block(2, 0.0)
        first.append(sum(t.block(1, 0.0)))
    steps = max(1, math.ceil(min_time / max(min(first), 1e-7)))
    samples: list[list[list[float]]] = [[] for _ in trainers]
    for _ in range(repeat):
        for i, t in enumerate(trainers):
            samples[i].append(t.block(steps, settle))
    result: dict[str, Any] = {"steps_per_repetition": steps}
    for name, t, reps in zip(("elman", "torch")[: len(trainers)], trainers, samples, strict=True):
        result[name] = {
            "step_s": [sum(r) for r in reps],
            "phases_s": {p: [r[i] for r in reps] for i, p in enumerate(PHASES)},
            "loss": t.last_loss,
            "steps_done": t.position,
        }
    if len(trainers) == 2:
        e, to = result["elman"], result["torch"]
        med = statistics.median
        result["ratio"] = {"step": med(to["step_s"]) / med(e["step_s"])}  # the whole step
        # fastest repetitions: on a loaded machine a preempted step shifts medians
        result["ratio"]["step_fastest"] = min(to["step_s"]) / min(e["step_s"])
        for p in PHASES:
            denom = med(e["phases_s"][p])
            result["ratio"][p] = med(to["phases_s"][p]) / denom if denom > 0 else None
    return result


def shapes_of(args: argparse.Namespace) -> list[TrainShape]:
    if args.train_shape:  # a spec without f32/f64 takes --dtype
        return [
            s if s.dtype else dataclasses.replace(s, dtype=args.dtype) for s in args.train_shape
        ]
    return list(GRIDS[args.grid])


def run(args: argparse.Namespace) -> int:
    """``elman bench --train``."""
    for flag, given in (("--shape", args.shape), ("--skip-fb", args.skip_fb)):
        if given:
            return usage_error(f"{flag} times RNN calls; with --train use --train-shape or --grid")
    if args.packed:
        return usage_error("with --train, ask for packed input per shape: --train-shape ...,packed")
    if args.sweep is not None or args.plot is not None:
        return usage_error("--sweep and --plot time RNN calls, not training steps (--train)")
    if [n for n in args.against if n != "torch"]:
        return usage_error("--train times elman against torch only: --against torch or none")
    check_output_file(args.json, "--json")
    torch = None
    if "torch" in args.against and not args.no_torch:
        try:
            import torch  # the CLI only: the library never imports torch
        except ImportError:
            print("torch is not installed: timing elman alone (pip install torch==2.13.0)")
    if torch is not None and args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    from tqdm import tqdm

    from .bench_timing import machine_info

    shapes = shapes_of(args)
    info = machine_info(
        {"torch": torch.__version__, "torch_threads": torch.get_num_threads()} if torch else {}
    )
    print(f"# elman bench --train — {info['cpu']}, {info['cores']} cores; measuring peak ...")
    peak = measure_peak() if args.peak_from is None else load_peak(args.peak_from)
    print(
        f"# peak: float32 {peak['gflops']['float32']:.0f} GFLOP/s, float64 "
        f"{peak['gflops']['float64']:.0f} GFLOP/s, copy {peak['bandwidth_gbs']:.1f} GB/s"
    )
    header = (
        "| shape | N·H² | ≥3× grid | elman step ms | torch step ms | step × | fwd × | bwd × "
        "| clip × | Adam × | bound ms | elman/bound | verdict |"
    )
    payload = {
        "schema": SCHEMA,
        "machine": info,
        "elman_threads": _elman_threads(),
        "peak": peak,
        "repeat": args.repeat,
        "min_time_s": args.min_time,
        "settle_s": args.settle,
        "phases": list(PHASES),
        "timing": "perf_counter stamps between the phases of each step; per repetition the "
        "mean over its steps; elman then torch in every repetition",
        "results": [],
    }
    bar = tqdm(shapes, desc="bench --train", unit="shape", disable=None, file=sys.stderr)
    bar.write(header, file=sys.stdout)
    bar.write("|" + "---|" * (header.count("|") - 1), file=sys.stdout)
    for shape in bar:
        bar.set_postfix_str(shape.label())
        entry = measure_entry(shape, torch, args, peak)
        payload["results"].append(entry)
        bar.write(_row(entry), file=sys.stdout)
        _write(args.json, payload)  # after every shape: a long run stopped early keeps its rows
    bar.close()
    _write(args.json, payload)
    print(f"medians of {args.repeat} interleaved repetitions; × = torch / elman; JSON: {args.json}")
    return 0


def measure_entry(
    shape: TrainShape, torch: Any, args: argparse.Namespace, peak: dict[str, Any]
) -> dict[str, Any]:
    """One shape's measurements, cost, bound and verdict."""
    pair = make_pair(shape, torch, args.seed)
    res = measure_shape(pair, args.repeat, args.min_time, args.settle)
    cost = step_cost(shape, rows=pair[0].stream.rows)
    entry = {
        "shape": shape.as_dict(),
        "label": shape.label(),
        "nh2": shape.nh2,
        "in_3x_grid": shape.in_3x_grid,
        "cost": cost,
        "bound": step_bound(cost, peak, shape.dtype),
        **res,
    }
    entry["verdict"] = verdict(entry)
    return entry


def _write(path: Path, payload: dict[str, Any]) -> None:
    from elman.io._atomic import atomic_write_file

    try:
        atomic_write_file(path, json.dumps(payload, indent=1).encode())
    except OSError as exc:
        raise UserError(f"cannot write --json {path}: {os_reason(exc)}") from None


def _row(entry: dict[str, Any]) -> str:
    med = statistics.median
    e = med(entry["elman"]["step_s"])
    bound = entry["bound"]["bound_s"]
    cells = [entry["label"], f"{entry['nh2']:.2g}", "yes" if entry["in_3x_grid"] else "no"]
    cells.append(f"{e * 1e3:.3g}")
    if "ratio" in entry:
        r = entry["ratio"]
        cells.append(f"{med(entry['torch']['step_s']) * 1e3:.3g}")
        cells += [_x(r[k]) for k in ("step", "forward", "backward", "clip", "optimizer")]
    else:
        cells += ["–"] * 6
    cells += [f"{bound * 1e3:.3g}", f"{e / bound:.1f}", entry["verdict"]]
    return "| " + " | ".join(cells) + " |"


def _elman_threads() -> int:
    import elman

    return int(elman.get_num_threads())


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"
