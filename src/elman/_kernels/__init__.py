"""Kernels: pure functions on ndarrays; they know nothing of Tensor.

``*_ref`` modules are the NumPy reference (the readable spec). The names exported here are
what the rest of the package calls: the compiled twins of :mod:`.rnn_numba` (same
signatures, same results) when numba is importable and ``ELMAN_DISABLE_JIT`` is not ``1``,
else the references. (With ``NUMBA_DISABLE_JIT=1`` the twins run as plain Python: slow, but
the same code paths.)
"""

import os

from .packing_ref import batch_sizes_of, packed_rows
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
        from ._nb_packing import batch_sizes_of, packed_rows  # noqa: F811
        from .rnn_numba import (  # noqa: F811
            packed_layer_backward,
            packed_layer_forward,
            stack_backward,
            stack_forward,
        )

        JIT = True
    except ImportError:  # numba is not installed
        pass

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
]
