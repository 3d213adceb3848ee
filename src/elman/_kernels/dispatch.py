"""Which compiled variant runs a given RNN problem.

A variant is a path and a step mode:

* path ``fused``: the whole stack in one compiled call each way, every product a loop; for
  tiny problems (H <= 32, N*H <= 128, I*H <= 4096), where per-call overhead is most of the
  time. Its backward is used while T*layers*directions <= 2048 (beyond that, the per-row
  weight-gradient loops lose to the GEMMs of the layered backward).
* path ``layered``: per layer, the input projection, the weight gradients and dX are single
  NumPy GEMMs over all steps; only the sequential part runs compiled, in one of four modes:

  - ``axpy``: k-unrolled loops streaming W_hh.T (N == 1, H <= 96);
  - ``dot``: row-blocked dot-product loops (three rows with H >= 128, no BLAS found);
  - ``gemm``: NumPy's BLAS called from the kernel once per step (most N >= 2);
  - ``split``: the dot loops on two threads, each keeping half of W_hh in its own cache,
    with NumPy's BLAS held at one thread meanwhile (N <= 3 and H >= 256, or N <= 8 and
    H >= 448: weight-streaming bound; needs two CPUs and OpenBLAS thread control).

The thresholds come from measurements on a 2-vCPU AVX-512 (Emerald Rapids) VM.
``ELMAN_KERNEL_VARIANT`` (``fused``, ``layered-axpy``, ``layered-dot``, ``layered-gemm``,
``layered-split``) forces one, read once at import.
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
    one_blas_thread: bool = False  # NumPy's BLAS single-threaded meanwhile (SPLIT's GEMMs)


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
    if H <= 32 and N * H <= 128 and I * H <= 4096:
        # tiny: loops only, one call for the whole stack (the backward too while short:
        # its per-row weight-gradient loops lose to GEMMs over many rows)
        return Variant(True, AXPY, T * num_layers * D <= 2048)
    split = can_split() and ((N <= 3 and H >= 256) or (N <= 8 and H >= 448))
    if split:  # weight-streaming bound: two cores each keep half of W_hh
        return Variant(False, SPLIT, False, True)
    if N == 1 and H <= 96:
        return Variant(False, AXPY)
    if gemm and not (N == 3 and H >= 128):  # (OpenBLAS is slow on exactly three rows)
        return Variant(False, GEMM)
    return Variant(False, DOT if H >= 96 else AXPY)
