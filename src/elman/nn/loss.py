"""Loss modules: thin wrappers that hold a loss's options and call its functional form."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from . import functional as F
from .functional_loss import legacy_reduction
from .module import Module

__all__ = ["MSELoss", "L1Loss", "CrossEntropyLoss"]


class _Loss(Module):
    """Base of the losses: stores ``reduction`` (validated when called, as in torch)."""

    def __init__(
        self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = legacy_reduction(size_average, reduce)
        self.reduction = reduction


class MSELoss(_Loss):
    r"""Mean squared error between input :math:`x` and target :math:`y`.

    .. math:: \ell(x, y) = \operatorname{reduce}\big((x_n - y_n)^2\big)

    where ``reduce`` is the mean over all elements (``'mean'``, default), the sum (``'sum'``)
    or nothing (``'none'``). See :func:`elman.nn.functional.mse_loss`.

    Args:
        size_average, reduce: deprecated torch flags; use ``reduction``.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Shapes: input (\*), target (\*) -> output () or (\*) for ``'none'``.

    Example:
        >>> import elman
        >>> loss = elman.nn.MSELoss()
        >>> loss(elman.tensor([1.0, 2.0]), elman.tensor([0.0, 4.0]))
        tensor(2.5000)
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    r"""Mean absolute error between input :math:`x` and target :math:`y`.

    .. math:: \ell(x, y) = \operatorname{reduce}\big(|x_n - y_n|\big)

    Args and shapes as :class:`MSELoss`; see :func:`elman.nn.functional.l1_loss`.

    Example:
        >>> import elman
        >>> loss = elman.nn.L1Loss(reduction="sum")
        >>> loss(elman.tensor([1.0, 2.0]), elman.tensor([0.0, 4.0]))
        tensor(3.)
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    r"""Cross-entropy between logits and class-index (or class-probability) targets.

    .. math:: \ell_n = -w_{y_n} \log \frac{\exp(x_{n,y_n})}{\sum_{c=1}^{C} \exp(x_{n,c})}

    zero where :math:`y_n` is ``ignore_index``; ``'mean'`` divides the sum by the total
    weight :math:`\sum_n w_{y_n}` of the non-ignored targets. See
    :func:`elman.nn.functional.cross_entropy` for label smoothing and probability targets.

    Args:
        weight: optional per-class weights (C); stored as the buffer ``weight``.
        size_average, reduce: deprecated torch flags; use ``reduction``.
        ignore_index: a target value that is ignored. Default -100.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        label_smoothing: in [0, 1]. Default 0.

    Shapes: input (N, C), (C) or (N, C, d1, ..., dK); target (N), () or (N, d1, ..., dK)
    of integers in [0, C), or probabilities of the input's shape; output () or, for
    ``'none'``, the target's shape.

    Example:
        >>> import elman
        >>> loss = elman.nn.CrossEntropyLoss()
        >>> logits = elman.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
        >>> loss(logits, elman.tensor([0, 2]))
        tensor(0.1755)
    """

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )
