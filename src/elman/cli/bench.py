"""``elman bench``: elman against torch (when installed) in one process, interleaved."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import bench_train
from ._errors import UserError, check_output_file, os_reason
from ._parser import integer, number

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
        help="time elman against torch (same weights, same process, interleaved runs)",
        description=(
            "Time elman.nn.RNN and torch.nn.RNN (when torch is installed) on the same weights "
            "and inputs in one process. Each repetition times elman and torch one after the "
            "other (forward under no_grad, then forward+backward with gradients for every "
            "parameter and the input), so load on the machine hits both alike. Prints a table "
            "of medians, min-max and ratios (torch median / elman median) and writes JSON."
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
    p.add_argument(
        "--packed",
        action="store_true",
        help="feed a PackedSequence (lengths spread over 1..L) instead of a dense batch",
    )
    p.add_argument("--no-torch", action="store_true", help="time elman alone")
    p.add_argument("--skip-fb", action="store_true", help="time the forward pass only")
    p.add_argument("--json", type=Path, default=Path("bench.json"), help="where to write results")
    p.add_argument("--seed", type=integer(0, 2**63 - 1), default=0)
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


def regime_of(N: int, H: int) -> str:
    """The speed issue's regimes, by batch and hidden size."""
    if H <= 64 or N * H * H <= 100_000:
        return "overhead"
    if N <= 4:
        return "latency"
    if N >= 64 and H >= 256:
        return "compute"
    return "mid"


class Case:
    """One shape: matching elman and torch models, inputs and timed closures."""

    def __init__(self, shape: tuple[Any, ...], dtype: str, packed: bool, torch: Any, seed: int):
        import elman

        L, N, I, H, NL, bi, _ = shape
        self.shape = shape
        rng = np.random.default_rng(seed)
        elman.manual_seed(seed)
        self.model = elman.nn.RNN(I, H, NL, bidirectional=bi, dtype=dtype)
        x = rng.standard_normal((L, N, I)).astype(dtype)
        D = 2 if bi else 1
        self.lengths = None
        if packed:
            lengths = np.sort(rng.integers(1, L + 1, size=N))[::-1].copy()
            lengths[0] = L
            self.lengths = lengths
        rows = int(self.lengths.sum()) if packed else L * N
        self.g = rng.standard_normal((rows, D * H) if packed else (L, N, D * H)).astype(dtype)
        self.x = x
        self.torch = torch
        if torch is not None:
            tdt = getattr(torch, dtype)
            self.tmodel = torch.nn.RNN(I, H, NL, bidirectional=bi, dtype=tdt)
            self.tmodel.load_state_dict(
                {k: torch.from_numpy(v.numpy().copy()) for k, v in self.model.state_dict().items()}
            )

    def _elman_input(self, requires_grad: bool) -> Any:
        import elman
        from elman.nn.utils.rnn import pack_padded_sequence

        x = elman.from_numpy(self.x).requires_grad_(requires_grad)  # no copy, as torch's side
        return (x, x) if self.lengths is None else (x, pack_padded_sequence(x, self.lengths))

    def _torch_input(self, requires_grad: bool) -> Any:
        torch = self.torch
        x = torch.from_numpy(self.x).requires_grad_(requires_grad)
        if self.lengths is None:
            return x, x
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.from_numpy(self.lengths))
        return x, packed

    def elman_fwd(self) -> Callable[[], None]:
        import elman

        _, inp = self._elman_input(False)

        def run() -> None:
            with elman.no_grad():
                self.model(inp)

        return run

    def elman_fb(self) -> Callable[[], None]:
        g = self.g

        def run() -> None:
            x, inp = self._elman_input(True)
            out, _ = self.model(inp)
            (out.data if self.lengths is not None else out).backward(g)
            for p in self.model.parameters():
                p.grad = None

        return run

    def torch_fwd(self) -> Callable[[], None]:
        torch = self.torch
        _, inp = self._torch_input(False)

        def run() -> None:
            with torch.no_grad():
                self.tmodel(inp)

        return run

    def torch_fb(self) -> Callable[[], None]:
        g = self.torch.from_numpy(self.g)

        def run() -> None:
            x, inp = self._torch_input(True)
            out, _ = self.tmodel(inp)
            (out.data if self.lengths is not None else out).backward(g)
            for p in self.tmodel.parameters():
                p.grad = None

        return run


def _loops_for(fn: Callable[[], None], min_time: float) -> int:
    t = time.perf_counter()
    fn()
    one = time.perf_counter() - t
    return max(1, int(min_time / max(one, 1e-7)))


def _time(fn: Callable[[], None], loops: int) -> float:
    t = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - t) / loops


def _settled_time(fn: Callable[[], None], loops: int, settle: float) -> float:
    if settle > 0:
        time.sleep(settle)
        fn()
    return _time(fn, loops)


def measure(
    case: Case, repeat: int, min_time: float, fb: bool, settle: float = 0.0
) -> dict[str, Any]:
    """Interleaved repetitions: elman then torch, for fwd and (optionally) fwd+bwd.

    ``settle`` seconds pass before each timed block, then one untimed call: after a parallel
    region, torch's OpenMP workers and NumPy's OpenBLAS workers keep spinning on a core for
    milliseconds, which would slow whichever library runs next on a two-core machine; and a
    core left idle comes back slowly for its first milliseconds (a VM's vCPU).
    """
    pairs = [("fwd", case.elman_fwd(), case.torch_fwd() if case.torch else None)]
    if fb:
        pairs.append(("fb", case.elman_fb(), case.torch_fb() if case.torch else None))
    result: dict[str, Any] = {}
    for kind, e_fn, t_fn in pairs:
        e_fn()  # warm-up: first calls compile kernels and fill caches
        first = time.perf_counter()
        e_fn()
        warm = time.perf_counter() - first
        if t_fn is not None:
            t_fn()
            t_fn()
        e_loops = _loops_for(e_fn, min_time)
        t_loops = _loops_for(t_fn, min_time) if t_fn is not None else 0
        e_times, t_times = [], []
        for _ in range(repeat):
            e_times.append(_settled_time(e_fn, e_loops, settle))
            if t_fn is not None:
                t_times.append(_settled_time(t_fn, t_loops, settle))
        entry: dict[str, Any] = {"elman_s": e_times, "elman_second_call_s": warm}
        if t_times:
            entry["torch_s"] = t_times
            entry["ratio"] = statistics.median(t_times) / statistics.median(e_times)
        result[kind] = entry
    return result


def _ms(values: list[float]) -> str:
    return (
        f"{statistics.median(values) * 1e3:.3g} ({min(values) * 1e3:.3g}–{max(values) * 1e3:.3g})"
    )


def machine_info(torch: Any) -> dict[str, Any]:
    import elman

    try:
        import numba

        numba_version = numba.__version__
    except ImportError:
        numba_version = "not installed"

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba_version,
        "elman": elman.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    if torch is not None:
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    return info


def run(args: argparse.Namespace) -> int:
    if args.train:
        return bench_train.run(args)
    check_output_file(args.json, "--json")
    shapes = args.shape or DEFAULT_SHAPES
    torch = None
    if not args.no_torch:
        try:
            import torch  # the CLI only: the library never imports torch
        except ImportError:
            print("torch is not installed: timing elman alone (pip install torch==2.13.0)")
    info = machine_info(torch)
    print(
        f"# elman bench — {info['cpu']}, {info['cores']} cores, {args.dtype}"
        + (", packed" if args.packed else "")
    )
    header = "| shape (L,N,I,H,layers[,bi]) | regime | elman fwd ms | torch fwd ms | fwd × |"
    if not args.skip_fb:
        header += " elman fwd+bwd ms | torch fwd+bwd ms | fwd+bwd × |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    results = []
    for shape in shapes:
        case = Case(shape, args.dtype, args.packed, torch, args.seed)
        res = measure(case, args.repeat, args.min_time, not args.skip_fb, args.settle)
        L, N, I, H, NL, bi, regime = shape
        label = f"({L},{N},{I},{H},{NL}{',bi' if bi else ''})"
        row = f"| {label} | {regime} |"
        for kind in ("fwd",) if args.skip_fb else ("fwd", "fb"):
            r = res[kind]
            t = _ms(r["torch_s"]) if "torch_s" in r else "–"
            ratio = f"{r['ratio']:.2f}" if "ratio" in r else "–"
            row += f" {_ms(r['elman_s'])} | {t} | {ratio} |"
        print(row, flush=True)
        results.append({"shape": list(shape[:6]), "regime": regime, **res})
    payload = {
        "machine": info,
        "dtype": args.dtype,
        "packed": args.packed,
        "settle_s": args.settle,
        "results": results,
    }
    from elman.io._atomic import atomic_write_file

    try:
        atomic_write_file(args.json, json.dumps(payload, indent=1).encode())
    except OSError as exc:
        raise UserError(f"cannot write --json {args.json}: {os_reason(exc)}") from None
    print(f"medians (min–max) of {args.repeat} interleaved repetitions; JSON: {args.json}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
