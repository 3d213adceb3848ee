"""``device``: torch's device object for a CPU-only world, and the dtype names of torch.

A ``device("cuda")`` can be made (scripts build one before asking whether CUDA exists), but
moving a tensor or module there fails at the move with a one-line error: elman runs on the
CPU only.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import numpy as np

from .grad_mode import _NoParamContext

__all__ = ["device", "inference_mode", "is_inference_mode_enabled"]

_TYPES = ("cpu", "cuda", "mps", "meta", "xpu", "xla", "hip", "privateuseone", "mtia", "ipu")
_SPEC = re.compile(r"([a-z_]+)(?::(\d+))?")


class device:
    """Where a tensor lives: ``device("cpu")``, ``device("cuda:0")``, ``device("cuda", 0)``.

    Example:
        >>> device("cpu")
        device(type='cpu')
        >>> str(device("cuda", 1))
        'cuda:1'
    """

    __slots__ = ("type", "index")

    def __init__(self, type: Any, index: int | None = None) -> None:  # noqa: A002 (torch's)
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if isinstance(type, int) and not isinstance(type, bool):
            type, index = "cpu", type  # torch: a bare ordinal is the current accelerator's
        if not isinstance(type, str):
            raise TypeError(
                f"device() received an invalid combination of arguments - got ({type!r})"
            )
        match = _SPEC.fullmatch(type)
        if match is None or match.group(1) not in _TYPES:
            raise RuntimeError(
                "Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, "
                "fpga, maia, xla, lazy, vulkan, mps, meta, hpu, mtia, privateuseone device type "
                f"at start of device string: {type}"
            )
        if match.group(2) is not None:
            if index is not None:
                raise RuntimeError(
                    "type (string) must not include an index because index was passed "
                    f"explicitly: {type}"
                )
            index = int(match.group(2))
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type = match.group(1)
        self.index = index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __enter__(self) -> device:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class inference_mode(_NoParamContext):
    """Like :class:`no_grad` (elman has no separate inference tensors):
    ``with elman.inference_mode():`` or ``@elman.inference_mode()``; ``inference_mode(False)``
    leaves recording as it is."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # used as a bare decorator
            return cls()(mode)
        obj = object.__new__(cls)
        obj._enabled = bool(mode)
        return obj

    def __init__(self, mode: Any = True) -> None:
        pass

    def __enter__(self) -> None:
        from .grad_mode import _state

        self.prev = _state.enabled
        _state.enabled = _state.enabled and not self._enabled
        _stack().append(self._enabled)

    def __exit__(self, *exc: object) -> None:
        from .grad_mode import _state

        _state.enabled = self.prev
        _stack().pop()

    def _clone(self) -> inference_mode:
        return inference_mode(self._enabled)


class _Inference(threading.local):
    """Each thread's stack of ``inference_mode`` switches (torch's is thread-local too: a
    ``with inference_mode():`` in one thread leaves the others recording)."""

    def __init__(self) -> None:
        self.stack: list[bool] = []


_INFERENCE = _Inference()


def _stack() -> list[bool]:
    return _INFERENCE.stack


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()`` in this thread."""
    stack = _INFERENCE.stack
    return bool(stack and stack[-1])


# torch's dtype names; elman's dtypes are NumPy's (``x.dtype == elman.long`` works)
DTYPE_NAMES: dict[str, Any] = {
    "float32": np.float32,
    "float": np.float32,
    "float64": np.float64,
    "double": np.float64,
    "float16": np.float16,
    "half": np.float16,
    "int64": np.int64,
    "long": np.int64,
    "int32": np.int32,
    "int": np.int32,
    "int16": np.int16,
    "short": np.int16,
    "int8": np.int8,
    "uint8": np.uint8,
    "bool": np.bool_,
}
