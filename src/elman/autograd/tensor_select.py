"""The selecting tensor methods of torch scripts: ``clamp``, ``flip``, ``diag``, ``topk``,
``sort``, ``argsort``, ``min`` / ``argmin``, ``norm``, ``round``, ``masked_fill``.

Gradients flow through the values (clamp, flip, diag, the values of topk / sort / min, norm,
masked_fill); indices never require grad. Mixed into Tensor through ``TensorCompat``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, cast

import numpy as np

from . import compat_ops
from ._operands import wrap_dim

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["TensorSelect", "ValuesIndices"]


class ValuesIndices(NamedTuple):
    """``(values, indices)``, as torch's ``return_types.topk`` / ``sort`` / ``min``."""

    values: Tensor
    indices: Tensor


def _dims(dims: Any) -> tuple[int, ...]:
    if isinstance(dims, (int, np.integer)):
        return (int(dims),)
    return tuple(int(d) for d in dims)


class TensorSelect:
    """See the module docstring."""

    _data: np.ndarray

    def _t(self) -> Tensor:
        return cast("Tensor", self)

    def flip(self, *dims: Any) -> Tensor:
        flat = dims[0] if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)) else dims
        nd = max(self._data.ndim, 1)
        return compat_ops.Flip.apply(self, tuple(wrap_dim(d, nd) for d in _dims(flat)))

    def diag(self, diagonal: int = 0) -> Tensor:
        return compat_ops.Diag.apply(self, int(diagonal))

    # ---- clamp, sort, selection ----

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 (torch's)
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        lo = min._data if hasattr(min, "_data") else min
        hi = max._data if hasattr(max, "_data") else max
        return compat_ops.Clamp.apply(self, lo, hi)

    clip = clamp

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
        from .tensor import Tensor

        idx = compat_ops.sort_indices(self._data, dim, descending)
        axis = wrap_dim(dim, max(self._data.ndim, 1))
        values = compat_ops.TakeAlong.apply(self._t().reshape(idx.shape), idx, axis)
        shape = self._data.shape
        return ValuesIndices(
            values.reshape(shape), Tensor._wrap(idx.astype(np.int64).reshape(shape))
        )

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        return self.sort(dim, descending).indices

    def topk(
        self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
    ) -> ValuesIndices:  # noqa: A002,E501
        from .tensor import Tensor

        axis = wrap_dim(dim, max(self._data.ndim, 1))
        size = self._data.shape[axis] if self._data.ndim else 1
        if not 0 <= k <= size:
            raise RuntimeError("selected index k out of range")
        idx = compat_ops.sort_indices(self._data, axis, largest)
        idx = np.take(idx, np.arange(k), axis=axis)
        src = self._t() if self._data.ndim else self._t().reshape(1)
        values = compat_ops.TakeAlong.apply(src, idx, axis)
        return ValuesIndices(values, Tensor._wrap(idx.astype(np.int64)))

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        t = self._t()
        if dim is not None and not isinstance(dim, (int, np.integer)):  # min(other)
            return -((-t).max(-dim))
        if dim is None:
            return -((-t).max())
        values, indices = (-t).max(dim, keepdim)
        return ValuesIndices(-values, indices)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        from .tensor import Tensor

        if dim is None:
            return Tensor._wrap(np.asarray(np.argmin(self._data)))
        return Tensor._wrap(np.argmin(self._data, axis=dim, keepdims=keepdim))

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
        if p not in ("fro", 2, 2.0):
            raise NotImplementedError(f"elman's norm supports p=2 ('fro') only, got p={p!r}")
        t = self._t()
        return (t * t).sum(dim, keepdim).sqrt()

    def round(self, decimals: int = 0) -> Tensor:
        return compat_ops.Round.apply(self, int(decimals))

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        from .tensor import Tensor

        return compat_ops.Where.apply(
            Tensor._wrap(np.asarray(mask._data, bool)),
            Tensor._wrap(np.asarray(value, self._data.dtype)),
            self,
        )  # noqa: E501
