"""In-place initialisers drawing from the global generator (or ``generator=``), as torch's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import Tensor, no_grad
from ..autograd._checks import check_scalar

__all__ = [
    "uniform_",
    "normal_",
    "zeros_",
    "ones_",
    "constant_",
    "eye_",
    "orthogonal_",
    "calculate_gain",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]


def _gen(generator: Any) -> Any:
    from ..random import default_generator

    return default_generator if generator is None else generator


def _check_numbers(where: str, **values: Any) -> None:
    """Bounds and moments are real numbers (torch: "argument 'mean' must be float")."""
    for name, v in values.items():
        if not isinstance(v, (int, float, np.integer, np.floating, np.bool_)):
            raise TypeError(
                f"{where}(): argument '{name.rstrip('_')}' must be float, not {type(v).__name__}"
            )


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    with no_grad():
        tensor._data[...] = values
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill ``tensor`` with U(a, b) samples, bit-identical to torch for the same seed."""
    _check_numbers("uniform_", from_=a, to=b)
    vals = _gen(generator).uniform(tensor.shape, a, b, dtype=tensor.dtype)
    return _fill(tensor, vals)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill ``tensor`` with N(mean, std²) samples."""
    _check_numbers("normal_", mean=mean, std=std)
    vals = _gen(generator).normal(tensor.shape, mean, std, dtype=tensor.dtype)
    return _fill(tensor, vals)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, np.zeros((), tensor.dtype))


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, np.ones((), tensor.dtype))


def constant_(tensor: Tensor, val: float) -> Tensor:
    check_scalar("value", val, tensor.dtype, "fill_")
    return _fill(tensor, np.asarray(val, tensor.dtype))


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (torch's table)."""
    linear = ["linear", "conv1d", "conv2d", "conv3d", "sigmoid"]
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, float) or isinstance(param, int) and not isinstance(param, bool):
            slope = param
        else:  # torch's rule: NumPy integers and bools are refused too
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _correct_fan(tensor: Tensor, mode: str) -> int:
    if not isinstance(mode, str):
        raise TypeError(f"mode must be 'fan_in' or 'fan_out', got {type(mode).__name__}")
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    r"""He-uniform init: :math:`\mathcal{U}(-b, b)`, :math:`b = \text{gain}
    \sqrt{3 / \text{fan}}`, with torch's exact bound arithmetic (bit-identical results).

    Args:
        tensor: an n-dimensional tensor (n >= 2).
        a: the negative slope of the leaky ReLU after this layer (for the gain).
        mode: ``'fan_in'`` (default) keeps the forward variance, ``'fan_out'`` the backward.
        nonlinearity: the nonlinearity's name for :func:`calculate_gain`.
        generator: the random generator (default: the global one).

    A tensor with a zero-size dim is left as is (torch also warns; elman does not, so that
    layers with zero features build silently).

    Example:
        >>> import elman
        >>> w = elman.nn.init.kaiming_uniform_(elman.zeros(3, 5), nonlinearity="relu")
        >>> bool(w.abs().max() <= (2 ** 0.5) * (3 / 5) ** 0.5)
        True
    """
    if 0 in tensor.shape:
        return tensor
    fan = _correct_fan(tensor, mode)  # (before the gain, as torch)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator=generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    r"""He-normal init: :math:`\mathcal{N}(0, \text{std}^2)`, :math:`\text{std} =
    \text{gain} / \sqrt{\text{fan}}`; bit-identical to torch for the same seed.

    Args as :func:`kaiming_uniform_`.

    Example:
        >>> import elman
        >>> w = elman.nn.init.kaiming_normal_(elman.zeros(4, 6), mode="fan_out")
        >>> w.shape
        elman.Size([4, 6])
    """
    if 0 in tensor.shape:
        return tensor
    fan = _correct_fan(tensor, mode)  # (before the gain, as torch)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator=generator)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    r"""Glorot-uniform init: :math:`\mathcal{U}(-a, a)`, :math:`a = \text{gain}
    \sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`; bit-identical to torch.

    Args:
        tensor: an n-dimensional tensor (n >= 2).
        gain: a scaling factor (see :func:`calculate_gain`). Default 1.
        generator: the random generator (default: the global one).

    Example:
        >>> import elman
        >>> w = elman.nn.init.xavier_uniform_(elman.zeros(3, 5))
        >>> bool(w.abs().max() <= (6 / 8) ** 0.5)
        True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if fan_in + fan_out == 0:  # nothing to fill (torch divides by zero here)
        return tensor
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator=generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    r"""Glorot-normal init: :math:`\mathcal{N}(0, \text{std}^2)`, :math:`\text{std} =
    \text{gain} \sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`; bit-identical to torch.

    Args as :func:`xavier_uniform_`.

    Example:
        >>> import elman
        >>> elman.nn.init.xavier_normal_(elman.zeros(2, 3)).shape
        elman.Size([2, 3])
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if fan_in + fan_out == 0:  # nothing to fill (torch divides by zero here)
        return tensor
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator=generator)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix (ones on the main diagonal).

    Example:
        >>> import elman
        >>> elman.nn.init.eye_(elman.zeros(2, 3))
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape, dtype=tensor.dtype))


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    r"""Fill ``tensor`` with a (semi-)orthogonal matrix times ``gain``, as torch does.

    torch's algorithm: draw a (rows, cols) matrix from :math:`\mathcal{N}(0, 1)` (rows =
    ``tensor.shape[0]``, the other dims flattened into cols), take the QR decomposition of it
    (of its transpose when rows < cols), and flip the sign of each column of Q where R's
    diagonal is negative, which makes Q unique. The draw is bit-identical to torch's; Q
    agrees with torch's to rounding (LAPACK QR in float64, then cast).

    Args:
        tensor: an n-dimensional tensor (n >= 2).
        gain: a scaling factor. Default 1.
        generator: the random generator (default: the global one).

    Example:
        >>> import elman
        >>> q = elman.nn.init.orthogonal_(elman.zeros(3, 5, dtype=elman.float64))
        >>> eye = elman.nn.init.eye_(elman.zeros(3, 3, dtype=elman.float64))
        >>> bool((q @ q.T - eye).abs().max() < 1e-12)
        True
    """
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _gen(generator).normal((rows, cols), 0.0, 1.0, dtype=tensor.dtype)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat.astype(np.float64))
    q *= np.sign(np.diag(r))  # a zero on R's diagonal zeroes the column, as in torch
    if rows < cols:
        q = q.T
    q = q.astype(tensor.dtype).reshape(tensor.shape)
    return _fill(tensor, q * tensor.dtype.type(gain))
