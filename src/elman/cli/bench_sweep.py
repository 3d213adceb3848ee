"""``elman bench --sweep N``: N random shapes, elman against its peers on each.

Shapes (:func:`draw_shapes`): L 1–20000, N 1–256, I 1–1024, H 2–1024 drawn log-uniformly
(every integer k of a range with probability proportional to log((k+1)/k)), layers 1–3,
uni- or bidirectional, float32 or float64, dense or packed (each even odds), redrawn until
the forward's multiply-adds are at most ``budget`` (:data:`BUDGET`) and the arrays of one
call fit in :data:`MAX_ELEMENTS`. The draws are sequential, so the first k shapes of a seed
are the same whatever N is.

Each shape is one :class:`Cell` per timed thing: elman as it runs by default (the
dispatcher's pick) and every peer, in this process on the same weights (:mod:`.bench_peers`),
plus whatever cells the caller adds (``benchmarks/sweep.py`` adds one worker process per
kernel variant and one for the pick). Every repetition times every cell once, forward and
forward+backward, in an order rotated by one each repetition. The JSON is rewritten after
each shape; a rerun with the same file skips the shapes already in it (resumable).
:mod:`.sweep_report` reads the file: the summary and the plot.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import UserError
from .bench_timing import (
    Case,
    Contestant,
    _settled_time,
    elman_contestant,
    machine_info,
    regime_of,
)

__all__ = [
    "BUDGET",
    "MAX_ELEMENTS",
    "Cell",
    "SweepShape",
    "draw_shapes",
    "load",
    "run_sweep",
    "sweep",
]

#: most forward multiply-adds of a sampled shape: 2e8 keeps the slowest cells (torch's
#: step-by-step loop on long sequences, JAX's compile) near a second, so that 300 shapes
#: with torch, JAX and onnxruntime take about 30-60 minutes on two cores
BUDGET = 2e8
#: most elements in the input plus every layer's output (float64: 8 bytes each)
MAX_ELEMENTS = 2e7
RANGES = {"L": (1, 20000), "N": (1, 256), "I": (1, 1024), "H": (2, 1024)}
FORMAT = "elman-sweep/1"


@dataclass(frozen=True)
class SweepShape:
    L: int
    N: int
    I: int  # noqa: E741
    H: int
    layers: int
    bidirectional: bool
    dtype: str
    packed: bool

    @property
    def D(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def key(self) -> str:
        kind = "packed" if self.packed else "dense"
        return f"{self.L},{self.N},{self.I},{self.H},{self.layers},{self.D},{self.dtype},{kind}"

    @property
    def madds(self) -> int:
        """Multiply-adds of one dense forward: per layer and direction L*N*(I_l*H + H*H)."""
        L, N, I, H, D = self.L, self.N, self.I, self.H, self.D
        return L * N * D * H * ((I + H) + (self.layers - 1) * (D * H + H))

    @property
    def elements(self) -> int:
        return self.L * self.N * (self.I + self.layers * self.D * self.H)

    def bench_shape(self) -> tuple[int, int, int, int, int, bool]:
        return self.L, self.N, self.I, self.H, self.layers, self.bidirectional


def _log_uniform(rng: np.random.Generator, lo: int, hi: int) -> int:
    return min(hi, int(math.exp(rng.uniform(math.log(lo), math.log(hi + 1)))))


def draw_shapes(count: int, seed: int, budget: float = BUDGET) -> list[SweepShape]:
    """``count`` shapes, the same for the same seed and budget (see the module)."""
    rng = np.random.default_rng(seed)
    out: list[SweepShape] = []
    while len(out) < count:
        L, N, I, H = (_log_uniform(rng, *RANGES[k]) for k in ("L", "N", "I", "H"))
        layers, bi, f64, packed = (int(v) for v in rng.integers((1, 0, 0, 0), (4, 2, 2, 2)))
        s = SweepShape(L, N, I, H, layers, bool(bi), "float64" if f64 else "float32", bool(packed))
        if s.madds <= budget and s.elements <= MAX_ELEMENTS:
            out.append(s)
    return out


class Cell:
    """One timed thing of a shape: ``time(kind)`` is one timed block's seconds per call."""

    name = ""

    def time(self, kind: str) -> float:
        raise NotImplementedError

    def close(self) -> None:
        pass


#: a call at least this long times without the pause and untimed call before its block: it
#: settles within itself (as the variant workers of benchmarks/dispatch_sweep.py), and on the
#: longest sequences the untimed calls were half of the sweep's time
LONG_CALL = 0.05


class InProcess(Cell):
    """A :class:`.bench_timing.Contestant` of this process: warmed up on first use; each
    block after ``settle`` seconds and one untimed call (see :func:`.bench_timing.measure`),
    unless one call lasts :data:`LONG_CALL` or more."""

    def __init__(self, c: Contestant, min_time: float, settle: float) -> None:
        self.name, self.c, self.min_time, self.settle = c.name, c, min_time, settle
        self.loops: dict[str, tuple[int, float]] = {}

    def time(self, kind: str) -> float:
        fn = getattr(self.c, kind)
        if kind not in self.loops:
            fn()  # compile, fill caches
            t = time.perf_counter()
            fn()
            one = time.perf_counter() - t
            self.loops[kind] = max(1, int(self.min_time / max(one, 1e-7))), one
        loops, one = self.loops[kind]
        return _settled_time(fn, loops, self.settle if one < LONG_CALL else 0.0)


def picked_variant(s: SweepShape, case: Case) -> str:
    """The name of the kernel variant the dispatcher picks for the shape in this process."""
    from elman._kernels.dispatch import choose

    rows = int(case.lengths.sum()) if case.lengths is not None else s.L * s.N
    return choose(rows, s.N, s.I, s.H, s.layers, s.D).name


def measure_shape(
    s: SweepShape,
    cells: list[Cell],
    repeat: int,
) -> tuple[dict[str, Any], dict[str, str]]:
    """``({kind: {cell: [seconds per repetition]}}, {cell: error})``, interleaved; a cell
    that raises is dropped for the rest of the shape, its error kept (first line)."""
    times: dict[str, dict[str, list[float]]] = {"fwd": {}, "fb": {}}
    errors: dict[str, str] = {}
    for rep in range(repeat):
        k = rep % len(cells)
        for cell in cells[k:] + cells[:k]:
            for kind in ("fwd", "fb"):
                if cell.name in errors or not _has(cell, kind):
                    continue
                try:
                    t = cell.time(kind)
                except Exception as exc:  # a peer or worker failing on one shape
                    text = str(exc).strip().splitlines()
                    errors[cell.name] = f"{type(exc).__name__}: {text[0] if text else ''}"
                    continue
                times[kind].setdefault(cell.name, []).append(t)
    for kind in times:
        for name in errors:
            times[kind].pop(name, None)
    return times, errors


def _has(cell: Cell, kind: str) -> bool:
    return not isinstance(cell, InProcess) or getattr(cell.c, kind) is not None


ExtraCells = Callable[[SweepShape, Case], list[Cell]]


def sweep(
    path: Path,
    count: int,
    seed: int,
    peers: list[Any],
    *,
    budget: float = BUDGET,
    repeat: int = 7,
    min_time: float = 0.002,
    settle: float = 0.02,
    extra_cells: ExtraCells | None = None,
    progress: bool = True,
    note: Callable[[str], None] = print,
    run_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Time ``count`` shapes of ``seed`` into ``path`` (resuming it) and return the data;
    ``run_info`` is added to this run's record (e.g. the machine's measured ``peak``)."""
    config = {"seed": seed, "budget": budget, "variants": extra_cells is not None}
    data = load(path) if path.exists() else None
    if data is not None and data.get("config", {}).get("sweep") != config:
        raise UserError(
            f"--json {path} holds another sweep ({data.get('config', {}).get('sweep')}); "
            "give another file to start this one"
        )
    if data is None:
        data = {"format": FORMAT, "config": {"sweep": config}, "shapes": {}, "runs": []}
    versions: dict[str, Any] = {}
    for peer in peers:
        versions.update(peer.versions())
    data["runs"].append(
        {
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": machine_info(versions),
            "repeat": repeat,
            "min_time_s": min_time,
            "settle_s": settle,
            "peers": [p.name for p in peers],
            "variants": extra_cells is not None,
            **(run_info or {}),
        }
    )
    todo = [s for s in draw_shapes(count, seed, budget) if s.key not in data["shapes"]]
    note(
        f"sweep of {count} shapes (seed {seed}, budget {budget:.3g} multiply-adds): "
        f"{count - len(todo)} in {path}, {len(todo)} to time"
    )
    for s in _progress(todo, progress):
        data["shapes"][s.key] = time_shape(s, peers, repeat, min_time, settle, extra_cells)
        for peer in peers:
            peer.release()
        gc.collect()  # the shape's models, arrays and closures
        data["runs"][-1]["ended"] = time.strftime("%Y-%m-%d %H:%M:%S")
        _write(path, data)
    if not todo:
        _write(path, data)
    return data


def time_shape(
    s: SweepShape,
    peers: list[Any],
    repeat: int,
    min_time: float,
    settle: float,
    extra_cells: ExtraCells | None,
) -> dict[str, Any]:
    """One shape's entry of the JSON file."""
    case = Case(s.bench_shape(), s.dtype, s.packed, seed=0)
    cells: list[Cell] = [InProcess(elman_contestant(case), min_time, settle)]
    skipped: dict[str, dict[str, str]] = {}
    errors: dict[str, str] = {}
    for peer in peers:
        try:
            c = peer.contestant(case)
        except Exception as exc:  # e.g. a graph onnxruntime refuses: recorded, not fatal
            errors[peer.name] = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
            continue
        for kind, reason in c.notes.items():
            skipped.setdefault(kind, {})[peer.name] = reason
        cells.append(InProcess(c, min_time, settle))
    extra = extra_cells(s, case) if extra_cells is not None else []
    times, failed = measure_shape(s, cells + extra, repeat)
    errors.update(failed)
    rows = int(case.lengths.sum()) if case.lengths is not None else s.L * s.N
    entry: dict[str, Any] = {
        "shape": asdict(s),
        "madds": s.madds,
        "rows": rows,
        "regime": regime_of(s.N, s.H),
        "pick": picked_variant(s, case),
        **times,
    }
    if skipped:
        entry["skipped"] = skipped
    if errors:
        entry["errors"] = errors
    return entry


def _progress(items: list[SweepShape], show: bool) -> Iterable[SweepShape]:
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, unit="shape", dynamic_ncols=True)


def load(path: Path) -> dict[str, Any]:
    """A sweep's JSON file, checked to be one."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read --json {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"--json {path} is not a sweep file ({FORMAT}); give another file")
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    from .bench import write_json

    write_json(path, data)


def run_sweep(args: argparse.Namespace, peers: list[Any]) -> int:
    """``elman bench --sweep N``: the pick against the peers, in this process."""
    from .sweep_report import plot, summary

    data = sweep(
        args.json,
        args.sweep,
        args.seed,
        peers,
        budget=args.budget,
        repeat=args.repeat,
        min_time=args.min_time,
        settle=args.settle,
    )
    print(summary(data))
    if args.plot is not None:
        plot(data, args.plot)
        print(f"plot: {args.plot}")
    print(f"medians of {args.repeat} interleaved repetitions; JSON: {args.json}")
    return 0
