"""The state-dict half of :class:`~elman.nn.Module`: torch's keys, errors and semantics."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..autograd import Tensor, no_grad

if TYPE_CHECKING:
    from .module import Module

__all__ = ["StateDictMixin", "to_ndarray"]


class _IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "
            f"unexpected_keys={self.unexpected_keys!r})"
        )

    __str__ = __repr__


def to_ndarray(value: Any) -> np.ndarray:
    """An ndarray from an ndarray, elman Tensor, torch tensor (duck-typed) or ``__array__``."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor, without torch
        value = value.detach()
        if hasattr(value, "cpu"):
            value = value.cpu()
        return np.asarray(value.numpy())
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    if hasattr(value, "__array__"):
        return np.asarray(value)
    raise TypeError(
        f"expected an ndarray, a Tensor or an object with __array__ or .numpy(), "
        f"got {type(value).__name__}"
    )


def _shape_text(shape: tuple[int, ...]) -> str:
    return f"({', '.join(str(n) for n in shape)}{',' if len(shape) == 1 else ''})"


class StateDictMixin:
    """``state_dict`` / ``load_state_dict`` for Module (which provides the registries)."""

    if TYPE_CHECKING:
        _parameters: dict[str, Any]
        _buffers: dict[str, Any]
        _modules: dict[str, Module | None]

    def state_dict(
        self, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Tensor]:
        """Parameters and buffers by torch's dotted names (detached, sharing memory).

        As in torch, a module or parameter reachable under two names appears under both.
        """
        out: OrderedDict[str, Tensor] = OrderedDict() if destination is None else destination
        for name, value in self._local_state().items():
            out[prefix + name] = value if keep_vars else value.detach()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def _local_state(self) -> dict[str, Tensor]:
        state = {n: p for n, p in self._parameters.items() if p is not None}
        state.update((n, b) for n, b in self._buffers.items() if b is not None)
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> Any:
        """Copy values into parameters and buffers; torch's errors, but all-or-nothing.

        Values may be ndarrays, elman Tensors, torch tensors or anything with ``__array__``,
        and are cast to each parameter's dtype. Every key and shape is checked before
        anything is copied, so a failed load leaves the module unchanged (torch copies the
        matching entries before raising). Returns ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing: list[str] = []
        unexpected: list[str] = []
        errors: list[str] = []
        staged: list[tuple[Tensor, np.ndarray]] = []
        self._check_state(dict(state_dict), "", (missing, unexpected, errors), staged)
        if strict:
            if unexpected:
                keys = ", ".join(f'"{k}"' for k in unexpected)
                errors.insert(0, f"Unexpected key(s) in state_dict: {keys}. ")
            if missing:
                keys = ", ".join(f'"{k}"' for k in missing)
                errors.insert(0, f"Missing key(s) in state_dict: {keys}. ")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        with no_grad():
            for target, value in staged:
                np.copyto(target._data, value, casting="unsafe")
        return _IncompatibleKeys(missing, unexpected)

    def _check_state(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        report: tuple[list[str], list[str], list[str]],
        staged: list[tuple[Tensor, np.ndarray]],
    ) -> None:
        """torch's per-module pass (same key order in every list), staging instead of copying."""
        missing, unexpected, errors = report
        local = self._local_state()
        for name, target in local.items():
            key = prefix + name
            if key not in state_dict:
                missing.append(key)
                continue
            try:
                value = to_ndarray(state_dict[key])
            except TypeError:
                errors.append(
                    f'While copying the parameter named "{key}", expected an ndarray or '
                    f"Tensor-like object from checkpoint but received {type(state_dict[key])}"
                )
                continue
            if value.shape != target._data.shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape "
                    f"{_shape_text(value.shape)} from checkpoint, the shape in current model "
                    f"is {_shape_text(target._data.shape)}."
                )
                continue
            staged.append((target, value))
        for key in state_dict:
            head, dot, _ = key[len(prefix) :].partition(".")
            if dot and head not in self._modules or not dot and head not in local:
                unexpected.append(key)
        for name, child in self._modules.items():
            if child is not None:
                sub = prefix + name + "."
                inner = {k: v for k, v in state_dict.items() if k.startswith(sub)}
                child._check_state(inner, sub, report, staged)
