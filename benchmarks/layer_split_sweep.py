"""A Linear's three products on elman's two threads (handover.matmul_two_threads) against
one single-threaded np.matmul, and against np.matmul with OpenBLAS's own two threads.

Random shapes (seeded): rows R log-uniform in [256, 50000], K (in) and O (out) log-uniform
in [1, 1024], float32 or float64; products of fewer than 2^18 multiply-adds (where
OpenBLAS stays on one thread anyway) or more than 2^29 are skipped. Each product kind in
the layout LinearFunction hands it over: forward x @ w.T (w.T a transposed view), dW
g.T @ x (g.T a transposed view), dX g @ w. Per shape and kind: split / one interleaved
(REPS each, medians), then blas2 / one interleaved (OpenBLAS's workers spin after a
threaded call, so blas2 is measured apart from the split). Prints JSON lines.

    PYTHONPATH=src python benchmarks/layer_split_sweep.py [seed] [count] [reps]
"""

from __future__ import annotations

import json
import math
import sys
import time

import numpy as np

from elman._kernels import _blas
from elman._kernels.handover import matmul_two_threads


def operands(kind, R, K, O, dtype, rng):
    x = rng.standard_normal((R, K)).astype(dtype)
    w = rng.standard_normal((O, K)).astype(dtype)
    g = rng.standard_normal((R, O)).astype(dtype)
    if kind == "fwd":
        return x, w.T
    if kind == "dW":
        return g.T, x
    return g, w  # dX


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 9
    rng = np.random.default_rng(seed)
    get_threads, set_threads = _blas._THREADS if _blas.blas_threads_controllable() else (None, None)
    base_threads = get_threads()
    made = 0
    while made < count:
        R = int(round(math.exp(rng.uniform(math.log(256), math.log(50000)))))
        K = int(round(math.exp(rng.uniform(0, math.log(1024)))))
        O = int(round(math.exp(rng.uniform(0, math.log(1024)))))
        work = R * K * O
        if not (1 << 18) <= work <= (1 << 29) or min(K, O) < 2:
            continue
        dtype = np.float32 if rng.random() < 0.5 else np.float64
        made += 1
        for kind in ("fwd", "dW", "dX"):
            a, b = operands(kind, R, K, O, dtype, rng)
            out = np.empty((a.shape[0], b.shape[1]), dtype)
            out2 = np.empty_like(out)

            def split(a=a, b=b, out2=out2):  # noqa: ANN001, ANN202
                with _blas.single_threaded_blas():
                    matmul_two_threads(a, b, out2)

            def one(a=a, b=b, out=out):  # noqa: ANN001, ANN202
                with _blas.single_threaded_blas():
                    np.matmul(a, b, out=out)

            def blas2(a=a, b=b, out=out):  # noqa: ANN001, ANN202
                set_threads(2)
                np.matmul(a, b, out=out)

            one(), split()  # warm (pages, helper thread)
            exact = bool(np.array_equal(out, out2))
            ts, to = [], []
            for _ in range(reps):
                to.append(timed(one))
                ts.append(timed(split))
            tb, to2 = [], []
            for _ in range(max(7, reps // 2)):
                tb.append(timed(blas2))
                set_threads(base_threads)
                to2.append(timed(one))
            set_threads(base_threads)
            print(
                json.dumps(
                    dict(
                        R=R,
                        K=K,
                        O=O,
                        dtype=np.dtype(dtype).name,
                        kind=kind,
                        work=work,
                        M=a.shape[0],
                        N=b.shape[1],
                        one_ms=1e3 * float(np.median(to)),
                        split_ms=1e3 * float(np.median(ts)),
                        split_ratio=float(np.median(ts) / np.median(to)),
                        split_min_ratio=float(min(ts) / min(to)),
                        blas2_ratio=float(np.median(tb) / np.median(to2)),
                        exact=exact,
                    )
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
