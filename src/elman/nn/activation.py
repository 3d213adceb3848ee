"""Activation and normalisation modules: ``ReLU``, ``Tanh``, ``Sigmoid``, ``Softmax``,
``LogSoftmax``; each calls its functional form (see :mod:`elman.nn.functional`)."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from . import functional_activation as FA
from .module import Module

__all__ = ["ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax"]


class ReLU(Module):
    """:math:`\\max(x, 0)` elementwise (NaN stays NaN). ``inplace`` is accepted and ignored.

    Example:
        >>> import elman
        >>> elman.nn.ReLU()(elman.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return input.relu()

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Tanh(Module):
    """:math:`\\tanh(x)` elementwise."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return input.tanh()


class Sigmoid(Module):
    """:math:`1 / (1 + e^{-x})` elementwise."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return input.sigmoid()


class _DimModule(Module):
    fn: Any = None

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        # stacklevel 5: the implicit-dim warning points at the caller of the module
        return type(self).fn(input, self.dim, _stacklevel=5)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_DimModule):
    """:func:`~elman.nn.functional.softmax` along ``dim`` (None: torch's implicit dim, warned).

    Example:
        >>> import elman
        >>> elman.nn.Softmax(dim=0)(elman.tensor([0.0, 0.0]))
        tensor([0.5000, 0.5000])
    """

    fn = staticmethod(FA.softmax)


class LogSoftmax(_DimModule):
    """:func:`~elman.nn.functional.log_softmax` along ``dim`` (None: torch's implicit dim,
    warned)."""

    fn = staticmethod(FA.log_softmax)
