"""Autograd: Tensor, Function, the backward engine, grad mode and gradcheck."""

from ._operands import unbroadcast
from .anomaly_mode import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from .compat_functions import Variable
from .creation import (
    arange,
    as_tensor,
    cat,
    exp,
    from_numpy,
    full,
    log,
    matmul,
    maximum,
    ones,
    ones_like,
    rand,
    randn,
    relu,
    sigmoid,
    stack,
    tanh,
    tensor,
    zeros,
    zeros_like,
)
from .dtypes import float32, float64, get_default_dtype
from .engine import backward
from .function import Context, Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .tensor import Size, Tensor

__all__ = [
    "Tensor",
    "backward",
    "Size",
    "Function",
    "Context",
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "zeros_like",
    "ones_like",
    "randn",
    "rand",
    "arange",
    "cat",
    "stack",
    "tanh",
    "relu",
    "sigmoid",
    "exp",
    "log",
    "matmul",
    "maximum",
    "float32",
    "float64",
    "get_default_dtype",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "gradcheck",
    "GradcheckError",
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled",
    "unbroadcast",
    "Variable",
]
