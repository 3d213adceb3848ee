"""elman: PyTorch's multi-layer Elman RNN (``torch.nn.RNN``) rebuilt on NumPy."""

from typing import Any

# _cli_boot first: Ctrl-C while the rest imports must not print a traceback in the `elman`
# command (it does nothing in any other program)
from . import _cli_boot, autograd  # noqa: F401
from ._kernels.threads import get_num_threads, set_num_threads
from ._version import __version__
from .autograd import (
    Size,
    Tensor,
    arange,
    as_tensor,
    cat,
    enable_grad,
    exp,
    float32,
    float64,
    from_numpy,
    full,
    get_default_dtype,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_grad_enabled,
    log,
    matmul,
    maximum,
    no_grad,
    ones,
    ones_like,
    rand,
    randn,
    relu,
    set_grad_enabled,
    sigmoid,
    stack,
    tanh,
    tensor,
    zeros,
    zeros_like,
)
from .random import get_rng_state, initial_seed, manual_seed, seed, set_rng_state


def load(f: Any, *args: Any, **kwargs: Any) -> Any:
    """Load a ``torch.save`` file without torch, safely: see :func:`elman.io.load`."""
    from .io.pt import load as _load

    return _load(f, *args, **kwargs)


def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
    """Save in torch's format, for ``torch.load``: see :func:`elman.io.save`."""
    from .io.pt import save as _save

    _save(obj, f, *args, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "serialization":  # torch's module name, imported on first use
        import importlib

        return importlib.import_module(".serialization", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "__version__",
    "autograd",
    "nn",
    "io",
    "optim",
    "serialization",
    "load",
    "save",
    "Tensor",
    "Size",
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
    "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled",
    "manual_seed",
    "seed",
    "initial_seed",
    "get_rng_state",
    "set_rng_state",
    "set_num_threads",
    "get_num_threads",
]

from . import io, nn, optim  # noqa: E402
