"""The per-parameter state of an optimizer as ``state_dict``/``load_state_dict`` move it:
deep copies, torch's dtype casts on load, shape checks, checkpoint keys."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..autograd import Tensor

__all__ = ["_copy_state", "_cast_state", "_check_state_shapes", "_state_key"]


def _array_of(value: Any) -> np.ndarray | None:
    """The ndarray behind an elman Tensor, an ndarray or a torch tensor; None otherwise."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor, without torch
        return np.asarray(value.detach().cpu().numpy())
    return None


def _copy_state(value: Any) -> Any:
    """A deep copy of a state value: arrays become new elman Tensors, containers recurse."""
    array = _array_of(value)
    if array is not None:
        return Tensor._wrap(np.array(array, copy=True))
    if isinstance(value, dict):
        return {k: _copy_state(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state(v) for v in value)
    return copy.deepcopy(value)


def _cast_state(param: Tensor, value: Any, key: Any = None) -> Any:
    """A copy of a loaded state value, as torch casts it: floating arrays take the dtype of
    their parameter, except ``step``, which keeps its own."""
    array = _array_of(value)
    if array is not None:
        if key != "step" and param._data.dtype.kind == "f":
            return Tensor._wrap(np.array(array, dtype=param._data.dtype, copy=True))
        return Tensor._wrap(np.array(array, copy=True))
    if isinstance(value, dict):
        return {k: _cast_state(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v) for v in value)
    return copy.deepcopy(value)


# the per-parameter buffers of elman's optimizers: each has its parameter's shape
_PARAM_SHAPED = (
    "momentum_buffer",
    "exp_avg",
    "exp_avg_sq",
    "max_exp_avg_sq",
    "square_avg",
    "grad_avg",
    "sum",
)


def _check_state_shapes(param: Tensor, state: dict[str, Any], index: Any) -> None:
    """A loaded buffer of the wrong shape is refused at load time (torch fails at the next
    step, deep in its arithmetic)."""
    for key in _PARAM_SHAPED:
        value = state.get(key)
        if isinstance(value, Tensor) and value._data.shape != param._data.shape:
            raise RuntimeError(
                f"loaded state dict has '{key}' of shape {tuple(value._data.shape)} for "
                f"parameter {index}, whose shape is {tuple(param._data.shape)}"
            )


def _state_key(key: Any, id_map: dict[Any, Tensor]) -> Any:
    # a checkpoint format with string keys ("0") still maps onto the parameters
    if isinstance(key, str) and key.isdigit() and int(key) in id_map:
        return int(key)
    return key
