"""The passes over parameters and gradients of a training step (the readable spec): one
Adam update of a flat parameter in torch's single-tensor order, and the sum of squares
behind ``clip_grad_norm_``'s 2-norm. Twin: :mod:`.param_update_compiled` (one loop each).

Every array is 1-D and C-contiguous (a parameter's flat view); float32 and float64 only.
torch rounds as follows, and so do both twins: each Python scalar is first cast to the
array's dtype; float32's ``addcmul`` and ``add(alpha=)`` end in one FMA (here: the
multiply-add in float64, rounded once to float32: the product of two float32 numbers is
exact in float64); ``lerp`` takes ``self + w * (end - self)`` for ``|w| < 0.5``, else
``end - (end - self) * (1 - w)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["adam_update", "sum_squares"]

# modes[1], the weight decay: none, decoupled (AdamW), L2 through the gradient (alpha != 1),
# L2 with alpha == 1 (a plain add, as torch's add without alpha)
DECAY_NONE, DECAY_DECOUPLED, DECAY_L2, DECAY_L2_ONE = 0, 1, 2, 3


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a * b + c, rounded once for float32 (through float64), twice for float64."""
    if a.dtype == np.float32:
        return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(
            np.float32
        )
    return a * b + c


def adam_update(param, grad, exp_avg, exp_avg_sq, coefs, modes):
    """One Adam step of one parameter, in place on ``param``, ``exp_avg``, ``exp_avg_sq``.

    g = -grad if maximize; decay; m = lerp(m, g, 1 - beta1); v = v * beta2 + (1 - beta2) g g;
    param += (-step_size * m) / (sqrt(v) / sqrt(1 - beta2^t) + eps).

    Args:
        param, grad, exp_avg, exp_avg_sq: (P,) C-contiguous, one float dtype
        coefs: (7,) float64: 1 - beta1, beta2, 1 - beta2, -lr / (1 - beta1^t),
            sqrt(1 - beta2^t), eps, and the decay's factor (1 - lr * wd when decoupled,
            else wd)
        modes: (3,) int64: maximize, the decay (DECAY_*), |1 - beta1| < 0.5 (lerp's formula)
    """
    t = param.dtype.type
    w1, beta2, c2, neg_step, bc2_sqrt, eps, wd = (t(c) for c in coefs)
    maximize, decay, small = modes
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        g = -grad if maximize else grad.copy()
        if decay == DECAY_DECOUPLED:
            param *= wd
        elif decay == DECAY_L2:
            g = _fma(param, np.full_like(param, wd), g)
        elif decay == DECAY_L2_ONE:
            g = g + param
        diff = g - exp_avg
        if small:
            exp_avg += diff * w1
        else:
            exp_avg[...] = g - diff * (t(1) - w1)
        exp_avg_sq *= beta2
        exp_avg_sq[...] = _fma(g * c2, g, exp_avg_sq)
        denom = np.sqrt(exp_avg_sq) / bc2_sqrt + eps
        param += exp_avg * neg_step / denom


def sum_squares(x: np.ndarray) -> float:
    """The sum of x's squares in float64 (x (P,) float32 or float64)."""
    x64 = x.astype(np.float64)
    return float(np.dot(x64, x64))
