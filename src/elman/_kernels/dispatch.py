"""Which compiled variant runs a given RNN problem.

A variant is a path and a step mode:

* path ``fused``: the whole stack in one compiled call each way, every product an ``axpy``
  loop; for small problems, where per-call overhead is most of the time.
* path ``layered``: per layer, the input projection, the weight gradients and dX are single
  NumPy GEMMs over all steps; only the sequential part runs compiled.
* mode (how ``h @ W_hh.T`` is done at each step): ``axpy`` loops (tiny H), ``dot`` loops
  (mid H, few rows), or ``gemm``, NumPy's BLAS called from the kernel (many rows).

The thresholds come from measurements on a 2-core AVX-512 machine (see the report in
``docs``); ``ELMAN_KERNEL_VARIANT=path-mode`` (e.g. ``layered-gemm``) forces one.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from numba import config

from ._blas import blas_threads_controllable, gemm_pointers
from ._nb_ops import AXPY, DOT, GEMM
from ._nb_split import two_cpus

__all__ = ["Variant", "VARIANTS", "choose"]

SPLIT = np.int64(3)  # the dot loops on two threads (run from Python, see ._nb_split)
MODES = {"axpy": AXPY, "dot": DOT, "gemm": GEMM, "split": SPLIT}


class Variant(NamedTuple):
    fused: bool  # forward: the whole stack in one call
    mode: Any  # AXPY, DOT, GEMM or SPLIT: the recurrence of the layered path
    fused_backward: bool = False
    one_blas_thread: bool = False  # run NumPy's BLAS single-threaded meanwhile


VARIANTS = {"fused": Variant(True, AXPY, True)} | {
    f"layered-{name}": Variant(False, mode, False, mode is SPLIT) for name, mode in MODES.items()
}


def _forced() -> Variant | None:
    name = os.environ.get("ELMAN_KERNEL_VARIANT", "")
    if not name:
        return None
    if name not in VARIANTS:
        raise ValueError(f"ELMAN_KERNEL_VARIANT={name!r}: expected one of {sorted(VARIANTS)}")
    return VARIANTS[name]


FORCED = _forced()  # read once: choose() runs on every RNN call


def choose(T: int, N: int, I: int, H: int, num_layers: int, D: int) -> Variant:
    """The variant for T packed rows, batch N, I inputs, hidden H."""
    return FORCED or _auto(T, N, I, H, num_layers, D)


def can_split() -> bool:
    """The two-thread recurrence needs two CPUs and control of NumPy's BLAS threads."""
    return not config.DISABLE_JIT and two_cpus() and blas_threads_controllable()


@lru_cache(maxsize=256)
def _auto(T: int, N: int, I: int, H: int, num_layers: int, D: int) -> Variant:
    gemm = bool(gemm_pointers()[0])
    # small GEMMs gain nothing from a second BLAS thread, and a BLAS worker woken for them
    # competes with any other thread pool in the process (torch's, in a benchmark)
    small = T * D * H * (I + H) < 4_000_000 and blas_threads_controllable()
    if H <= 32 and N * H <= 128 and I * H <= 4096:
        # tiny: loops only, one call for the whole stack (the backward too while short:
        # its per-row weight-gradient loops lose to GEMMs over many rows)
        return Variant(True, AXPY, T * num_layers * D <= 2048, small)
    split = can_split() and ((N <= 3 and H >= 256) or (N <= 8 and H >= 448))
    if split:  # weight-streaming bound: two cores each keep half of W_hh
        return Variant(False, SPLIT, False, True)
    if N == 1 and H <= 96:
        return Variant(False, AXPY, False, small)
    if gemm and not (N == 3 and H >= 128):  # (OpenBLAS is slow on exactly three rows)
        return Variant(False, GEMM, False, small)
    return Variant(False, DOT if H >= 96 else AXPY, False, small)
