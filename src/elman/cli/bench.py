"""``elman bench``: elman against torch, JAX and onnxruntime (those installed) in one
process, interleaved; ``--sweep N`` times N random shapes (:mod:`.bench_sweep`)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from . import bench_train
from ._errors import UserError, check_output_file, os_reason
from ._parser import integer, number
from .bench_peers import PEERS, load_peers, parse_against
from .bench_sweep import BUDGET
from .bench_timing import Case, elman_contestant, machine_info, measure, regime_of

__all__ = ["DEFAULT_SHAPES", "add_parser", "parse_shape", "regime_of", "run"]

# (L, N, H_in, H, num_layers, bidirectional, regime): the table of the speed issue
DEFAULT_SHAPES: list[tuple[int, int, int, int, int, bool, str]] = [
    (10, 2, 5000, 4, 1, False, "overhead"),
    (5, 3, 7, 4, 2, False, "overhead"),
    (5000, 3, 7, 4, 2, False, "overhead"),
    (20000, 1, 16, 64, 1, False, "overhead"),
    (5000, 3, 7, 400, 2, False, "latency"),
    (1000, 32, 16, 128, 1, False, "mid"),
    (1000, 16, 32, 128, 2, True, "mid"),
    (100, 64, 32, 256, 2, False, "compute"),
    (200, 128, 64, 512, 1, False, "compute"),
]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="time elman against torch, JAX, onnxruntime (same weights, same process, "
        "interleaved runs)",
        description=(
            "Time elman.nn.RNN against its peers (--against; each one that is not installed "
            "is skipped with one line) on the same weights and inputs in one process. Each "
            "repetition times elman and every peer one after the other (forward under "
            "no_grad, then forward+backward with gradients for every parameter and the "
            "input; onnxruntime: forward only), so load on the machine hits all alike. "
            "Prints a table of medians, min-max and ratios (peer median / elman median) and "
            "writes JSON. --sweep N times N random shapes instead (docs/performance.md)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--shape",
        action="append",
        type=parse_shape,
        metavar="L,N,I,H,LAYERS[,bi]",
        help="a shape to time (repeatable); default: the 9 shapes of the speed table",
    )
    p.add_argument(
        "--against",
        type=parse_against,
        default=["torch"],
        metavar="PEER[,PEER...]",
        help=f"the libraries to time elman against, of {', '.join(PEERS)} (or none)",
    )
    p.add_argument(
        "--repeat", type=integer(5), default=7, help="timed repetitions per shape (>= 5)"
    )
    p.add_argument(
        "--min-time",
        type=number(0.0),
        default=0.002,
        help="seconds each repetition lasts at least (tiny shapes loop inside a repetition)",
    )
    p.add_argument(
        "--settle",
        type=number(0.0),
        default=0.02,
        help=(
            "seconds of pause, then one untimed call, before each timed block: the thread "
            "pool the other library used last (torch's OpenMP, NumPy's OpenBLAS) stops "
            "spinning on a core, and the idle cores are awake again when timing starts; 0 "
            "times back to back"
        ),
    )
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--nonlinearity", choices=("tanh", "relu"), default="tanh")
    p.add_argument(
        "--packed",
        action="store_true",
        help="feed a PackedSequence (lengths spread over 1..L) instead of a dense batch",
    )
    p.add_argument(
        "--no-torch", action="store_true", help="leave torch out of --against (elman alone)"
    )
    p.add_argument(
        "--torch-threads",
        type=integer(0),
        default=0,
        help="torch.set_num_threads for the torch peer (0: torch's default); a busy machine "
        "slows torch's OpenMP threads far more than one thread",
    )
    p.add_argument("--skip-fb", action="store_true", help="time the forward pass only")
    p.add_argument("--json", type=Path, default=Path("bench.json"), help="where to write results")
    p.add_argument(
        "--seed", type=integer(0, 2**63 - 1), default=0, help="weights and inputs; --sweep: shapes"
    )
    p.add_argument(
        "--sweep",
        type=integer(1),
        metavar="N",
        help="time N random shapes (log-uniform sizes, float32/float64, dense/packed, under "
        "--budget; --dtype is ignored) instead of --shape; resumes an unfinished --json of "
        "the same sweep",
    )
    p.add_argument(
        "--budget",
        type=number(above=0.0),
        default=BUDGET,
        help="--sweep: most forward multiply-adds of a shape",
    )
    p.add_argument(
        "--plot",
        type=Path,
        metavar="OUT.png",
        help="--sweep: plot the ratios against each shape's work (needs elman[plot])",
    )
    bench_train.add_arguments(p)
    p.set_defaults(run=run)


def parse_shape(text: str) -> tuple[int, int, int, int, int, bool, str]:
    parts = [s.strip() for s in text.split(",")]
    if len(parts) not in (5, 6):
        raise argparse.ArgumentTypeError(f"--shape wants L,N,I,H,LAYERS[,bi], got {text!r}")
    try:
        L, N, I, H, NL = (int(v) for v in parts[:5])
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shape wants integers, got {text!r}") from None
    bi = len(parts) == 6 and parts[5].lower() in ("bi", "1", "true", "bidirectional")
    if min(L, N, I, H, NL) < 1:
        raise argparse.ArgumentTypeError(f"--shape wants positive sizes, got {text!r}")
    return L, N, I, H, NL, bi, regime_of(N, H)


def _ms(values: list[float]) -> str:
    return (
        f"{statistics.median(values) * 1e3:.3g} ({min(values) * 1e3:.3g}–{max(values) * 1e3:.3g})"
    )


def peers_of(args: argparse.Namespace) -> list[Any]:
    names = [n for n in args.against if not (args.no_torch and n == "torch")]
    peers = load_peers(names)
    for peer in peers:
        if peer.name == "torch" and args.torch_threads:
            peer.torch.set_num_threads(args.torch_threads)
    return peers


def run(args: argparse.Namespace) -> int:
    if args.train:
        return bench_train.run(args)
    check_output_file(args.json, "--json")
    if args.plot is not None:
        check_output_file(args.plot, "--plot")
    if args.sweep is None and (args.plot is not None or args.budget != BUDGET):
        raise UserError("--plot and --budget go with --sweep N")
    if args.sweep is not None and (args.shape or args.packed):
        raise UserError("--sweep draws its own shapes (dense and packed): drop --shape/--packed")
    peers = peers_of(args)
    if args.sweep is not None:
        from .bench_sweep import run_sweep

        return run_sweep(args, peers)
    shapes = args.shape or DEFAULT_SHAPES
    versions: dict[str, Any] = {}
    for peer in peers:
        versions.update(peer.versions())
    info = machine_info(versions)
    names = [p.name for p in peers]
    kinds = ("fwd",) if args.skip_fb else ("fwd", "fb")
    print(
        f"# elman bench — {info['cpu']}, {info['cores']} cores, {args.dtype}"
        + (", packed" if args.packed else "")
        + (f", {args.nonlinearity}" if args.nonlinearity != "tanh" else "")
    )
    header = "| shape (L,N,I,H,layers[,bi]) | regime |"
    for kind in kinds:
        label = "fwd" if kind == "fwd" else "fwd+bwd"
        header += f" elman {label} ms |"
        header += "".join(f" {n} {label} ms | {n} {label} × |" for n in names)
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    results = []
    for shape in shapes:
        case = Case(shape, args.dtype, args.packed, args.seed, args.nonlinearity)
        contestants = [elman_contestant(case)] + [p.contestant(case) for p in peers]
        res = measure(contestants, args.repeat, args.min_time, not args.skip_fb, args.settle)
        L, N, I, H, NL, bi, regime = shape
        row = f"| ({L},{N},{I},{H},{NL}{',bi' if bi else ''}) | {regime} |"
        for kind in kinds:
            r = res[kind]
            row += f" {_ms(r['elman_s'])} |"
            for n in names:
                if f"{n}_s" in r:
                    row += f" {_ms(r[f'{n}_s'])} | {r['ratios'][n]:.2f} |"
                else:
                    row += " – | – |"
        print(row, flush=True)
        results.append({"shape": list(shape[:6]), "regime": regime, **res})
    payload = {
        "machine": info,
        "dtype": args.dtype,
        "nonlinearity": args.nonlinearity,
        "packed": args.packed,
        "settle_s": args.settle,
        "against": names,
        "results": results,
    }
    write_json(args.json, payload)
    skipped = {
        (name, why)
        for r in results
        for kind in kinds
        for name, why in r[kind].get("skipped", {}).items()
    }
    for name, reason in sorted(skipped):
        print(f"{name}: not timed: {reason}")
    print(f"medians (min–max) of {args.repeat} interleaved repetitions; JSON: {args.json}")
    return 0


def write_json(path: Path, payload: dict[str, Any]) -> None:
    from elman.io._atomic import atomic_write_file

    try:
        atomic_write_file(path, json.dumps(payload, indent=1).encode())
    except OSError as exc:
        raise UserError(f"cannot write --json {path}: {os_reason(exc)}") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
