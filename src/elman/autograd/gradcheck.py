"""Finite-difference check of analytical gradients, in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .grad_mode import enable_grad
from .tensor import Tensor

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Raised when analytical and numerical gradients disagree."""


def _outputs(fn: Callable[..., Any], inputs: Sequence[Tensor]) -> list[Tensor]:
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, Tensor)]


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Compare the gradients of ``fn`` at ``inputs`` with central finite differences.

    ``fn`` returns a Tensor or a tuple of Tensors. Each output is contracted with a fixed
    random cotangent (from ``numpy.random.default_rng(seed)``, never the global generator),
    so one backward checks every output at once. Inputs that require grad must be float64.

    Returns True, or raises :class:`GradcheckError` naming the input and the worst element.

    Example:
        >>> import elman
        >>> x = elman.tensor([0.3, -0.2], dtype=elman.float64, requires_grad=True)
        >>> elman.autograd.gradcheck(lambda t: (t * t).tanh(), [x])
        True
    """
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
            return float(sum(np.sum(v._data * c) for v, c in zip(vals, cots)))

        for t in check:
            t.grad = None
        from .engine import run_backward

        diff = [(o, c) for o, c in zip(outs, cots) if o.requires_grad]
        if diff:
            run_backward([o for o, _ in diff], [c for _, c in diff])
    for k, t in enumerate(check):
        analytical = np.zeros(t.shape) if t.grad is None else t.grad._data
        numerical = np.zeros(t.shape)
        flat = t._data.reshape(-1)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            plus = scalar()
            flat[i] = orig - eps
            minus = scalar()
            flat[i] = orig
            numerical.reshape(-1)[i] = (plus - minus) / (2 * eps)
        bad = np.abs(analytical - numerical) > atol + rtol * np.abs(numerical)
        if bad.any():
            if not raise_exception:
                return False
            j = int(np.argmax(np.abs(analytical - numerical)))
            raise GradcheckError(
                f"Jacobian mismatch for input {k} of shape {tuple(t.shape)} at flat index {j}: "
                f"analytical {analytical.reshape(-1)[j]!r} vs numerical {numerical.reshape(-1)[j]!r}"
            )
    return True
