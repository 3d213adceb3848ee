"""Kernels: pure functions on ndarrays; they know nothing of Tensor.

``*_ref`` modules are the NumPy reference (the readable spec); each ``X_ref`` has its
compiled twin ``X_compiled`` (same signatures, same results). The names exported here are
what the rest of the package calls: the compiled twins when numba is importable and
``ELMAN_DISABLE_JIT`` is not ``1``, else the references (with ``NUMBA_DISABLE_JIT=1`` the
twins run as plain Python: slow, but the same code paths). docs/kernels.md maps the rest.
"""

from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

from .config import (
    DISABLE_JIT,
    THREADED_DOT,  # noqa: F401  (the threshold callers pass, re-exported)
    THREADED_PRODUCT,
)
from .packing_ref import batch_sizes_of, packed_rows
from .param_update_ref import adam_update, sum_squares  # noqa: F401  (helpers, see __all__)
from .random_ref import bernoulli_values
from .rnn_ref import (
    cell_backward,
    cell_forward,
    layer_backward,
    layer_forward,
    packed_layer_backward,
    packed_layer_forward,
)
from .rows_ref import (  # noqa: F401  (see __all__'s note)
    add_rows_into,
    column_sums,
    log_softmax_rows,
    nll_grad_rows,
    scatter_add_rows,
    softmax_nll_rows,
)
from .stack_ref import stack_backward, stack_forward


def choose_variant(x: Any, h0: Any, num_layers: int) -> Any:
    """The call's one decision of kernels (the reference has one way: None)."""
    return None


def layer_product(a: Any, b: Any, out: Any = None) -> Any:
    """``a @ b`` of two matrices for a layer around the RNN (a Linear's forward, dW and dX),
    on the calling thread with OpenBLAS's threads left asleep (see :func:`quiet_blas`). With
    compiled kernels, :func:`.handover.layer_product` (big ones on elman's two threads)."""
    with quiet_blas(a.shape[0] * a.shape[1] * b.shape[1]):
        return np.matmul(a, b, out=out)


JIT = False
if not DISABLE_JIT:
    try:
        from . import _jit  # noqa: F401  (sets numba's environment before numba is imported)
        from ._blas import single_threaded_blas
        from .handover import layer_product  # noqa: F401, F811
        from .packing_compiled import batch_sizes_of, packed_rows  # noqa: F811
        from .param_update_compiled import adam_update, sum_squares  # noqa: F401, F811
        from .random_compiled import bernoulli_values  # noqa: F811
        from .rnn_compiled import packed_layer_backward, packed_layer_forward  # noqa: F811
        from .rows_compiled import (  # noqa: F401, F811
            add_rows_into,
            column_sums,
            log_softmax_rows,
            nll_grad_rows,
            scatter_add_rows,
            softmax_nll_rows,
        )
        from .skinny import applies as skinny_applies  # noqa: F401
        from .skinny import backward as skinny_backward  # noqa: F401
        from .skinny import forward as skinny_forward  # noqa: F401
        from .stack_compiled import choose_for as choose_variant  # noqa: F401, F811
        from .stack_compiled import stack_backward, stack_forward  # noqa: F811

        JIT = True
    except ImportError:  # numba is not installed
        pass

# (THREADED_PRODUCT, THREADED_DOT: where OpenBLAS would thread a product, see .config: an
# RNN + Linear head on every step trained ~1.5x slower, gradient clipping (a dot over all
# gradients) woke its threads on every step.)


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
]  # the RNN's kernels (choose_variant, quiet_blas, layer_product and the thresholds are helpers;
# adam_update and sum_squares, in-place passes of the optimizer and clipping, are tested
# against their reference by tests/optim/test_adam_one_pass.py; log_softmax_rows,
# softmax_nll_rows, nll_grad_rows, column_sums, add_rows_into and scatter_add_rows serve
# the layers around the RNN: tests/_kernels/test_rows.py)
