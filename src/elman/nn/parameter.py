"""Parameter: a leaf Tensor that a Module registers as learnable."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor


class Parameter(Tensor):
    """A Tensor that is a module parameter: assigning it to a Module attribute registers it.

    Args:
        data: the initial values (ndarray, Tensor or anything ``np.asarray`` takes).
        requires_grad: whether it receives gradients (default True).

    Example:
        >>> import elman
        >>> p = elman.nn.Parameter(elman.zeros(2))
        >>> p.requires_grad
        True
    """

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=np.float32)
        arr = data._data if isinstance(data, Tensor) else np.asarray(data)
        self._init(arr, requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        p = Parameter(np.array(self._data, copy=True), self.requires_grad)
        if self.grad is not None:
            p.grad = Tensor._wrap(np.array(self.grad._data, copy=True))
        memo[id(self)] = p
        return p
