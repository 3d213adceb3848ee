"""Linear: y = x Wᵀ + b."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import Tensor
from . import functional as F
from . import init
from ._checks import (
    as_input,
    check_device,
    check_param_dtype,
    check_parameter_memory,
    check_size,
    dtype_mismatch,
)
from .module import Module
from .parameter import Parameter


class Linear(Module):
    r"""Applies an affine map :math:`y = x W^T + b`.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias (default True).
        device: ``None`` or ``"cpu"``.
        dtype: float32 (default) or float64.

    Shapes: input (\*, in_features) -> output (\*, out_features).

    Init is torch's (kaiming-uniform weight, U(±1/sqrt(in_features)) bias) and draws the
    same numbers for the same seed.

    Example:
        >>> import elman
        >>> fc = elman.nn.Linear(5, 2)
        >>> fc(elman.zeros(3, 5)).shape
        elman.Size([3, 2])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        # (out_features first: torch's first complaint comes from empty((out, in)))
        out_features = check_size("out_features", out_features, allow_zero=True, integral=True)
        in_features = check_size("in_features", in_features, allow_zero=True, integral=True)
        check_device(device)
        dt = check_param_dtype(dtype)
        elements = out_features * (in_features + (1 if bias else 0))
        check_parameter_memory(elements, 2 if bias else 1, dt, "Linear")
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Any) -> Tensor:
        r"""``input @ weight.T + bias`` for input (\*, in_features); ndarrays and lists too."""
        input = as_input(input)
        if input.ndim == 0:
            raise RuntimeError(
                "both arguments to linear need to be at least 1D, but they are 0D and 2D"
            )
        if input.dtype != self.weight.dtype:
            # torch: "mat1 and mat2 must have the same dtype, but got Double and Float"
            raise RuntimeError(dtype_mismatch("Linear input", input.dtype, self.weight.dtype))
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
