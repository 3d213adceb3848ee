"""Adadelta: per-parameter step sizes from running averages of squared gradients and
squared updates (Zeiler, 2012), as ``torch.optim.Adadelta``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import Tensor, no_grad
from . import _ops
from .optimizer import Optimizer, check_implementation

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta, torch's single-tensor update. For each parameter with gradient :math:`g_t`:

    .. math::
        \begin{aligned}
        v_t &= \rho v_{t-1} + (1 - \rho) g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\
        u_t &= \rho u_{t-1} + (1 - \rho) \Delta_t^2 \\
        \theta_t &= \theta_{t-1} - \gamma \Delta_t
        \end{aligned}

    with :math:`g_t \leftarrow g_t + \lambda\theta_{t-1}` first when ``weight_decay`` is not 0.

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: :math:`\gamma` scaling the update (default: 1.0).
        rho: :math:`\rho`, the averages' decay (default: 0.9).
        eps: :math:`\epsilon` (default: 1e-6).
        weight_decay: L2 penalty :math:`\lambda` (default: 0).
        maximize: maximize the objective instead (default: False).

    State per parameter: ``step``, ``square_avg`` (:math:`v`), ``acc_delta`` (:math:`u`).

    Example:
        >>> import elman
        >>> w = elman.nn.Parameter(elman.tensor([1.0, -2.0]))
        >>> opt = elman.optim.Adadelta([w])
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([ 0.9968, -1.9968], requires_grad=True)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults: dict[str, Any] = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay}
        impl = check_implementation(foreach, False, differentiable, None)
        defaults.update(foreach=impl["foreach"], maximize=maximize, capturable=capturable)
        defaults.update(differentiable=impl["differentiable"])
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; return the closure's loss (or None)."""
        loss = self._run_closure(closure)
        with no_grad():
            for group in self.param_groups:
                for p in self._params_with_grad(group):
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = self._new_step()
                        state["square_avg"] = Tensor._wrap(np.zeros_like(p._data))
                        state["acc_delta"] = Tensor._wrap(np.zeros_like(p._data))
                    state["step"]._data += 1
                    _adadelta_update(
                        p._data,
                        p.grad._data,  # type: ignore[union-attr]
                        state["square_avg"]._data,
                        state["acc_delta"]._data,
                        lr=float(group["lr"]),
                        rho=float(group["rho"]),
                        eps=float(group["eps"]),
                        weight_decay=float(group["weight_decay"]),
                        maximize=bool(group["maximize"]),
                    )
        return loss


def _adadelta_update(
    param: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    acc_delta: np.ndarray,
    *,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One Adadelta step of one parameter, in place; torch's single-tensor order."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = _ops.added(g, param, weight_decay)
    np.multiply(square_avg, _ops.scalar(square_avg, rho), out=square_avg)
    _ops.addcmul_(square_avg, g, g, 1 - rho)
    std = np.sqrt(square_avg + _ops.scalar(square_avg, eps))
    delta = np.sqrt(acc_delta + _ops.scalar(acc_delta, eps))
    delta /= std
    delta *= g
    np.multiply(acc_delta, _ops.scalar(acc_delta, rho), out=acc_delta)
    _ops.addcmul_(acc_delta, delta, delta, 1 - rho)
    _ops.add_(param, delta, -lr)
