"""Which compiled variant runs a given RNN problem.

A variant is a path and a step mode:

* path ``fused``: the whole stack in one compiled call each way, every product a loop; for
  tiny problems (H <= 32, N*H <= 128, I*H <= 4096), where per-call overhead is most of the
  time. Its backward is used while T*layers*directions <= 2048 (beyond that, the per-row
  weight-gradient loops lose to the GEMMs of the layered backward). Also for one sequence
  (N = 1) of a few steps: T*H^2*layers*directions <= 5e4 with I*H <= 4096 (H < 128), or
  <= 2e5 with I <= 4H (H >= 128), where the layered path's fixed cost (Python, packing
  W_hh) is most of the time: one step of H = 256 forward 59 -> 16 us, forward+backward
  231 -> 89 us; ten steps of H = 128 36 -> 19 us; one step of (100 -> 200) 35 -> 15 us.
  Its backward there while H*max(I, D*H) + H^2 <= 1e5 (2 layers of 200 or 256: 2-4x
  slower fused).
* path ``layered``: per layer, the input projection, the weight gradients and dX are single
  NumPy GEMMs over all steps; only the sequential part runs compiled, in one of these modes:

  - ``axpy``: k-unrolled loops streaming W_hh.T (N == 1, H <= 96);
  - ``outer``: explicit-SIMD register-blocked products (:mod:`._nb_simd`) on a packed
    W_hh.T (H >= 128 with N <= 3, or H >= 256 with N <= 32; and whenever no BLAS is found);
  - ``dot``: row-blocked dot-product loops (what ``outer`` runs as without compiled code);
  - ``gemm``: NumPy's BLAS called from the kernel once per step (the other N >= 2);
  - ``rows``: the batch split in two halves, one per thread (the sequences are independent:
    no exchange at all), NumPy's BLAS held at one thread meanwhile. Each thread runs its
    rows with the ``outer`` products (six rows a pass, see :mod:`._nb_simd`) for N >= 16
    and H >= 128 on calls of T*H*H >= 5e7 (a sweep of N 16-64, H 128-256, 25-200 steps:
    (100, 32, 16, 200) forward+backward 7.1 ms on one thread -> 5.4, (200, 32, 16, 128)
    6.8 -> 4.8, (100, 64, 16, 128) 7.0 -> 4.8; level with rows on BLAS for long
    sequences of H = 128), and for N >= 8 and H >= 256 on calls of T*H*H >= 2e8 (ahead
    of every other variant there: (500, 8, 16, 512) forward+backward 39 ms as ``split``
    -> 30, (1000, 32, 16, 256) 100 as rows on BLAS -> 70, (200, 64, 16, 512) 107 -> 89);
    with a single-threaded BLAS call per step for N >= 16, H < 128 on calls of
    T*H*H >= 2e8 (smaller ones lost to the hand-over, e.g. (50, 32, 1, 32));
  - ``split``: the ``outer`` products on two threads, each keeping half of W_hh in its own
    cache (N <= 32 and H >= 400, or N <= 3 and H >= 256, where ``rows`` is not chosen:
    weight-streaming bound);
  - ``pairs``: as ``split``, except that independent recurrences run side by side, one per
    thread, each with its whole W_hh in its core's cache and no exchange at every step:
    the two directions of a bidirectional layer (forward and backward passes), and the
    forward of a unidirectional stack in layer pairs (:mod:`._nb_wave`: thread 0 one
    layer, thread 1 the next one a chunk of steps behind); an unpaired last layer and the
    unidirectional backward run as ``split``. Chosen for two directions with N <= 32 and
    H >= 128, and for two or more unidirectional layers with N <= 16 and H >= 256 (it beat
    ``split``, ``outer`` and ``gemm`` on every such shape measured).

Two-thread variants need T*H*H >= 3e7 (shorter calls measured faster on one thread: e.g.
(20, 3, 16, 400, 2) 2.1 ms on two, 0.9-1.0 on one), two threads allowed
(:func:`.threads.kernel_threads`: ``elman.set_num_threads``, ``OMP_NUM_THREADS``, the
affinity mask) and control of NumPy's OpenBLAS threads (held at one in every layered call).
The thresholds come from measurements on a 2-vCPU AVX-512 (Emerald Rapids) VM
(2026-12-06: 1000 steps, N in 1..32, H in 128..512, one and two layers; ``elman bench``
with ``ELMAN_KERNEL_VARIANT``, see docs/performance.md).
``ELMAN_KERNEL_VARIANT`` (``fused``, ``layered-axpy``, ``layered-dot``, ``layered-outer``,
``layered-gemm``, ``layered-split``, ``layered-pairs``, ``layered-rows``,
``layered-rows-outer``) forces one, read
once at import (with one thread allowed, a two-thread one runs as its one-thread counterpart).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from numba import config

from ._blas import blas_threads_controllable, gemm_pointers
from ._nb_ops import AXPY, DOT, GEMM, OUTER
from .threads import kernel_threads

__all__ = ["Variant", "VARIANTS", "choose"]

SPLIT = np.int64(3)  # the dot loops on two threads (run from Python, see ._nb_split)
MODES = {"axpy": AXPY, "dot": DOT, "outer": OUTER, "gemm": GEMM, "split": SPLIT}


class Variant(NamedTuple):
    fused: bool  # forward: the whole stack in one call
    mode: Any  # AXPY, DOT, OUTER, GEMM or SPLIT: the recurrence of the layered path
    fused_backward: bool = False
    one_blas_thread: bool = False  # runs on elman's two threads (see .threads, ._pair)
    pairs: bool = False  # SPLIT: independent recurrences side by side (see the docstring)
    rows: bool = False  # GEMM or OUTER: the batch split between two threads (one_blas_thread)


VARIANTS = {"fused": Variant(True, AXPY, True)}
VARIANTS |= {f"layered-{k}": Variant(False, m, False, m is SPLIT) for k, m in MODES.items()}
VARIANTS["layered-pairs"] = Variant(False, SPLIT, False, True, True)
VARIANTS["layered-rows"] = Variant(False, GEMM, False, True, False, True)
VARIANTS["layered-rows-outer"] = Variant(False, OUTER, False, True, False, True)


def _forced() -> Variant | None:
    name = os.environ.get("ELMAN_KERNEL_VARIANT", "")
    if not name:
        return None
    if name not in VARIANTS:
        raise ValueError(f"ELMAN_KERNEL_VARIANT={name!r}: expected one of {sorted(VARIANTS)}")
    return VARIANTS[name]


FORCED = _forced()  # read once: choose() runs on every RNN call


def choose(T: int, N: int, I: int, H: int, num_layers: int, D: int) -> Variant:
    """The variant for T packed rows, batch N, I inputs, hidden H. With one thread allowed
    (:func:`.threads.kernel_threads`) no two-thread variant runs, a forced one included
    (it runs as its one-thread counterpart)."""
    two = kernel_threads() >= 2 and _compiled_with_blas_control()  # can_split(), inlined
    if FORCED is not None:
        return FORCED if two or not FORCED.one_blas_thread else _one_thread(FORCED)
    return _auto_for(T, N, I, H, num_layers, D, two)


def _one_thread(v: Variant) -> Variant:
    return Variant(v.fused, OUTER if v.mode is SPLIT else v.mode, v.fused_backward)


def can_split() -> bool:
    """The two-thread variants need two threads allowed (:mod:`.threads`: set_num_threads,
    OMP_NUM_THREADS, the affinity mask), compiled code and control of NumPy's BLAS threads."""
    return kernel_threads() >= 2 and _compiled_with_blas_control()


@lru_cache(maxsize=1)
def _compiled_with_blas_control() -> bool:
    return not config.DISABLE_JIT and blas_threads_controllable()


def _auto(T: int, N: int, I: int, H: int, num_layers: int, D: int) -> Variant:
    """The automatic choice with the current thread count."""
    return _auto_for(T, N, I, H, num_layers, D, can_split())


@lru_cache(maxsize=256)
def _auto_for(T: int, N: int, I: int, H: int, num_layers: int, D: int, split: bool) -> Variant:
    """The automatic choice; ``split``: two threads may run (part of the cache key, so a
    change of :func:`.threads.set_num_threads` is seen)."""
    gemm = bool(gemm_pointers()[0])
    if H <= 32 and N * H <= 128 and I * H <= 4096:
        # tiny: loops only, one call for the whole stack (the backward too while short:
        # its per-row weight-gradient loops lose to GEMMs over many rows)
        return Variant(True, AXPY, T * num_layers * D <= 2048)
    wide = H >= 128  # the layered path packs W_hh per call (the outer products) from here
    inputs_ok = I <= 4 * H if wide else I * H <= 4096
    if N == 1 and inputs_ok and T * H * H * num_layers * D <= (2e5 if wide else 5e4):
        # one sequence, a few steps (streaming, one step a call): the layered path's fixed
        # cost (Python, packing W_hh) outweighs the fused loops' slower steps. The fused
        # backward while its weight-gradient block stays small (beyond ~1e5 elements, e.g.
        # 2 layers of 256, it ran 2-4x slower)
        small = H * max(I, D * H) + H * H <= 100_000
        return Variant(True, AXPY if H <= 96 else OUTER, small)
    # two threads only on calls big enough to pay for handing work over (~0.1 ms, more
    # when the other vCPU was idle): short sequences measured faster on one
    two = split and T * H * H >= 3e7
    # two directions: measured ahead of split and gemm from H = 128 (N <= 32); layer
    # pairs: from H = 256 (N <= 16)
    pairs = (D == 2 and H >= 128) or (num_layers >= 2 and N <= 16 and H >= 256)
    if N <= 32 and two and pairs:
        return Variant(False, SPLIT, False, True, True)
    # the batch in two halves, one per thread, with the six-row outer products: from
    # N = 16, H = 128 on calls of 5e7 multiply-adds (a sweep of N 16-64, H 128-256, 25-200
    # steps: up to 30% ahead of one thread and of rows on BLAS, a tie at 5e7-1e8 with
    # 16 rows), from N = 8, H = 256 on calls of 2e8 (ahead of split, gemm and rows on BLAS
    # there); else rows on single-threaded BLAS per step (N >= 16, H < 128, from 2e8)
    big = two and T * H * H >= 2e8
    if two and H >= 128 and ((N >= 16 and T * H * H >= 5e7) or (big and N >= 8 and H >= 256)):
        return Variant(False, OUTER, False, True, False, True)
    if N <= 32 and two and (H >= 400 or (N <= 3 and H >= 256)):
        return Variant(False, SPLIT, False, True, False)  # weight-streaming bound
    if big and gemm and N >= 16:
        return Variant(False, GEMM, False, True, False, True)
    if N == 1 and H <= 96:
        return Variant(False, AXPY)
    if (H >= 128 and (N <= 3 or (H >= 256 and N <= 32))) or not gemm:
        return Variant(False, OUTER if H >= 96 else AXPY)
    return Variant(False, GEMM)
