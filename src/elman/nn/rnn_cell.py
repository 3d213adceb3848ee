"""RNNCell: one step of torch's Elman RNN, with torch's constructor, names and checks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import Tensor, zeros
from . import functional as F
from . import init
from ._checks import (
    as_input,
    check_bool,
    check_device,
    check_nonlinearity,
    check_param_dtype,
    check_parameter_memory,
    check_size,
    dtype_mismatch,
)
from .module import Module
from .parameter import Parameter

__all__ = ["RNNCell"]

_WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class RNNCell(Module):
    r"""One Elman RNN step, as ``torch.nn.RNNCell``:
    :math:`h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh})` (or ReLU).

    Args:
        input_size: features of the input, I.
        hidden_size: features of the state, H.
        bias: use ``bias_ih`` and ``bias_hh`` (default True).
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        device: ``None`` or ``"cpu"``.
        dtype: float32 (default) or float64.

    Shapes: input (N, I) or (I,); hx (N, H) or (H,), zeros if omitted; output like hx.

    Unlike torch, sizes and the nonlinearity are validated when the cell is built.

    Example:
        >>> import elman
        >>> cell = elman.nn.RNNCell(3, 4)
        >>> cell(elman.randn(2, 3)).shape
        elman.Size([2, 4])
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_size("input_size", input_size)
        check_size("hidden_size", hidden_size)
        bias = check_bool("bias", bias)
        check_nonlinearity(nonlinearity)
        check_device(device)
        dt = check_param_dtype(dtype)
        elements = hidden_size * (input_size + hidden_size + (2 if bias else 0))
        check_parameter_memory(elements, 4 if bias else 2, dt, "RNNCell")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.nonlinearity = nonlinearity
        self.weight_ih = Parameter(np.empty((hidden_size, input_size), dtype=dt))
        self.weight_hh = Parameter(np.empty((hidden_size, hidden_size), dtype=dt))
        if bias:
            self.bias_ih = Parameter(np.empty(hidden_size, dtype=dt))
            self.bias_hh = Parameter(np.empty(hidden_size, dtype=dt))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        input = as_input(input)
        hx = None if hx is None else as_input(hx)
        if input.ndim not in (1, 2):
            raise ValueError(f"RNNCell: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if hx is not None and hx.ndim not in (1, 2):
            raise ValueError(f"RNNCell: Expected hidden to be 1D or 2D, got {hx.ndim}D instead")
        unbatched = input.ndim == 1
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.shape[-1]} expected "
                f"{self.input_size}"
            )
        if hx is not None and hx.ndim != input.ndim:  # torch fails later with a confusing text
            kind = "unbatched 1-D" if unbatched else "batched 2-D"
            raise RuntimeError(
                f"For {kind} input, hx should also be {input.ndim}-D but got {hx.ndim}-D tensor"
            )
        if unbatched:
            input = input.unsqueeze(0)
        if hx is None:
            hx = zeros(input.shape[0], self.hidden_size, dtype=input.dtype)
        elif unbatched:
            hx = hx.unsqueeze(0)
        if input.shape[0] != hx.shape[0]:
            raise RuntimeError(
                f"Input batch size {input.shape[0]} doesn't match hidden0 batch size {hx.shape[0]}"
            )
        if hx.shape[1] != self.hidden_size:
            raise RuntimeError(
                f"hidden0 has inconsistent hidden_size: got {hx.shape[1]}, expected "
                f"{self.hidden_size}"
            )
        # (parameters looked up in their dict: attribute access goes through __getattr__)
        params = self._parameters
        weights = tuple(params[n] if n in params else getattr(self, n) for n in _WEIGHT_NAMES)
        # torch checks dtypes last, in the matmul ("mat1 and mat2 must have the same dtype")
        want = weights[0].dtype
        for what, t in (("input", input), ("hx", hx)):
            if t.dtype != want:
                raise RuntimeError(dtype_mismatch("RNNCell " + what, t.dtype, want, arg=what))
        out = F.rnn_cell(input, hx, weights, self.nonlinearity)
        return out.squeeze(0) if unbatched else out
