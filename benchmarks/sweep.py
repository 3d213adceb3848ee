"""Issue 18's sweep: random shapes, every applicable kernel variant, the dispatcher's pick,
torch, JAX and onnxruntime, interleaved; JSON, summary and plot.

    PYTHONPATH=src python benchmarks/sweep.py --count 300 --seed 18 \
        --out benchmarks/sweep-300.json --plot sweep-300.png [--repeat 7] [--no-variants]

The shapes, the in-process cells (elman as it runs by default, and each peer on the same
weights) and the JSON, summary and plot are those of ``elman bench --sweep``
(:mod:`elman.cli.bench_sweep`, :mod:`elman.cli.sweep_report`): the installed command and
this script write the same file format, so one reader serves both. This script adds what
needs the source tree: one worker process per kernel variant, forced through
``ELMAN_KERNEL_VARIANT`` (the worker of ``benchmarks/dispatch_sweep.py``, applicability
rules included), and one worker with no variant forced (``pick``), so that pick / best
compares worker with worker; each worker stays alive for the whole run. Workers and
in-process cells take turns within every repetition (order rotated each repetition).

Resumable: a rerun with the same ``--out``, seed and budget skips the shapes already in it
(a larger ``--count`` extends the sweep: the first shapes of a seed never change).
``--summary`` prints the summary of an existing file and exits. A run measures the machine's
peak first (:mod:`elman.cli.core_probe`, a few seconds) and keeps it in its record; the
summary then adds each shape's bound (:mod:`elman.cli.call_bound`): the latency-bound
acceptance and the overhead bars' misses split into reachable and bound-limited ones
(:mod:`elman.cli.sweep_bounds`). ``--peak-from`` takes the peak from another JSON file
(a sweep's, ``elman bench --train``'s, or a bare peak). With ``--rules TABLE.py`` the
summary adds what that rules table would pick, from the variant cells (:mod:`rules_check`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import dispatch_sweep as ds  # noqa: E402

from elman.cli.bench_peers import load_peers, parse_against  # noqa: E402
from elman.cli.bench_sweep import BUDGET, Cell, SweepShape, load, sweep  # noqa: E402
from elman.cli.bench_timing import Case  # noqa: E402
from elman.cli.sweep_bounds import bound_rows, bound_summary, load_peak_block  # noqa: E402
from elman.cli.sweep_report import plot, summary  # noqa: E402


class WorkerCell(Cell):
    """One variant's worker process (``""``: none forced, the pick) on one shape."""

    def __init__(self, worker: ds.Worker, name: str, s: SweepShape, min_time: float) -> None:
        self.name, self.worker, self.s, self.min_time = name, worker, s, min_time
        self.shape6 = (s.L, s.N, s.I, s.H, s.layers, s.D)

    def time(self, kind: str) -> float:
        return self.worker.time(self.shape6, kind, self.min_time, self.s.dtype)


class Pool:
    """The worker processes by variant, (re)started on demand."""

    def __init__(self, src: str, min_time: float) -> None:
        self.src, self.min_time = src, min_time
        self.workers: dict[str, ds.Worker] = {}

    def worker(self, variant: str, lengths: list[int] | None) -> ds.Worker:
        w = self.workers.get(variant)
        if w is None or w.proc.poll() is not None:  # new, or died on an earlier shape
            w = self.workers[variant] = ds.Worker(variant, "two", self.src)
        w.lengths = lambda shape: lengths  # type: ignore[method-assign]  # the case's lengths
        return w

    def cells(self, s: SweepShape, case: Case) -> list[Cell]:
        lengths = None if case.lengths is None else [int(n) for n in case.lengths]
        shape6 = (s.L, s.N, s.I, s.H, s.layers, s.D)
        names = [v for v in ds.CONDITIONS["two"] if ds.applicable(shape6, v)]
        cells: list[Cell] = [WorkerCell(self.worker("", lengths), "pick", s, self.min_time)]
        for v in names:
            cells.append(WorkerCell(self.worker(v, lengths), f"variant:{v}", s, self.min_time))
        return cells

    def close(self) -> None:
        for w in self.workers.values():
            try:
                w.close()
            except Exception:  # a worker that died already
                w.proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--budget", type=float, default=BUDGET)
    parser.add_argument("--out", type=Path, default=HERE / "sweep.json")
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--against", type=parse_against, default=["torch", "jax", "onnxruntime"])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--min-time", type=float, default=0.002)
    parser.add_argument("--settle", type=float, default=0.02)
    parser.add_argument("--src", default=str(HERE.parent / "src"))
    parser.add_argument("--torch-threads", type=int, default=0, help="0: torch's default")
    parser.add_argument(
        "--no-variants", action="store_true", help="in-process cells only (as elman bench)"
    )
    parser.add_argument("--summary", action="store_true", help="summarise --out and exit")
    parser.add_argument(
        "--rules",
        type=Path,
        action="append",
        help="with --summary: judge this rules table (a rules_table.py) offline; repeatable",
    )
    parser.add_argument(
        "--stat",
        choices=("median", "min"),
        default="median",
        help="of each cell's repetitions, for the summary and plot (min: busy machines)",
    )
    parser.add_argument(
        "--peak-from",
        type=Path,
        help="the machine's peak for the bounds, from this JSON (default: the file's own)",
    )
    parser.add_argument(
        "--peak",
        choices=("full", "quick", "none"),
        default="full",
        help="measure the machine's peak before the run (quick: small sizes, for tests)",
    )
    parser.add_argument(
        "--bounds-out",
        type=Path,
        help="also write every shape's bound and elman/torch/JAX over it to this JSON file",
    )
    args = parser.parse_args()
    if args.summary:
        data = load(args.out)
    else:
        from elman.cli.core_probe import measure_full_peak

        run_info = {}
        if args.peak != "none":
            print("measuring the machine's peak ...")
            run_info["peak"] = measure_full_peak(quick=args.peak == "quick")
        peers = load_peers(args.against)
        for peer in peers:
            if peer.name == "torch" and args.torch_threads:
                peer.torch.set_num_threads(args.torch_threads)
        pool = None if args.no_variants else Pool(args.src, args.min_time)
        try:
            data = sweep(
                args.out,
                args.count,
                args.seed,
                peers,
                budget=args.budget,
                repeat=args.repeat,
                min_time=args.min_time,
                settle=args.settle,
                extra_cells=None if pool is None else pool.cells,
                run_info=run_info,
            )
        finally:
            if pool is not None:
                pool.close()
    print(summary(data, args.stat))
    peak = peak_for(data, args.peak_from)
    if peak is None:
        print("## no machine peak in the file: give --peak-from for the bounds")
    else:
        print(bound_summary(data, peak, args.stat))
        if args.bounds_out:
            rows = {"peak": peak, "stat": args.stat, "shapes": bound_rows(data, peak, args.stat)}
            args.bounds_out.write_text(json.dumps(rows, indent=1) + "\n")
            print(f"bounds: {args.bounds_out}")
    for table in args.rules or []:
        from rules_check import load_rules, table_summary  # benchmarks/

        print(f"# {table}")
        print(table_summary(data, load_rules(table), args.stat))
    if args.plot:
        plot(data, args.plot, args.stat)
        print(f"plot: {args.plot}")
    return 0


def peak_for(data: dict, peak_from: Path | None) -> dict | None:
    """The machine's peak for the bounds: from ``peak_from``, else the file's last measured
    one (None without either)."""
    if peak_from is not None:
        return load_peak_block(peak_from)
    peaks = [r["peak"] for r in data["runs"] if "peak" in r]
    return {**peaks[-1], "from": "the file's last run"} if peaks else None


if __name__ == "__main__":
    sys.exit(main())
