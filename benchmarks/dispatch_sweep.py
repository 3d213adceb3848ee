"""The measurements behind the dispatch rules: every applicable kernel variant on a set of
shapes, interleaved, in two thread conditions.

    PYTHONPATH=src python benchmarks/dispatch_sweep.py [--out benchmarks/dispatch-sweep.json]
        [--repeat 5] [--passes K] [--speed-only] [--packed] [--min-time 0.004] [--list]

The checked-in sweep was made with ``--passes 2``, then ``--passes 3 --speed-only``, then
``--packed --speed-only`` (~15, ~15, ~7 and ~5 minutes on 2 loaded cores).

One worker process per (variant, condition) stays alive for the whole run; the variant is
forced through the public ``ELMAN_KERNEL_VARIANT`` (so the sweep keeps working whatever the
kernel files are called), the one-thread condition runs its workers with
``OMP_NUM_THREADS=1`` (no two-thread variant is applicable there). The driver sends each
worker a shape through a pipe; the worker builds the RNN (float32 unless the request says
float64, as ``benchmarks/sweep.py`` does; dense (L, N, I) input),
warms up, and answers each request with the seconds per call of one timed block of
``no_grad`` forwards (``fwd``) or of forward+backward round trips (``fb``: gradients for
every parameter and the input, as ``elman bench``). Within each of the ``--repeat``
repetitions the driver runs every applicable (variant, condition) once, in an order rotated
by one every repetition, so load on the machine hits all of them alike; the JSON keeps every
repetition (the rules use medians). The JSON is rewritten after each shape and a rerun skips
the shapes already in it (resumable).

Shapes (:func:`shapes`): points on both sides of every bound of today's rules along its
axis, the 9 shapes of the speed table (``elman bench``) and two neighbours of each, and
random log-uniform shapes (seeded) under a budget of multiply-adds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ONE_THREAD = ["fused", "fused-forward", "fused-outer", "fused-forward-outer"]
ONE_THREAD += ["fused-forward-gemm", "fused-gemm"]
ONE_THREAD += ["layered-axpy", "layered-outer", "layered-gemm"]
TWO_THREAD = ["layered-split", "layered-pairs", "layered-rows", "layered-rows-outer"]
CONDITIONS = {"two": ONE_THREAD + TWO_THREAD, "one": ONE_THREAD}

# the names today's dispatcher (main 15263a3) cannot force yet: the worker sets them on the
# dispatcher directly when ELMAN_KERNEL_VARIANT rejects them (mode name, fused backward)
_UNNAMED = {
    "fused-outer": ("OUTER", True),
    "fused-forward": ("AXPY", False),
    "fused-forward-outer": ("OUTER", False),
}

WORKER = r"""
import json, os, sys, time
import numpy as np
name = os.environ.pop("ELMAN_SWEEP_VARIANT")
unnamed = json.loads(os.environ.pop("ELMAN_SWEEP_UNNAMED"))
import elman
from elman._kernels import dispatch
if name in unnamed and name not in getattr(dispatch, "VARIANTS", {name: 0}):
    from elman._kernels import _nb_ops
    mode, fused_backward = unnamed[name]
    dispatch.FORCED = dispatch.Variant(True, getattr(_nb_ops, mode), fused_backward)
model = key = None
for line in sys.stdin:
    req = json.loads(line)
    dt = req.get("dtype", "float32")
    if (req["shape"], req["packed"], dt) != key:
        key = (req["shape"], req["packed"], dt)
        L, N, I, H, NL, D = req["shape"]
        rng = np.random.default_rng(0)
        elman.manual_seed(0)
        model = elman.nn.RNN(I, H, NL, bidirectional=D == 2, dtype=dt)
        xa = rng.standard_normal((L, N, I)).astype(dt)
        if req["packed"]:  # lengths spread over 1..L, as `elman bench --packed`
            from elman.nn.utils.rnn import pack_padded_sequence
            lengths = np.array(req["packed"])
            g = rng.standard_normal((int(lengths.sum()), D * H)).astype(dt)
            pack = lambda x: pack_padded_sequence(x, lengths)
            grad_of = lambda out: out.data
        else:
            g = rng.standard_normal((L, N, D * H)).astype(dt)
            pack = grad_of = lambda x: x
        xp = pack(elman.from_numpy(xa))
        def fwd():
            with elman.no_grad():
                model(xp)
        def fb():
            x = elman.from_numpy(xa).requires_grad_(True)
            out, _ = model(pack(x))  # packed: packing is part of every round trip
            grad_of(out).backward(g)
            for p in model.parameters():
                p.grad = None
        runs = {"fwd": fwd, "fb": fb}
        loops = {}
        for kind, fn in runs.items():
            fn()  # compile (or load from the cache), fill caches
            t = time.perf_counter(); fn(); one = time.perf_counter() - t
            loops[kind] = (max(1, int(req["min_time"] / max(one, 1e-7))), one)
    fn, (n, one) = runs[req["kind"]], loops[req["kind"]]
    if one < 0.05:
        fn()  # one untimed call: another worker ran last (long calls settle within)
    t = time.perf_counter()
    for _ in range(n):
        fn()
    sys.stdout.write(f"{(time.perf_counter() - t) / n:.4g}\n")  # 4 digits: noise is worse
    sys.stdout.flush()
"""

# (L, N, I, H, layers, bidirectional) of `elman bench`'s speed table
SPEED = [
    (10, 2, 5000, 4, 1, 1),
    (5, 3, 7, 4, 2, 1),
    (5000, 3, 7, 4, 2, 1),
    (20000, 1, 16, 64, 1, 1),
    (5000, 3, 7, 400, 2, 1),
    (1000, 32, 16, 128, 1, 1),
    (1000, 16, 32, 128, 2, 2),
    (100, 64, 32, 256, 2, 1),
    (200, 128, 64, 512, 1, 1),
]


def madds(s: tuple[int, ...]) -> int:
    """Multiply-adds of one forward: per layer and direction T*(I_l*H + H*H)."""
    L, N, I, H, NL, D = s
    return L * N * D * H * ((I + H) + (NL - 1) * (D * H + H))


def _neighbours(s: tuple[int, ...]) -> list[tuple[int, ...]]:
    """N halved (doubled when small), H 3/4 (doubled when tiny); the sequence halved on
    shapes of more than 2e9 multiply-adds (the run's budget)."""
    L, N, I, H, NL, D = s
    L = L // 2 if madds(s) > 2e9 else L
    n2 = N * 2 if N <= 3 else N // 2
    h2 = H * 2 if H < 16 else int(round(H * 0.75 / 8) * 8)
    return [(L, n2, I, H, NL, D), (L, N, I, h2, NL, D)]


def _bounds() -> list[tuple[int, ...]]:
    """Points on both sides of each bound of today's rules, one axis at a time."""
    out = []
    # tiny fused: H <= 32, N*H <= 128, I*H <= 4096; fused backward while T*layers*D <= 2048
    out += [(50, 2, 8, h, 1, 1) for h in (16, 24, 32, 40, 48, 64)]
    out += [(50, n, 8, 16, 1, 1) for n in (4, 8, 12, 16, 24)]
    out += [(50, 2, i, 16, 1, 1) for i in (128, 256, 384, 512)]
    out += [(L, 2, 8, 16, 1, 1) for L in (256, 512, 1024, 2048, 4096)]
    out += [(L, 3, 8, 8, 2, 1) for L in (128, 256, 512, 1024)]
    # one sequence, a few steps: T*H^2*layers*D <= 5e4 (H < 128, I*H <= 4096) or 2e5
    # (H >= 128, I <= 4H); the fused backward while H*max(I, D*H) + H^2 <= 1e5
    out += [(L, 1, 8, 64, 1, 1) for L in (1, 4, 12, 24, 64, 200)]
    out += [(L, 1, 16, 96, 1, 1) for L in (1, 5, 10, 40)]
    out += [(L, 1, 16, 128, 1, 1) for L in (1, 4, 12, 24, 64)]
    out += [(L, 1, 8, 256, 1, 1) for L in (1, 2, 3, 6, 12)]
    out += [(4, 1, i, 128, 1, 1) for i in (128, 512, 1024)]
    out += [(2, 1, 16, h, 2, 1) for h in (160, 200, 224, 256)]
    out += [(1, 1, 100, 200, 1, 1), (1, 1, 16, 512, 1, 1), (3, 1, 32, 64, 1, 2)]
    # two threads from T*H^2 >= 3e7 (T = L*N rows)
    out += [(L, 3, 16, 400, 2, 1) for L in (10, 30, 60, 120, 250)]
    out += [(L, 8, 16, 128, 1, 2) for L in (30, 120, 230, 500)]
    # pairs: D = 2, H >= 128, N <= 32; layers >= 2, N <= 16, H >= 256
    out += [(1000, 8, 16, h, 1, 2) for h in (64, 96, 192)]
    out += [(150, n, 16, 128, 1, 2) for n in (16, 32, 48, 64)]
    out += [(300, 8, 16, h, 2, 1) for h in (128, 192, 256, 384)]
    out += [(150, n, 16, 256, 2, 1) for n in (16, 24, 32)]
    # rows-outer: N >= 16, H >= 128, T*H^2 >= 5e7; N >= 8, H >= 256, T*H^2 >= 2e8
    out += [(200, n, 16, 128, 1, 1) for n in (8, 12, 16, 24, 32)]
    out += [(200, 32, 16, h, 1, 1) for h in (64, 96, 192)]
    out += [(L, 32, 16, 128, 1, 1) for L in (25, 50, 100, 400)]
    out += [(L, 8, 16, 256, 1, 1) for L in (100, 200, 400, 800)]
    out += [(500, n, 16, 256, 1, 1) for n in (4, 6, 12)]
    # split: N <= 32 and H >= 400, or N <= 3 and H >= 256
    out += [(300, 8, 16, h, 1, 1) for h in (320, 400, 512)]
    out += [(300, n, 16, 512, 1, 1) for n in (12, 16, 32)]
    out += [(500, n, 16, 256, 1, 1) for n in (2, 3)]
    # rows on BLAS: N >= 16, H < 128, T*H^2 >= 2e8
    out += [(L, 32, 16, 64, 1, 1) for L in (400, 800, 1600, 3200)]
    out += [(3000, n, 16, 64, 1, 1) for n in (8, 16)]
    out += [(1500, 32, 16, 96, 1, 1)]
    # outer vs gemm (one thread): H >= 128 and N <= 3, or H >= 256 and N <= 32
    out += [(200, n, 16, 128, 1, 1) for n in (1, 2, 3, 4, 6)]
    out += [(200, 2, 16, h, 1, 1) for h in (64, 96, 192)]
    out += [(50, n, 16, 256, 1, 1) for n in (16, 32, 48, 64)]
    out += [(50, 16, 16, h, 1, 1) for h in (128, 192, 384)]
    # layered axpy: N = 1, H <= 96
    out += [(500, 1, 16, h, 1, 1) for h in (32, 64, 96, 128, 160)]
    return out


def _random(count: int, seed: int, budget: float) -> list[tuple[int, ...]]:
    """Log-uniform shapes (seeded), each under ``budget`` forward multiply-adds."""
    rng = np.random.default_rng(seed)
    out: list[tuple[int, ...]] = []

    def lu(lo: float, hi: float) -> int:
        return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))

    while len(out) < count:
        s = (lu(1, 3000), lu(1, 128), lu(1, 512), lu(4, 512), int(rng.integers(1, 4)))
        s = (*s, int(rng.integers(1, 3)))
        if madds(s) <= budget:
            out.append(s)
    return out


def shapes(seed: int = 19, n_random: int = 24, budget: float = 4e8) -> list[tuple[int, ...]]:
    """Every shape of the sweep, (L, N, I, H, layers, D), without repeats, in a fixed order."""
    speed = list(SPEED)
    near = [n for s in SPEED for n in _neighbours(s)]
    out: list[tuple[int, ...]] = []
    for s in speed + near + _bounds() + _random(n_random, seed, budget):
        if s not in out:
            out.append(s)
    return out


def applicable(s: tuple[int, ...], variant: str) -> bool:
    """Whether ``variant`` contends on shape ``s`` (skips the hopeless and the identical:
    e.g. the fused loops on big batches, pairs on one unidirectional layer)."""
    L, N, I, H, NL, D = s
    T = L * N
    if variant in ("fused-forward-gemm", "fused-gemm"):  # short stacks of wide inputs, small H
        return H <= 64 and I >= 2 * H and T * NL * D <= 2000
    if variant.startswith("fused"):
        small = H <= 64 and N * H <= 512 and I * H <= 16384
        small = small and (variant == "fused-forward" or T * NL * D <= 40000)
        one = N == 1 and H <= 512 and madds(s) <= 5e7
        outer = "outer" in variant
        if outer:
            return N == 1 and H >= 64 and one
        return small or (one and H <= 128)
    if variant == "layered-axpy":
        return N <= 4 and H <= 160
    if variant == "layered-gemm":
        return N >= 2
    if variant in TWO_THREAD:
        if T * H * H < 3e6 or H < 32:
            return False
        if variant == "layered-pairs":
            return D == 2 or NL >= 2
        if variant.startswith("layered-rows"):
            return N >= 2
        return N <= 64
    return True  # layered-outer


def packed_lengths(s: tuple[int, ...]) -> list[int]:
    """The sequence lengths of a packed run of shape ``s``: spread over 1..L (seeded), the
    longest L, sorted longest first (as ``elman bench --packed``)."""
    L, N = s[0], s[1]
    lengths = np.sort(np.random.default_rng(1).integers(1, L + 1, size=N))[::-1].copy()
    lengths[0] = L
    return [int(n) for n in lengths]


def _key(s: tuple[int, ...]) -> str:
    return ",".join(map(str, s))


class Worker:
    def __init__(self, variant: str, condition: str, src: str) -> None:
        env = {**os.environ, "PYTHONPATH": src, "ELMAN_SWEEP_VARIANT": variant}
        env["ELMAN_SWEEP_UNNAMED"] = json.dumps(_UNNAMED)
        env["ELMAN_KERNEL_VARIANT"] = "" if variant in _UNNAMED and not _named(src) else variant
        if condition.startswith("one"):
            env["OMP_NUM_THREADS"] = "1"
        else:
            env.pop("OMP_NUM_THREADS", None)
        self.packed = condition.endswith("-packed")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, variant, condition], env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip

    def time(
        self, shape: tuple[int, ...], kind: str, min_time: float, dtype: str = "float32"
    ) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        req = {"shape": shape, "kind": kind, "min_time": min_time, "packed": self.lengths(shape)}
        req["dtype"] = dtype  # (benchmarks/sweep.py: float64 too)
        self.proc.stdin.write(json.dumps(req))
        self.proc.stdin.write("\n")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker died on {shape} {kind} (exit {self.proc.wait()})")
        return float(line)

    def lengths(self, shape: tuple[int, ...]) -> list[int] | None:
        return packed_lengths(shape) if self.packed else None

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _named(src: str) -> bool:
    """Whether the checkout's ELMAN_KERNEL_VARIANT knows the names of the fused combinations."""
    code = "from elman._kernels import dispatch; print('fused-outer' in dispatch.VARIANTS)"
    env = {**os.environ, "PYTHONPATH": src, "ELMAN_KERNEL_VARIANT": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return out.stdout.strip() == "True"


def _machine() -> dict[str, Any]:
    from elman.cli.bench_timing import cpu_name

    return {"cpu": cpu_name(), "cores": os.cpu_count(), "numpy": np.__version__}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parent
    parser.add_argument("--out", default=str(here / "dispatch-sweep.json"))
    parser.add_argument("--src", default=str(here.parent / "src"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.004)
    parser.add_argument("--limit", type=int, default=0, help="stop after this many new shapes")
    parser.add_argument(
        "--passes",
        type=int,
        default=1,
        help="passes of --repeat repetitions each shape gets (a later pass appends its "
        "repetitions to the earlier ones, and measures cells that became applicable)",
    )
    parser.add_argument("--list", action="store_true", help="print the shapes and exit")
    parser.add_argument(
        "--packed",
        action="store_true",
        help="time PackedSequence inputs (conditions two-packed, one-packed; the rows are "
        "sum(lengths), kept in the JSON); the rules are fitted on dense samples only",
    )
    parser.add_argument(
        "--speed-only",
        action="store_true",
        help="only the speed table's shapes and their neighbours (e.g. with --passes 3: more "
        "repetitions where the acceptance is judged)",
    )
    args = parser.parse_args()
    todo = shapes()
    if args.speed_only:
        near = set(SPEED) | {n for s in SPEED for n in _neighbours(s)}
        todo = [s for s in todo if s in near]
    if args.list:
        total = sum(madds(s) for s in todo)
        for s in todo:
            vs = [f"{c}:{v}" for c, names in CONDITIONS.items() for v in names if applicable(s, v)]
            print(_key(s), f"{madds(s):.2g}", len(vs))
        print(len(todo), "shapes", f"{total:.3g} forward multiply-adds")
        return 0
    from tqdm import tqdm

    out = Path(args.out)
    data = json.loads(out.read_text()) if out.exists() else {}
    data.setdefault("meta", {**_machine(), "repeat": args.repeat, "min_time_s": args.min_time})
    data.setdefault("runs", []).append({"started": time.strftime("%Y-%m-%d %H:%M:%S")})
    results = data.setdefault("shapes", {})
    passes = data.setdefault("passes_packed" if args.packed else "passes", {})
    for k in results:  # runs before passes were counted made one pass each
        if not args.packed:
            passes.setdefault(k, 1)
    conditions = CONDITIONS
    if args.packed:
        conditions = {f"{c}-packed": names for c, names in CONDITIONS.items()}
    todo = [s for s in todo if passes.get(_key(s), 0) < args.passes]
    if args.limit:
        todo = todo[: args.limit]
    named = _named(args.src)
    workers: dict[tuple[str, str], Worker] = {}
    try:
        for s in tqdm(todo, unit="shape", dynamic_ncols=True):
            cells = [(c, v) for c, names in conditions.items() for v in names if applicable(s, v)]
            times: dict[str, dict[str, dict[str, list[float]]]] = results.get(_key(s), {})
            for rep in range(args.repeat):
                k = rep % len(cells)
                for c, v in cells[k:] + cells[:k]:
                    if (c, v) not in workers:
                        workers[c, v] = Worker(v, c, args.src)
                    for kind in ("fwd", "fb"):
                        t = workers[c, v].time(s, kind, args.min_time)
                        times.setdefault(c, {}).setdefault(v, {}).setdefault(kind, []).append(t)
            results[_key(s)] = times
            passes[_key(s)] = passes.get(_key(s), 0) + 1
            if args.packed:
                data.setdefault("packed_rows", {})[_key(s)] = sum(packed_lengths(s))
            best = min(statistics.median(t["fb"]) for t in times[cells[0][0]].values())
            tqdm.write(f"{_key(s)}: best fb {best * 1e3:.3g} ms")
            data["runs"][-1]["ended"] = time.strftime("%Y-%m-%d %H:%M:%S")
            data["runs"][-1]["unnamed_forced_by_env"] = named
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=0, sort_keys=True))
            tmp.replace(out)
    finally:
        for w in workers.values():
            w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
