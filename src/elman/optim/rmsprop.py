"""RMSprop: divide the gradient by a running root mean square of its recent magnitudes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import Tensor, no_grad
from . import _ops
from .optimizer import Optimizer, check_implementation

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""The RMSprop algorithm, as ``torch.optim.RMSprop``.

    For each parameter :math:`\theta` with gradient :math:`g_t`:

    .. math::
        \begin{aligned}
        g_t &\leftarrow -g_t \ \text{if maximize};\quad
            g_t \leftarrow g_t + \lambda \theta_{t-1} \ \text{if } \lambda \ne 0 \\
        v_t &\leftarrow \alpha v_{t-1} + (1 - \alpha) g_t^2 \\
        \bar g_t &\leftarrow \alpha \bar g_{t-1} + (1 - \alpha) g_t, \quad
            \tilde v_t \leftarrow v_t - \bar g_t^2 \ \text{if centered, else } v_t \\
        b_t &\leftarrow \mu b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon), \quad
            \theta_t \leftarrow \theta_{t-1} - \gamma b_t \ \text{if } \mu > 0 \\
        \theta_t &\leftarrow \theta_{t-1} - \gamma g_t / (\sqrt{\tilde v_t} + \epsilon)
            \ \text{otherwise}
        \end{aligned}

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma` (default: 1e-2).
        alpha: smoothing constant :math:`\alpha` (default: 0.99).
        eps: term :math:`\epsilon` added to the denominator (default: 1e-8).
        weight_decay: L2 penalty :math:`\lambda` (default: 0).
        momentum: momentum factor :math:`\mu` (default: 0).
        centered: normalize by an estimate of the gradient's variance (default: False).
        maximize: maximize the objective instead of minimizing (default: False).

    State per parameter: ``step``, ``square_avg``, and ``momentum_buffer`` (momentum > 0)
    and ``grad_avg`` (centered).

    Example:
        >>> import elman
        >>> w = elman.nn.Parameter(elman.tensor([1.0, -2.0]))
        >>> opt = elman.optim.RMSprop([w], lr=0.01)
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
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
        }
        impl = check_implementation(foreach, capturable, differentiable)
        defaults.update(capturable=impl["capturable"], foreach=impl["foreach"])
        defaults.update(maximize=maximize, differentiable=impl["differentiable"])
        super().__init__(params, defaults)

    def _after_load(self) -> None:
        super()._after_load()
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
            group.setdefault("maximize", False)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = self.state[p]
        if len(state) == 0:
            state["step"] = self._new_step()
            state["square_avg"] = Tensor._wrap(np.zeros_like(p._data))
            if group["momentum"] > 0:
                state["momentum_buffer"] = Tensor._wrap(np.zeros_like(p._data))
            if group["centered"]:
                state["grad_avg"] = Tensor._wrap(np.zeros_like(p._data))
        return state

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; return the closure's loss (or None).

        Args:
            closure: reevaluates the model and returns the loss (optional).
        """
        loss = self._run_closure(closure)
        with no_grad():
            for group in self.param_groups:
                for p in self._params_with_grad(group):
                    state = self._init_state(p, group)
                    state["step"]._data += 1
                    buf = state["momentum_buffer"]._data if group["momentum"] > 0 else None
                    grad_avg = state["grad_avg"]._data if group["centered"] else None
                    _rmsprop_update(
                        p._data,
                        p.grad._data,  # type: ignore[union-attr]
                        state["square_avg"]._data,
                        grad_avg,
                        buf,
                        lr=float(group["lr"]),
                        alpha=float(group["alpha"]),
                        eps=float(group["eps"]),
                        weight_decay=float(group["weight_decay"]),
                        momentum=float(group["momentum"]),
                        maximize=bool(group["maximize"]),
                    )
        return loss


def _rmsprop_update(
    param: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    grad_avg: np.ndarray | None,
    buf: np.ndarray | None,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    maximize: bool,
) -> None:
    """One RMSprop step of one parameter, in place; torch's single-tensor order.
    ``grad_avg`` is given when centered, ``buf`` when momentum > 0; else None."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = _ops.added(g, param, weight_decay)
    square_avg *= _ops.scalar(square_avg, alpha)
    _ops.addcmul_(square_avg, g, g, 1 - alpha)
    if grad_avg is not None:
        _ops.lerp_(grad_avg, g, 1 - alpha)
        avg = np.array(square_avg, copy=True)
        _ops.addcmul_(avg, grad_avg, grad_avg, -1)
        np.sqrt(avg, out=avg)
    else:
        avg = np.sqrt(square_avg)
    avg += _ops.scalar(avg, eps)
    if buf is not None:
        buf *= _ops.scalar(buf, momentum)
        _ops.addcdiv_(buf, g, avg, 1)
        _ops.add_(param, buf, -lr)
    else:
        _ops.addcdiv_(param, g, avg, -lr)
