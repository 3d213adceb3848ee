"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _kernels
from .._kernels.param_update_ref import (
    DECAY_DECOUPLED,
    DECAY_L2,
    DECAY_L2_ONE,
    DECAY_NONE,
)
from ..autograd import Tensor, no_grad
from . import _ops
from .optimizer import Optimizer, check_implementation

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""The Adam algorithm, as ``torch.optim.Adam``.

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t`:

    .. math::
        \begin{aligned}
        g_t &\leftarrow -g_t \ \text{if maximize};\quad
            g_t \leftarrow g_t + \lambda \theta_{t-1} \ \text{if } \lambda \ne 0 \\
        m_t &\leftarrow \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
            v_t \leftarrow \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat v_t &\leftarrow \max(\hat v_{t-1}, v_t) \ \text{if amsgrad, else } v_t \\
        \theta_t &\leftarrow \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}
            \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}
        \end{aligned}

    With ``decoupled_weight_decay=True`` (which is :class:`AdamW`) the decay is applied to
    the parameter instead, :math:`\theta \leftarrow \theta (1 - \gamma \lambda)`, before
    the moments are updated.

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma` (default: 1e-3).
        betas: coefficients :math:`(\beta_1, \beta_2)` of the running averages of the
            gradient and its square (default: (0.9, 0.999)).
        eps: term :math:`\epsilon` added to the denominator (default: 1e-8).
        weight_decay: weight decay :math:`\lambda` (default: 0).
        amsgrad: use the AMSGrad variant (default: False).
        maximize: maximize the objective instead of minimizing (default: False).
        decoupled_weight_decay: decay the parameter directly, as AdamW (default: False).

    State per parameter: ``step`` (a 0-d float32 Tensor), ``exp_avg``, ``exp_avg_sq`` and,
    with amsgrad, ``max_exp_avg_sq``.

    Example:
        >>> import elman
        >>> w = elman.nn.Parameter(elman.tensor([1.0, -2.0]))
        >>> opt = elman.optim.Adam([w], lr=0.1)
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
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not (isinstance(betas[0], float) and isinstance(betas[1], float)):
            raise ValueError("betas must be either both floats or both Tensors")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            **check_implementation(foreach, capturable, differentiable, fused),
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _after_load(self) -> None:
        super()._after_load()
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("decoupled_weight_decay", False)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = self.state[p]
        if len(state) == 0:
            state["step"] = self._new_step()
            state["exp_avg"] = Tensor._wrap(np.zeros_like(p._data))
            state["exp_avg_sq"] = Tensor._wrap(np.zeros_like(p._data))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = Tensor._wrap(np.zeros_like(p._data))
        return state

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; return the closure's loss (or None).

        Args:
            closure: reevaluates the model and returns the loss (optional).
        """
        loss = self._run_closure(closure)
        with no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                passes: dict[float, tuple[np.ndarray, np.ndarray]] = {}  # by step
                one_pass = _kernels.JIT and not group["amsgrad"]
                for p in self._params_with_grad(group):
                    state = self._init_state(p, group)
                    count = state["step"]._data
                    count += 1
                    if one_pass and _adam_flat(p, state, group, passes, count):
                        continue
                    max_sq = state["max_exp_avg_sq"]._data if group["amsgrad"] else None
                    _adam_update(
                        p._data,
                        p.grad._data,  # type: ignore[union-attr]
                        state["exp_avg"]._data,
                        state["exp_avg_sq"]._data,
                        max_sq,
                        step=state["step"]._data.item(),
                        lr=float(group["lr"]),
                        beta1=float(beta1),
                        beta2=float(beta2),
                        eps=float(group["eps"]),
                        weight_decay=float(group["weight_decay"]),
                        maximize=bool(group["maximize"]),
                        decoupled=bool(group["decoupled_weight_decay"]),
                    )
        return loss


class AdamW(Adam):
    r"""Adam with decoupled weight decay (the AdamW algorithm), as ``torch.optim.AdamW``.

    Same update as :class:`Adam`, except that weight decay shrinks the parameter directly,
    :math:`\theta_t \leftarrow \theta_{t-1} (1 - \gamma \lambda)`, instead of adding
    :math:`\lambda \theta` to the gradient, so it does not enter the moments.

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma` (default: 1e-3).
        betas: coefficients of the running averages (default: (0.9, 0.999)).
        eps: term added to the denominator (default: 1e-8).
        weight_decay: decoupled weight decay :math:`\lambda` (default: 1e-2).
        amsgrad: use the AMSGrad variant (default: False).
        maximize: maximize the objective instead of minimizing (default: False).

    Example:
        >>> import elman
        >>> w = elman.nn.Parameter(elman.tensor([1.0, -2.0]))
        >>> opt = elman.optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> opt.zero_grad()
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([ 0.8500, -1.8000], requires_grad=True)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def _after_load(self) -> None:
        super()._after_load()
        for group in self.param_groups:  # a loaded AdamW always decouples, as in torch
            group["decoupled_weight_decay"] = True


def _adam_update(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    max_exp_avg_sq: np.ndarray | None,
    *,
    step: float,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
    decoupled: bool,
) -> None:
    """One Adam step of one parameter, in place; torch's single-tensor order.
    ``max_exp_avg_sq`` is given with amsgrad, else None."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled:
            param *= _ops.scalar(param, 1 - lr * weight_decay)
        else:
            g = _ops.added(g, param, weight_decay)
    _ops.lerp_(exp_avg, g, 1 - beta1)
    exp_avg_sq *= _ops.scalar(exp_avg_sq, beta2)
    _ops.addcmul_(exp_avg_sq, g, g, 1 - beta2)

    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2**0.5
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    denom = np.sqrt(second)
    denom /= _ops.scalar(denom, bias_correction2_sqrt)
    denom += _ops.scalar(denom, eps)
    _ops.addcdiv_(param, exp_avg, denom, -step_size)


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _adam_flat(
    p: Tensor,
    state: dict[str, Any],
    group: dict[str, Any],
    passes: dict[float, Any],
    count: np.ndarray,
) -> bool:
    """:func:`_adam_update` (without amsgrad) in one compiled pass over the elements, the
    same arithmetic in the same order (:func:`elman._kernels.adam_update`), when it applies:
    float32 or float64, every array C-contiguous (flat views without copies); returns
    whether it did. ``passes`` keeps the coefficients of each step count met in this
    group's step; ``count`` is the parameter's step counter, already advanced."""
    a, g = p._data, p.grad._data  # type: ignore[union-attr]
    m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
    dt = a.dtype
    if (
        dt not in _FLOATS
        or not g.dtype == m.dtype == v.dtype == dt
        or not (
            a.flags.c_contiguous
            and g.flags.c_contiguous
            and m.flags.c_contiguous
            and v.flags.c_contiguous
        )
    ):
        return False
    step = count.item()
    coefs = passes.get(step)
    if coefs is None:
        coefs = passes[step] = _coefficients(group, step, dt.type)
    _kernels.adam_update(a.ravel(), g.ravel(), m.ravel(), v.ravel(), *coefs)
    return True


def _coefficients(group: dict[str, Any], step: float, dt: Any) -> tuple[np.ndarray, np.ndarray]:
    """The scalars of :func:`elman._kernels.adam_update` for ``group`` at ``step``, as
    :func:`_adam_update` computes them (in float64; cast to ``dt`` in the kernel)."""
    beta1, beta2 = (float(b) for b in group["betas"])
    lr, wd = float(group["lr"]), float(group["weight_decay"])
    decay = DECAY_NONE
    if wd != 0:
        if group["decoupled_weight_decay"]:
            decay, wd = DECAY_DECOUPLED, 1 - lr * wd
        else:
            decay = DECAY_L2_ONE if wd == 1 else DECAY_L2
    w1 = 1 - beta1
    coefs = [w1, beta2, 1 - beta2, -(lr / (1 - beta1**step))]
    coefs += [(1 - beta2**step) ** 0.5, float(group["eps"]), wd]
    modes = [int(bool(group["maximize"])), decay, int(abs(dt(w1)) < 0.5)]
    return np.array(coefs, dtype=np.float64), np.array(modes, dtype=np.int64)
