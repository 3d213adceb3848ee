"""Embedding lookup: rows of a weight table picked by integer indices, as one graph node.

The backward scatter-adds each output row's gradient into the row it came from, in index
order (as torch's CPU kernel, so float32 sums of repeated indices round as torch's), skipping
``padding_idx``: a compiled loop (``_kernels.scatter_add_rows``), not ``np.add.at``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _kernels
from ..autograd import Tensor, no_grad
from ..autograd._checks import check_flag
from ..autograd.function import Context, Function
from ._checks import as_input

__all__ = ["embedding", "EmbeddingFunction", "check_padding_idx"]


class EmbeddingFunction(Function):
    backward_name = "EmbeddingBackward0"

    @staticmethod
    def forward(
        ctx: Context, weight: np.ndarray, indices: np.ndarray, padding_idx: int, scale: bool
    ) -> np.ndarray:
        ctx.shape, ctx.dtype = weight.shape, weight.dtype
        ctx.indices, ctx.padding_idx, ctx.scale = indices, padding_idx, scale
        return np.take(weight, indices, axis=0)  # (*, D)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None, None, None]:
        rows = ctx.indices.reshape(-1)  # (K,)
        g2 = g.reshape(rows.size, ctx.shape[1])  # (K, D)
        if ctx.scale:  # counts include padding rows, as torch's
            counts = np.bincount(rows, minlength=ctx.shape[0])
            g2 = g2 * (1.0 / counts[rows]).astype(ctx.dtype)[:, None]
        out = np.zeros(ctx.shape, dtype=ctx.dtype)
        _kernels.scatter_add_rows(out, rows, g2.astype(ctx.dtype, copy=False), ctx.padding_idx)
        return out, None, None, None


def check_padding_idx(padding_idx: int | None, num_embeddings: int) -> int | None:
    """``padding_idx`` in ``range(num_embeddings)`` (negative counts from the end), or None.

    Raises torch's AssertionError (explicitly, so it survives ``python -O``)."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, (bool, np.bool_)) or not isinstance(padding_idx, (int, np.integer)):
        # (torch's constructor compares it, and its forward refuses it: "must be int")
        raise TypeError(f"padding_idx must be int, not {type(padding_idx).__name__}")
    if not -num_embeddings <= padding_idx < max(num_embeddings, 1):
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx + num_embeddings if padding_idx < 0 else padding_idx


def check_indices(indices: Tensor, num_embeddings: int) -> np.ndarray:
    """The index array, after torch's dtype check and a range check naming the bad index."""
    idx = indices._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: int64, int32; but got {idx.dtype} instead (while checking arguments for "
            "embedding)"
        )
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= num_embeddings:
            bad = lo if lo < 0 else hi
            raise IndexError(
                f"index out of range in self: index {bad} is not in [0, {num_embeddings}) "
                f"(num_embeddings={num_embeddings})"
            )
    return idx.astype(np.intp, copy=False)


def embedding_renorm_(
    weight: Tensor, indices: np.ndarray, max_norm: float, norm_type: float = 2.0
) -> None:
    """Scale, in place, each row named in ``indices`` whose ``norm_type``-norm exceeds
    ``max_norm`` to norm ``max_norm`` (torch's ``embedding_renorm_``: by ``max_norm / (norm +
    1e-7)``)."""
    rows = np.unique(indices)
    w = weight._data
    if np.isnan(norm_type) and w.shape[1] == 1:  # torch's norm of one element is its |x|,
        norms = np.abs(w[rows, 0].astype(np.float64))  # also for p = nan (NumPy gives nan)
    else:
        norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)  # (R,)
    big = norms > max_norm
    scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
    with no_grad():
        w[rows[big]] *= scale[:, None]


def embedding(
    input: Any,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    r"""Look up rows of ``weight``: ``output[i...] = weight[input[i...]]``.

    Args:
        input: integer indices of any shape (\*), each in ``[0, num_embeddings)``.
        weight: the (num_embeddings, embedding_dim) table.
        padding_idx: an index whose row receives no gradient (the row itself is used as is).
        max_norm: rows named in ``input`` whose norm exceeds it are first rescaled, in place,
            to norm ``max_norm``.
        norm_type: the p of the p-norm for ``max_norm``. Default 2.
        scale_grad_by_freq: divide each row's gradient by how often its index occurs in
            ``input``.
        sparse: accepted for torch compatibility; gradients are always dense.

    Shapes: input (\*) -> output (\*, embedding_dim).

    Example:
        >>> import elman
        >>> import elman.nn.functional as F
        >>> w = elman.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
        >>> F.embedding(elman.tensor([[2, 1]]), w)
        tensor([[[3., 4.],
                 [1., 2.]]])
    """
    weight = as_input(weight, "embedding")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    num = weight.shape[0]
    pad = check_padding_idx(padding_idx, num)
    scale_grad_by_freq = check_flag("scale_grad_by_freq", scale_grad_by_freq, "embedding")
    sparse = check_flag("sparse", sparse, "embedding")
    idx = check_indices(as_input(input), num)
    if max_norm is not None:
        embedding_renorm_(weight, idx, max_norm, norm_type)
    return EmbeddingFunction.apply(  # type: ignore[no-any-return]
        weight, idx, -1 if pad is None else pad, bool(scale_grad_by_freq)
    )
