"""Optimizer: the base class of elman's optimizers, with torch's parameter groups and state."""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable
from itertools import chain
from typing import Any

import numpy as np

from ..autograd import Tensor, enable_grad
from ..autograd.dtypes import get_default_dtype
from ._state import _cast_state, _check_state_shapes, _copy_state, _state_key

__all__ = ["Optimizer", "required", "check_implementation"]

StateDict = dict[str, Any]


class _RequiredParameter:
    """Marks a default that every parameter group must give (torch's ``required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(value: Any) -> str:
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def check_implementation(
    foreach: bool | None = None,
    capturable: bool = False,
    differentiable: bool = False,
    fused: bool | None = None,
) -> dict[str, Any]:
    """torch's implementation switches, checked: elman has one implementation (torch's
    single-tensor "for-loop" arithmetic), so ``foreach`` is recorded only, and
    ``capturable`` (CUDA graphs), ``differentiable`` (autograd through the step) and
    ``fused`` (fused kernels) must stay off. Returned in the order torch's param groups
    list them, for the state dict's layout."""
    if foreach not in (None, True, False):
        raise TypeError(f"foreach must be None or a bool, got {foreach!r}")
    for name, value in (("capturable", capturable), ("differentiable", differentiable)):
        if value:
            raise ValueError(f"{name}=True is not supported by elman (CPU, no CUDA graphs)")
    if fused:
        raise ValueError("fused=True is not supported by elman (one implementation)")
    return {
        "foreach": foreach,
        "capturable": capturable,
        "differentiable": bool(differentiable),
        "fused": fused,
    }


# the options of elman's optimizers that are numbers
_NUMERIC = (
    "lr",
    "momentum",
    "dampening",
    "weight_decay",
    "eps",
    "alpha",
    "lr_decay",
    "initial_accumulator_value",
)


def _check_number(name: str, value: Any, default: Any) -> None:
    """An option that is a number must be a number (or a one-element tensor): refused when
    the group is added, where torch fails at the first step that uses it (or, for a
    string, may not fail at all: elman's float() would read "0.1")."""
    if name not in _NUMERIC:
        return
    if isinstance(value, (int, float, np.number, np.bool_)):
        return
    if isinstance(value, Tensor) and value._data.size == 1 and value._data.dtype.kind in "biuf":
        return
    if hasattr(value, "item") and getattr(value, "numel", lambda: 0)() == 1:  # a torch tensor
        return
    raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r}")


class Optimizer:
    r"""Base class for all optimizers.

    Subclasses pass their hyperparameters as ``defaults`` and implement :meth:`step`.
    Parameters come in groups; each group is a dict with the key ``"params"`` and any
    options that override ``defaults`` for that group. Per-parameter state (moments, step
    counts) lives in ``state``, keyed by the parameter.

    Args:
        params: an iterable of Tensors, or of dicts (parameter groups). Give it in a
            deterministic order (a list, ``module.parameters()``), never a set.
        defaults: default values of the options, used where a group does not give them.

    Example:
        >>> import elman
        >>> w = elman.nn.Parameter(elman.ones(2))
        >>> b = elman.nn.Parameter(elman.zeros(1))
        >>> opt = elman.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.5]
    """

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be "
                "an iterable of Tensors or dicts, but got " + _typename(params)
            )
        self.state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self) -> dict[str, Any]:
        # without the scheduler's patched ``step``, so that an optimizer pickles
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # ---- parameter groups -----------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group, e.g. layers unfrozen while fine-tuning.

        Args:
            param_group: a dict with ``"params"`` (a Tensor, or a list of Tensors or of
                ``(name, Tensor)`` pairs) and options overriding the defaults.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but "
                "the ordering of tensors in sets will change between runs. "
                "Please use a list instead."
            )
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        param_group["params"] = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. "
                    "Some param names are missing"
                )
            param_group["param_names"] = names
        self._check_params(param_group["params"])

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            param_group.setdefault(name, default)
            _check_number(name, param_group[name], default)

        ids = [id(p) for p in param_group["params"]]
        if len(ids) != len(set(ids)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; "
                "in future, this will cause an error; "
                "see github.com/pytorch/pytorch/issues/40967 for more information",
                stacklevel=3,
            )
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {which} to the optimizer"
                )
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    @staticmethod
    def _check_params(params: list[Any]) -> None:
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, "
                    "but one of the params is " + _typename(param)
                )
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")

    # ---- stepping -------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized Tensors.

        Args:
            set_to_none: drop the gradients (``grad = None``, the default) instead of
                filling them with zeros. A parameter whose grad is None is skipped by
                :meth:`step`; one with a zero grad is still stepped (weight decay,
                momentum).
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if p.grad.grad_fn is not None:
                    p.grad.detach_()
                else:
                    p.grad.requires_grad_(False)
                if p.grad._data.flags.writeable:
                    p.grad._data[...] = 0
                else:  # a read-only array (a broadcast view): replace it
                    p.grad._data = np.zeros_like(p.grad._data)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; return the closure's loss (or None).

        Args:
            closure: reevaluates the model and returns the loss; run with grad enabled.
        """
        raise NotImplementedError

    @staticmethod
    def _run_closure(closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _params_with_grad(self, group: dict[str, Any]) -> list[Tensor]:
        """The group's parameters that have a gradient; the others are skipped, as in torch."""
        return [p for p in group["params"] if p.grad is not None]

    @staticmethod
    def _new_step() -> Tensor:
        """A step counter as torch keeps it: a 0-d float tensor of the default dtype."""
        return Tensor._wrap(np.zeros((), dtype=get_default_dtype()))

    # ---- state dict -----------------------------------------------------------------------

    def state_dict(self) -> StateDict:
        """The optimizer's state as a dict in torch's layout, deep-copied.

        ``{"state": {index: {name: value}}, "param_groups": [{option: value, ...,
        "params": [index, ...]}]}``: parameters are numbered in group order, values are
        elman Tensors and Python numbers. Later steps do not change a returned dict.

        Example:
            >>> import elman
            >>> w = elman.nn.Parameter(elman.ones(2))
            >>> opt = elman.optim.Adam([w], lr=0.1)
            >>> w.grad = elman.ones(2)
            >>> opt.step()
            >>> sd = opt.state_dict()
            >>> sorted(sd["state"][0]), sd["param_groups"][0]["params"]
            (['exp_avg', 'exp_avg_sq', 'step'], [0])
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {
            (index[id(k)] if isinstance(k, Tensor) else k): _copy_state(v)
            for k, v in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: StateDict) -> None:
        """Load a state saved by :meth:`state_dict` (or by the same torch optimizer).

        Groups and parameters are matched by position; the counts must agree. Values are
        copied (floating ones cast to the parameter's dtype, ``step`` kept as saved), so
        the given dict is never modified.

        Args:
            state_dict: the optimizer state, as returned by :meth:`state_dict`.
        """
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        sizes = zip(groups, saved_groups, strict=True)
        if any(len(g["params"]) != len(s["params"]) for g, s in sizes):
            raise ValueError(
                "loaded state dict contains a parameter group "
                "that doesn't match the size of optimizer's group"
            )
        id_map = dict(
            zip(
                chain.from_iterable(g["params"] for g in saved_groups),
                chain.from_iterable(g["params"] for g in groups),
                strict=True,
            )
        )
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            k = _state_key(key, id_map)
            if k in id_map:
                param = id_map[k]
                state[param] = _cast_state(param, value)
                if isinstance(state[param], dict):
                    _check_state_shapes(param, state[param], key)
            else:  # state not tied to a parameter is kept as is, as in torch
                state[k] = value
        for group, saved in zip(groups, saved_groups, strict=True):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.state = state
        self.param_groups = saved_groups
        self._after_load()

    def _after_load(self) -> None:
        """Bring a loaded state up to date, as torch's ``__setstate__``: options missing from
        old dicts take their defaults, and a numeric ``step`` becomes a tensor."""
        for group in self.param_groups:
            for key, default in self.defaults.items():  # options older dicts lack
                if default is not required:
                    group.setdefault(key, default)
            for p in group["params"]:
                p_state = self.state.get(p)
                if p_state and "step" in p_state and not isinstance(p_state["step"], Tensor):
                    step = self._new_step()
                    step._data[...] = float(p_state["step"])
                    p_state["step"] = step
