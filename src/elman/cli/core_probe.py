"""This machine's figures behind :mod:`.call_bound`: the peak FLOP/s and copy bandwidth of
``elman bench --train`` (:func:`.train_grid.measure_peak`), plus what a recurrence's chain
needs: the copy bandwidth by footprint (a compiled copy loop, so that small in-cache copies
are not timed as Python calls), one FMA's latency, and the activation's (elman's tanh:
:mod:`elman._kernels.activations`) latency and throughput per element, per dtype.

Every figure is the best of a few timed runs (the fastest is the machine's; anything slower
is interference). Measured in a second or two; the bounds of a loaded machine come out too
long (its figures too slow), so say where a peak was measured.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
from numba import njit

from elman._kernels.activations import activate, tanh

from .train_grid import measure_peak

__all__ = ["measure_core", "measure_full_peak", "copy_bandwidths"]

_FAST = {"fastmath": {"contract"}, "error_model": "numpy", "boundscheck": False}


@njit(**_FAST)
def _fma_chain(a, b, c, n):  # pragma: no cover - compiled
    for _ in range(n):
        a = a * b + c  # one FMA, each needing the last
    return a


@njit(**_FAST)
def _tanh_chain(x, n):  # pragma: no cover - compiled
    for _ in range(n):
        x = tanh(x)
    return x


@njit(**_FAST)
def _tanh_rows(a, n):  # pragma: no cover - compiled
    for _ in range(n):
        activate(a, a.size, False)


@njit(**_FAST)
def _copies(a, b, n):  # pragma: no cover - compiled
    for _ in range(n):
        b[:] = a
        a[:] = b


def _best(fn: Any, *args: Any, repeat: int) -> float:
    fn(*args)  # compile, warm
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t)
    return best


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def measure_core(n: int = 2_000_000, repeat: int = 5) -> dict[str, Any]:
    """Per dtype: ``fma_latency_s`` (a chain of n FMAs), ``act_latency_s`` (a chain of tanh
    calls), ``act_element_s`` (tanh over a 1,024-element row in L1, per element)."""
    out: dict[str, Any] = {"cores": cores()}
    for dtype in ("float32", "float64"):
        f = np.dtype(dtype).type
        fma = _best(_fma_chain, f(1.0), f(0.5), f(1.0), n, repeat=repeat) / n
        act = _best(_tanh_chain, f(0.5), n // 4, repeat=repeat) / (n // 4)
        row = np.linspace(-3, 3, 1024).astype(dtype)
        loops = max(1, n // 2048)
        elem = _best(_tanh_rows, row, loops, repeat=repeat) / (loops * row.size)
        out[dtype] = {"fma_latency_s": fma, "act_latency_s": act, "act_element_s": elem}
    return out


def copy_bandwidths(
    sizes: tuple[int, ...] = (16, 128, 1024, 8192, 65536), moved: float = 4e8, repeat: int = 5
) -> dict[str, float]:
    """{bytes moved per copy (read + write): GB/s} for arrays of ``sizes`` KiB, each timed
    over about ``moved`` bytes of back-and-forth copies in one compiled call."""
    out = {}
    for kib in sizes:
        a = np.ones(kib * 1024 // 8)
        b = np.empty_like(a)
        per_loop = 4 * a.nbytes  # two copies, each read + write
        loops = max(1, int(moved / per_loop))
        best = _best(_copies, a, b, loops, repeat=repeat)
        out[str(2 * a.nbytes)] = per_loop * loops / best / 1e9
    return out


def measure_full_peak(quick: bool = False) -> dict[str, Any]:
    """:func:`.train_grid.measure_peak` plus ``bandwidth_by_bytes`` (its own 256 MB copy
    included) and ``core`` (:func:`measure_core`); ``quick``: small sizes (tests)."""
    if quick:
        peak = measure_peak(n=64, copy_mb=1, repeat=2)
        by = copy_bandwidths(sizes=(16, 64), moved=1e6, repeat=2)
        core = measure_core(n=2000, repeat=2)
    else:
        peak = measure_peak()
        by = copy_bandwidths()
        core = measure_core()
    by[str(2 * (1 if quick else 256) * 2**20)] = peak["bandwidth_gbs"]
    return {
        **peak,
        "bandwidth_by_bytes": by,
        "core": core,
        "how": peak["how"] + "; copy bandwidth by footprint: compiled back-and-forth copies, "
        "best of 5; core: chains of FMAs and of elman's tanh (latency), tanh over a row in L1 "
        "(throughput), best of 5",
        "measured": time.strftime("%Y-%m-%d %H:%M"),
    }
