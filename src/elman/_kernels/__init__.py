"""Kernels: pure functions on ndarrays; they know nothing of Tensor.

``*_ref`` modules are the NumPy reference (the readable spec). The names exported here are
what the rest of the package calls: the compiled twins of :mod:`.rnn_numba` (same
signatures, same results) when numba is importable and ``ELMAN_DISABLE_JIT`` is not ``1``,
else the references. (With ``NUMBA_DISABLE_JIT=1`` the twins run as plain Python: slow, but
the same code paths.)
"""

import os
from contextlib import AbstractContextManager, nullcontext

from .packing_ref import batch_sizes_of, packed_rows
from .random_ref import bernoulli_values
from .rnn_ref import (
    cell_backward,
    cell_forward,
    layer_backward,
    layer_forward,
    packed_layer_backward,
    packed_layer_forward,
)
from .stack_ref import stack_backward, stack_forward

JIT = False
if os.environ.get("ELMAN_DISABLE_JIT", "0") != "1":
    try:
        from . import _jit  # noqa: F401  (sets numba's environment before numba is imported)
        from ._blas import single_threaded_blas
        from ._nb_packing import batch_sizes_of, packed_rows  # noqa: F811
        from ._nb_random import bernoulli_values  # noqa: F811
        from .rnn_numba import (  # noqa: F811
            packed_layer_backward,
            packed_layer_forward,
            stack_backward,
            stack_forward,
        )

        JIT = True
    except ImportError:  # numba is not installed
        pass

# OpenBLAS hands work to its threads from ~2.6e5 multiply-adds for a matrix product (M*N*K)
# and from 10^4 elements for a dot product (measured on NumPy's OpenBLAS here), and the
# threads then busy-wait for ~0.1 s of CPU, taking a core from the next RNN call's second
# thread: an RNN + Linear head on every step trained ~1.5x slower, gradient clipping (a dot
# over all gradients) woke them on every step.
THREADED_PRODUCT = 1 << 18
THREADED_DOT = 10_000


def quiet_blas(work: int, threaded_from: int = THREADED_PRODUCT) -> AbstractContextManager[object]:
    """A block whose NumPy BLAS calls run on the calling thread only (no OpenBLAS worker
    woken to spin afterwards), when ``work`` (multiply-adds) is at least ``threaded_from``,
    where OpenBLAS would use its threads; a no-op below, without the compiled kernels, or
    without OpenBLAS's thread control."""
    if JIT and work >= threaded_from:
        return single_threaded_blas()
    return nullcontext()


__all__ = [
    "layer_forward",
    "layer_backward",
    "packed_layer_forward",
    "packed_layer_backward",
    "cell_forward",
    "cell_backward",
    "stack_forward",
    "stack_backward",
    "batch_sizes_of",
    "packed_rows",
    "bernoulli_values",
]  # the kernels (quiet_blas and its thresholds are module helpers, not kernels)
