"""``NLLLoss`` and ``BCEWithLogitsLoss``: options held, the functional form called."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from .functional_nll import binary_cross_entropy_with_logits, nll_loss
from .loss import _Loss

__all__ = ["NLLLoss", "BCEWithLogitsLoss"]


class NLLLoss(_Loss):
    """Negative log-likelihood of class indices given log-probabilities; see
    :func:`elman.nn.functional.nll_loss`. ``weight`` (C) is stored as a buffer.

    Example:
        >>> import elman
        >>> elman.nn.NLLLoss()(elman.tensor([[-0.5, -1.0]]), elman.tensor([1]))
        tensor(1.)
    """

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits; see
    :func:`elman.nn.functional.binary_cross_entropy_with_logits`."""

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        pos_weight: Any = None,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )
