"""The two differentiable row moves of packing: padded batch -> packed rows and back."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.function import Context, Function

__all__ = ["_Pack", "_Unpack"]


class _Pack(Function):
    """Gather rows of a padded (A, B, *) batch into packed (sum(lengths), *) rows: packed row
    r is row ``src[r]`` of the batch flattened to (A * B, *); rows ``pad`` are padding."""

    backward_name = "PackPaddedSequenceBackward0"

    @staticmethod
    def forward(ctx: Context, padded: np.ndarray, src: np.ndarray, pad: np.ndarray) -> Any:
        ctx.shape, ctx.src, ctx.pad = padded.shape, src, pad
        # the backward's padded gradient is a fresh array (``_scatter``), referenced nowhere
        # else: it may become the input's ``.grad`` without a copy (a copy of a padded batch
        # costs as much as the scatter, and its fresh pages faulted on every call)
        ctx.grads_owned = True
        return padded.reshape(-1, *padded.shape[2:])[src]

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, None, None]:
        shape = ctx.shape
        return _scatter(g, ctx.src, ctx.pad, shape, 0).reshape(shape), None, None


def _scatter(data: np.ndarray, dst: np.ndarray, pad: np.ndarray, shape: Any, fill: Any) -> Any:
    """(shape[0] * shape[1], *) rows: ``data`` at rows ``dst``, ``fill`` at rows ``pad`` (the
    rest), each row written once."""
    out = np.empty((shape[0] * shape[1], *shape[2:]), dtype=data.dtype)
    out[dst] = data
    out[pad] = fill
    return out


class _Unpack(Function):
    """Scatter packed rows into an (A, B, *) array filled with ``padding_value``: packed row
    r goes to row ``dst[r]`` of the array flattened to (A * B, *); rows ``pad`` are padding."""

    backward_name = "PadPackedSequenceBackward0"

    @staticmethod
    def forward(
        ctx: Context, data: np.ndarray, dst: np.ndarray, pad: np.ndarray, shape: Any, fill: Any
    ) -> np.ndarray:
        ctx.dst = dst
        return _scatter(data, dst, pad, shape, fill).reshape(shape)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, None, None, None, None]:
        return g.reshape(-1, *g.shape[2:])[ctx.dst], None, None, None, None
