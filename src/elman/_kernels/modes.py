"""The step modes: how one recurrence step computes ``h_{t-1} @ W_hh.T``.

A mode is a named constant (:class:`Mode`). Its ``token`` is what a compiled kernel
receives as its ``mode`` argument: a NumPy scalar of an integer type that no other mode
uses, so that Numba compiles each kernel once per mode (its argument types differ) and the
product of that mode is resolved while typing (:func:`._nb_ops.step_matmul` looks the
token's type up in one table, :data:`._nb_ops.PRODUCTS`); the other forms are not
compiled into it. Where each mode lives:

* ``AXPY``: k-unrolled loops streaming W_hh.T (:func:`._nb_ops.mm_axpy`), tiny H;
* ``DOT``: row-blocked dot products (:func:`._nb_ops.mm_dot`), what OUTER runs as
  without compiled code;
* ``OUTER``: explicit-SIMD register-blocked outer products on W_hh.T packed once per call
  (:func:`._nb_simd.mm_outer`), up to four rows a pass;
* ``WIDE``: OUTER six rows a pass (:func:`._nb_simd.mm_wide`), for the many rows of each
  half of the ``rows`` variants;
* ``GEMM``: NumPy's BLAS called from the kernel once per step (the ``*_gemm`` kernels of
  :mod:`._nb_recur`, not a product of ``step_matmul``);
* ``SPLIT``: OUTER on two threads, each owning half of the hidden units
  (:mod:`._nb_split`, run from Python: no compiled kernel takes this token).
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
