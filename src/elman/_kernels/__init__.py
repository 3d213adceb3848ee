"""Kernels: pure functions on ndarrays; they know nothing of Tensor.

``*_ref`` modules are the NumPy reference (the readable spec). The names exported here are
what the rest of the package calls; compiled twins with identical signatures replace them
when available.
"""

from .rnn_ref import (
    cell_backward,
    cell_forward,
    layer_backward,
    layer_forward,
    packed_layer_backward,
    packed_layer_forward,
)
from .stack_ref import stack_backward, stack_forward

__all__ = [
    "layer_forward",
    "layer_backward",
    "packed_layer_forward",
    "packed_layer_backward",
    "cell_forward",
    "cell_backward",
    "stack_forward",
    "stack_backward",
]
