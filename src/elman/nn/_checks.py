"""Validation at the public boundary: small named checks with torch's messages."""

from __future__ import annotations

import numbers
import re
import warnings
from typing import Any

import numpy as np

from ..autograd import Tensor, tensor
from ..autograd._checks import check_allocation, type_name
from ..autograd._data import check_data
from ..autograd.dtypes import resolve_dtype


def check_bool(name: str, value: Any) -> bool:
    """A bool flag as a Python bool; NumPy bools (``np.True_``) are taken too (torch refuses
    them for ``bias`` and ``batch_first`` with "got: bool", and does not check
    ``bidirectional`` at all)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} should be of type bool, got: {type_name(value)}")
    return bool(value)


# Python bookkeeping per Parameter (the Tensor, its ndarray view, the registry entries):
# ~630 bytes measured; counted so that a huge num_layers is refused before its loop runs.
PARAM_OVERHEAD = 512


def check_parameter_memory(elements: int, count: int, dtype: Any, what: str) -> None:
    """Refuse, before anything is allocated, parameters that could never fit in memory."""
    nbytes = elements * np.dtype(dtype).itemsize + count * PARAM_OVERHEAD
    check_allocation(nbytes, f"the {count} parameters of {what}")


def check_size(name: str, value: Any, allow_zero: bool = False, integral: bool = False) -> int:
    """Sizes are ints (not bools, unlike torch, which takes True as 1) and positive.

    ``integral`` also admits NumPy integers (torch's ``num_layers`` and Linear's features
    take them; its ``input_size`` and ``hidden_size`` do not). Returns the size as an int.
    """
    kind = numbers.Integral if integral else int
    if not isinstance(value, kind) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} should be of type int, got: {type_name(value)}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = "zero or greater" if allow_zero else "greater than zero"
        raise ValueError(f"{name} must be {bound}")
    return int(value)


def check_nonlinearity(nonlinearity: Any) -> None:
    if not isinstance(nonlinearity, str) or nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")


def check_dropout(dropout: Any, num_layers: Any) -> float:
    """torch's dropout checks, in torch's order, including the single-layer warning."""
    value = float(dropout)  # TypeError for None, as torch
    if (
        not isinstance(dropout, numbers.Number)
        or isinstance(dropout, bool)
        or not 0 <= dropout <= 1
    ):
        raise ValueError(
            "dropout should be a number in range [0, 1] representing the probability of an "
            "element being zeroed"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero "
            f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
            f"num_layers={num_layers}",
            UserWarning,
            stacklevel=3,  # the user's line (torch points into its own rnn.py)
        )
    return value


_CPU = re.compile(r"cpu(:0)?")


def check_device(device: Any) -> None:
    """None, ``"cpu"``, ``"cpu:0"`` or a ``torch.device`` that prints so."""
    if device is not None and not _CPU.fullmatch(str(device)):
        raise ValueError(
            f"elman runs on the CPU only: device must be None or 'cpu', got {device!r}"
        )


def check_param_dtype(dtype: Any) -> np.dtype:
    """float32 (default) or float64; integer dtypes fail as in torch."""
    if dtype is not None:
        try:
            kind = np.dtype(dtype).kind
        except TypeError:
            kind = "?"
        if kind in "iub":
            raise RuntimeError(
                "Only Tensors of floating point and complex dtype can require gradients"
            )
    return resolve_dtype(dtype, floating_only=True)


def as_input(value: Any, where: str = "") -> Tensor:
    """Tensors pass through; ndarrays keep their dtype; lists become default-dtype tensors.

    Anything else (None, strings, ...) is a TypeError naming the function (``where``)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor(check_data(value, copy=False))
    if hasattr(value, "__array__") or hasattr(value, "numpy"):
        from .module import to_ndarray

        return Tensor(check_data(to_ndarray(value), copy=False))
    if isinstance(value, (list, tuple, numbers.Number)) and not isinstance(value, bool):
        return tensor(value)
    prefix = f"{where}(): argument 'input' " if where else ""
    raise TypeError(f"{prefix}expected a Tensor, ndarray or list, got {type_name(value)}")


def check_probability(p: Any, what: str = "dropout probability") -> float:
    """A probability in [0, 1] (torch: ValueError; NaN is refused too)."""
    if not isinstance(p, (numbers.Real, np.number, np.bool_)):
        raise TypeError(f"{what} must be a number, got {type_name(p)}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{what} has to be between 0 and 1, but got {p}")
    return float(p)


def dtype_mismatch(what: str, got: np.dtype, want: np.dtype, arg: str = "input") -> str:
    """torch's text with NumPy names; a model can only be converted to float32/float64,
    and converting it does not help when only hx is off."""
    text = (
        f"{what} dtype ({got}) does not match weight dtype ({want}). "
        f"Convert {arg}: {arg}.to(elman.{want})"
    )
    if arg == "input" and got in (np.dtype(np.float32), np.dtype(np.float64)):
        text += f", or convert model: model.to(elman.{got})"
    return text
