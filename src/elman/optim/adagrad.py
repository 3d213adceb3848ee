"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import Tensor, no_grad
from . import _ops
from .optimizer import Optimizer, check_implementation

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""The Adagrad algorithm, as ``torch.optim.Adagrad``.

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t`:

    .. math::
        \begin{aligned}
        g_t &\leftarrow -g_t \ \text{if maximize};\quad
            g_t \leftarrow g_t + \lambda \theta_{t-1} \ \text{if } \lambda \ne 0 \\
        \tilde\gamma &\leftarrow \gamma / (1 + (t - 1) \eta), \quad
            s_t \leftarrow s_{t-1} + g_t^2 \\
        \theta_t &\leftarrow \theta_{t-1} - \tilde\gamma \, g_t / (\sqrt{s_t} + \epsilon)
        \end{aligned}

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma` (default: 1e-2).
        lr_decay: learning rate decay :math:`\eta` (default: 0).
        weight_decay: L2 penalty :math:`\lambda` (default: 0).
        initial_accumulator_value: initial value :math:`s_0` of the sums (default: 0).
            As in torch, the constructor's value is used for every group.
        eps: term :math:`\epsilon` added to the denominator (default: 1e-10).
        maximize: maximize the objective instead of minimizing (default: False).

    State per parameter, created for every parameter at construction: ``step`` and
    ``sum``.

    Example:
        >>> import elman
        >>> w = elman.nn.Parameter(elman.tensor([1.0, -2.0]))
        >>> opt = elman.optim.Adagrad([w], lr=0.1)
        >>> opt.zero_grad()
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
        }
        impl = check_implementation(foreach, False, differentiable, fused)
        defaults.update(foreach=impl["foreach"], maximize=maximize)
        defaults.update(differentiable=impl["differentiable"], fused=impl["fused"])
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, initial_accumulator_value)

    def _init_state(self, p: Tensor, initial_accumulator_value: float) -> dict[str, Any]:
        state = self.state[p]
        if len(state) == 0:
            state["step"] = self._new_step()
            state["sum"] = Tensor._wrap(np.full_like(p._data, initial_accumulator_value))
        return state

    def _after_load(self) -> None:
        super()._after_load()
        for group in self.param_groups:
            group.setdefault("maximize", False)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; return the closure's loss (or None).

        Args:
            closure: reevaluates the model and returns the loss (optional).
        """
        loss = self._run_closure(closure)
        with no_grad():
            for group in self.param_groups:
                for p in self._params_with_grad(group):
                    # torch takes a late parameter's initial sum from the defaults
                    state = self._init_state(p, self.defaults["initial_accumulator_value"])
                    state["step"]._data += 1
                    _adagrad_update(
                        p._data,
                        p.grad._data,  # type: ignore[union-attr]
                        state["sum"]._data,
                        step=state["step"]._data.item(),
                        lr=float(group["lr"]),
                        lr_decay=float(group["lr_decay"]),
                        weight_decay=float(group["weight_decay"]),
                        eps=float(group["eps"]),
                        maximize=bool(group["maximize"]),
                    )
        return loss


def _adagrad_update(
    param: np.ndarray,
    grad: np.ndarray,
    state_sum: np.ndarray,
    *,
    step: float,
    lr: float,
    lr_decay: float,
    weight_decay: float,
    eps: float,
    maximize: bool,
) -> None:
    """One Adagrad step of one parameter, in place; torch's single-tensor order."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = _ops.added(g, param, weight_decay)
    clr = lr / (1 + (step - 1) * lr_decay)
    _ops.addcmul_(state_sum, g, g, 1)
    std = np.sqrt(state_sum)
    std += _ops.scalar(std, eps)
    _ops.addcdiv_(param, g, std, -clr)
