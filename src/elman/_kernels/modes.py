"""The step modes: how one recurrence step computes ``h_{t-1} @ W_hh.T``.

A mode is a named constant (:class:`Mode`). Its ``token`` is what a compiled kernel
receives as its ``mode`` argument: a NumPy scalar of an integer type that no other mode
uses, so that Numba compiles each kernel once per mode (its argument types differ) and the
product of that mode is resolved while typing (:func:`.products.step_matmul` looks the
token's type up in one table, :data:`.products.PRODUCTS`); the other forms are not
compiled into it. Where each mode lives:

* ``AXPY``: k-unrolled loops streaming W_hh.T (:func:`.products.mm_axpy`), tiny H;
* ``DOT``: row-blocked dot products (:func:`.products.mm_dot`), what OUTER runs as
  without compiled code;
* ``OUTER``: explicit-SIMD register-blocked outer products on W_hh.T packed once per call
  (:func:`.simd_products.mm_outer`), up to four rows a pass;
* ``WIDE``: OUTER six rows a pass (:func:`.simd_products.mm_wide`), for the many rows of each
  half of the ``rows`` variants;
* ``GEMM``: NumPy's BLAS called from the kernel once per step (the ``*_gemm`` kernels of
  :mod:`.recurrence`, not a product of ``step_matmul``);
* ``SPLIT``: OUTER on two threads, each owning half of the hidden units
  (:mod:`.split_recurrence`, run from Python: no compiled kernel takes this token).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Mode", "AXPY", "DOT", "GEMM", "OUTER", "WIDE", "SPLIT", "MODES"]


class Mode(NamedTuple):
    name: str
    token: np.integer  # the kernels' ``mode`` argument: an integer type of its own


AXPY = Mode("axpy", np.int8(0))
DOT = Mode("dot", np.int16(1))
GEMM = Mode("gemm", np.int32(2))
SPLIT = Mode("split", np.int64(3))
OUTER = Mode("outer", np.uint16(4))
WIDE = Mode("wide", np.uint8(5))

MODES = {m.name: m for m in (AXPY, DOT, GEMM, SPLIT, OUTER, WIDE)}
assert len({type(m.token) for m in MODES.values()}) == len(MODES)  # one type per mode
