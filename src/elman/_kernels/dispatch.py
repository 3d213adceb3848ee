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
from typing import Any, NamedTuple

from ._blas import gemm_pointers
from ._nb_ops import AXPY, DOT, GEMM

__all__ = ["Variant", "VARIANTS", "choose"]

MODES = {"axpy": AXPY, "dot": DOT, "gemm": GEMM}


class Variant(NamedTuple):
    fused: bool
    mode: Any  # AXPY, DOT or GEMM (ignored when fused)


VARIANTS = {"fused": Variant(True, AXPY)} | {
    f"layered-{name}": Variant(False, mode) for name, mode in MODES.items()
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
    if FORCED is not None:
        return FORCED
    has_gemm = bool(gemm_pointers()[0])
    if has_gemm and N * H * H >= 150_000:
        mode = GEMM
    elif H >= 96:
        mode = DOT
    else:
        mode = AXPY
    # one call each way unless a GEMM over all rows clearly beats loops
    small = H <= 64 and (I * H <= 4096 or T <= 64)
    return Variant(small and mode is AXPY, mode)
