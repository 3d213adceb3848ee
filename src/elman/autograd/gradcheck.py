"""Finite-difference check of analytical gradients, in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .grad_mode import enable_grad
from .tensor import Tensor

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised when analytical and numerical gradients disagree (a RuntimeError, as torch's)."""


def _outputs(fn: Callable[..., Any], inputs: Sequence[Tensor]) -> list[Tensor]:
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, Tensor)]


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Tensor] | Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Compare the gradients of ``fn`` at ``inputs`` with central finite differences.

    ``fn`` returns a Tensor or a tuple of Tensors. Each output is contracted with a fixed
    random cotangent (from ``numpy.random.default_rng(seed)``, never the global generator),
    so one backward checks every output at once. Inputs that require grad must be float64;
    ``inputs`` may be a lone Tensor. Their ``.grad`` is left as it was.

    Returns True, or raises :class:`GradcheckError` naming the input and the worst element.

    Example:
        >>> import elman
        >>> x = elman.tensor([0.3, -0.2], dtype=elman.float64, requires_grad=True)
        >>> elman.autograd.gradcheck(lambda t: (t * t).tanh(), [x])
        True
    """
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    check = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    for t in check:
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 inputs, got {t.dtype}")
    rng = np.random.default_rng(seed)
    with enable_grad():
        outs = _outputs(fn, inputs)
        cots = [rng.standard_normal(o.shape) for o in outs]

        def scalar() -> float:
            vals = _outputs(fn, inputs)
            return float(sum(np.sum(v._data * c) for v, c in zip(vals, cots, strict=True)))

        saved_grads = [t.grad for t in check]
        for t in check:
            t.grad = None
        from .engine import run_backward

        diff = [(o, c) for o, c in zip(outs, cots, strict=True) if o.requires_grad]
        if diff:
            run_backward([o for o, _ in diff], [c for _, c in diff])
        analyticals = [np.zeros(t.shape) if t.grad is None else t.grad._data for t in check]
        for t, g in zip(check, saved_grads, strict=True):
            t.grad = g
    for k, (t, analytical) in enumerate(zip(check, analyticals, strict=True)):
        numerical = np.zeros(t.shape)
        for i in range(t._data.size):
            # perturb in place through an index, which works for non-contiguous data too
            at = np.unravel_index(i, t._data.shape)
            orig = t._data[at]
            t._data[at] = orig + eps
            plus = scalar()
            t._data[at] = orig - eps
            minus = scalar()
            t._data[at] = orig
            numerical[at] = (plus - minus) / (2 * eps)
        bad = np.abs(analytical - numerical) > atol + rtol * np.abs(numerical)
        if bad.any():
            if not raise_exception:
                return False
            j = int(np.argmax(np.abs(analytical - numerical)))
            a, n = analytical.reshape(-1)[j], numerical.reshape(-1)[j]
            raise GradcheckError(
                f"Jacobian mismatch for input {k} of shape {tuple(t.shape)} at flat index {j}: "
                f"analytical {a!r} vs numerical {n!r}"
            )
    return True
