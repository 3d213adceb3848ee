"""The floor of a Python round trip on the compiled kernels, against elman and torch.

Times, interleaved in one process, forward+backward of one shape (default (5, 3, 7, 4, 2)):

* ``bare``: what any Python autograd on these kernels must at least do -- the harness's
  input tensor, the fused forward and backward kernels called directly, the output Tensors
  and the nine gradient Tensors the caller gets, the harness's gradient clearing; no graph,
  no checks, no engine;
* ``elman``: ``elman bench``'s forward+backward closure;
* ``torch``: the same on torch.

Prints medians and minimums (µs) and the ratios torch / bare and torch / elman.
Usage: ``python benchmarks/bare_round_trip.py [L N I H LAYERS]`` (a shape the fused path
serves: H <= 32, N*H <= 128, I*H <= 4096). Needs torch.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

import elman
from elman._kernels.flat import split_flat
from elman._kernels.fused_stack import fused_backward_flat, fused_forward_flat
from elman.autograd.tensor import Tensor
from elman.cli.bench import Case


def main() -> None:
    L, N, I, H, NL = (int(v) for v in sys.argv[1:6]) if len(sys.argv) > 5 else (5, 3, 7, 4, 2)
    torch.set_num_threads(2)
    case = Case((L, N, I, H, NL, False, "cli"), "float32", False, torch, 0)
    model = case.model
    flat = model._flat
    sizes = np.full(L, N, np.int64)
    h0 = np.zeros((NL, N, H), np.float32)
    g_rows = case.g.reshape(L * N, H)
    wrap = Tensor._wrap

    def bare() -> None:
        x = elman.from_numpy(case.x).requires_grad_(True)
        rows = x._data.reshape(L * N, I)
        outs, hn = fused_forward_flat(rows, sizes, h0, flat.buf, NL, True, False)
        wrap(outs[-1].reshape(L, N, H)), wrap(hn)  # the (output, h_n) a caller would get
        dx, _, gbuf, _ = fused_backward_flat(
            rows, sizes, h0, flat.buf, NL, True, False, outs, g_rows, h0
        )
        for p, view in zip(flat.params, split_flat(gbuf, flat.spans), strict=True):
            p.grad = wrap(view)
        x.grad = wrap(dx.reshape(L, N, I))
        for p in model.parameters():
            p.grad = None

    fns = {"bare": bare, "elman": case.elman_fb(), "torch": case.torch_fb()}
    for fn in fns.values():
        for _ in range(500):
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(7):
        for name, fn in fns.items():
            t = time.perf_counter()
            for _ in range(3000):
                fn()
            times[name].append((time.perf_counter() - t) / 3000 * 1e6)
    med = {k: float(np.median(v)) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:6s} median {med[k]:8.2f} µs  min {min(v):8.2f} µs")
    ratios = (med["torch"] / med["bare"], med["torch"] / med["elman"])
    print("torch / bare {:.1f}x, torch / elman {:.1f}x".format(*ratios))


if __name__ == "__main__":
    main()
