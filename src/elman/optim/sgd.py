"""SGD: stochastic gradient descent with optional momentum, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import Tensor, no_grad
from . import _ops
from .optimizer import Optimizer, check_implementation

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    For each parameter :math:`\theta` with gradient :math:`g_t`:

    .. math::
        \begin{aligned}
        g_t &\leftarrow -g_t \ \text{if maximize};\quad
            g_t \leftarrow g_t + \lambda \theta_{t-1} \ \text{if } \lambda \ne 0 \\
        b_t &\leftarrow g_t \ (t = 1), \quad
            b_t \leftarrow \mu b_{t-1} + (1 - \tau) g_t \ (t > 1) \quad
            \text{if } \mu \ne 0 \\
        g_t &\leftarrow g_t + \mu b_t \ \text{if nesterov, else } g_t \leftarrow b_t \\
        \theta_t &\leftarrow \theta_{t-1} - \gamma g_t
        \end{aligned}

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma` (default: 1e-3).
        momentum: momentum factor :math:`\mu` (default: 0).
        dampening: dampening for momentum :math:`\tau` (default: 0).
        weight_decay: L2 penalty :math:`\lambda` (default: 0).
        nesterov: use Nesterov momentum (default: False); needs ``momentum > 0`` and
            ``dampening = 0``.
        maximize: maximize the objective instead of minimizing (default: False).

    State per parameter: ``momentum_buffer`` (when momentum is not 0).

    Example:
        >>> import elman
        >>> w = elman.nn.Parameter(elman.tensor([1.0, -2.0]))
        >>> opt = elman.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> opt.zero_grad()
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([ 0.8000, -1.6000], requires_grad=True)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        impl = check_implementation(foreach, False, differentiable, fused)
        defaults.update((k, impl[k]) for k in ("foreach", "differentiable", "fused"))
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _after_load(self) -> None:
        super()._after_load()
        for group in self.param_groups:
            group.setdefault("nesterov", False)
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
                    state = self.state[p] if group["momentum"] != 0 else {}
                    buf = state.get("momentum_buffer")
                    new_buf = _sgd_update(
                        p._data,
                        p.grad._data,  # type: ignore[union-attr]
                        None if buf is None else buf._data,
                        lr=float(group["lr"]),
                        momentum=float(group["momentum"]),
                        dampening=float(group["dampening"]),
                        weight_decay=float(group["weight_decay"]),
                        nesterov=bool(group["nesterov"]),
                        maximize=bool(group["maximize"]),
                    )
                    if new_buf is not None and buf is None:
                        state["momentum_buffer"] = Tensor._wrap(new_buf)
        return loss


def _sgd_update(
    param: np.ndarray,
    grad: np.ndarray,
    buf: np.ndarray | None,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> np.ndarray | None:
    """One SGD step of one parameter, in place on ``param`` (and ``buf``); torch's
    single-tensor order. Returns the momentum buffer (new on the first step; None
    without momentum)."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = _ops.added(g, param, weight_decay)
    if momentum != 0:
        if buf is None:
            buf = np.array(g, copy=True)
        else:
            buf *= _ops.scalar(buf, momentum)
            _ops.add_(buf, g, 1 - dampening)
        g = _ops.added(g, buf, momentum) if nesterov else buf
    _ops.add_(param, g, -lr)
    return buf
