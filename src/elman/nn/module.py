"""Module: the base class of layers and models, with torch's registration semantics."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..autograd._checks import allocation_error
from ..autograd.dtypes import resolve_dtype
from ..autograd.tensor import GENERATION
from ..autograd.tensor_methods import _to_args
from ..autograd.trace_hook import HOOK
from ._module_state import StateDictMixin, to_ndarray
from .parameter import Parameter

__all__ = ["Module", "to_ndarray"]


# torch's bookkeeping in a pickled module's state that elman has no use for (torch.save(model)
# files carry them; they hold hooks, which elman.load refuses when non-empty)
_TORCH_ONLY_STATE = frozenset(
    {
        "_non_persistent_buffers_set",
        "_is_full_backward_hook",
        "_compiled_call_impl",
        "_flat_weights",  # elman's RNN derives it from the parameters
        "_flat_weight_refs",
    }
)


def _typename(value: Any) -> str:
    """``int``, ``numpy.ndarray``, ``elman.Tensor``: how messages name a value's type."""
    if isinstance(value, Tensor):
        return "elman." + type(value).__name__
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


class Module(StateDictMixin):
    """Base class for all layers and models.

    Subclasses create parameters and sub-modules in ``__init__`` (after calling
    ``super().__init__()``) and define ``forward``. Attributes that are
    :class:`~elman.nn.Parameter` or :class:`Module` are registered in assignment order.

    Example:
        >>> import elman
        >>> class Net(elman.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = elman.nn.Linear(3, 2)
        ...     def forward(self, x):
        ...         return self.fc(x).tanh()
        >>> [name for name, _ in Net().named_parameters()]
        ['fc.weight', 'fc.bias']
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if HOOK.tracer is not None:  # elman.onnx.export is recording this call
            return HOOK.tracer.module(self, args, kwargs)
        try:
            return self.forward(*args, **kwargs)
        except MemoryError as e:  # an output too large for this machine: torch's type
            raise allocation_error(e) from None

    def _params_replaced(self) -> None:
        """Called after ``to()`` has replaced parameter arrays (the RNN re-flattens)."""

    # ---- pickling (elman.save(model), elman.load with an allowlist, copy) ----------------

    def __getstate__(self) -> dict[str, Any]:
        """The attributes to pickle: ``__dict__`` (subclasses drop their caches)."""
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore pickled attributes, from elman or from ``torch.save(model)``.

        torch's hook dictionaries and bookkeeping are dropped; registries missing from an
        old state start empty. Subclasses rebuild their caches in :meth:`_params_replaced`.
        """
        if not isinstance(state, dict):
            raise TypeError(f"{type(self).__name__} state must be a dict, got {type(state)}")
        kept = {k: v for k, v in state.items() if k not in _TORCH_ONLY_STATE and "_hooks" not in k}
        self.__dict__.update(kept)
        for store in ("_parameters", "_buffers", "_modules"):
            if store not in self.__dict__:
                object.__setattr__(self, store, OrderedDict())
        self.__dict__.setdefault("training", True)
        GENERATION.value += 1
        self._params_replaced()

    # ---- registration -------------------------------------------------------------------

    def _check_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")

    def _check_name(self, kind: str, name: Any, store: str) -> None:
        """torch's checks on a name about to be registered as a parameter/buffer/module."""
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {_typename(name)}")
        if "." in name:
            got = f", got: {name}" if kind == "module" else ""
            raise KeyError(f'{kind} name can\'t contain "."{got}')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if hasattr(self, name) and name not in self.__dict__[store]:
            raise KeyError(f"attribute '{name}' already exists")

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._discard(name, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as parameter '{name}' "
                    "(elman.nn.Parameter or None expected)"
                )
            params[name] = None
            GENERATION.value += 1
        elif isinstance(value, Module):
            self._check_init("module")
            self._discard(name, keep="_modules")
            self._modules[name] = value
        elif name in self.__dict__.get("_modules", {}):
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as child module '{name}' "
                    "(elman.nn.Module or None expected)"
                )
            self._modules[name] = None
        elif name in self.__dict__.get("_buffers", {}):
            self._buffers[name] = value if value is None else Tensor._wrap(to_ndarray(value))
        else:
            object.__setattr__(self, name, value)

    def _discard(self, name: str, keep: str) -> None:
        """Forget ``name`` everywhere but in ``keep``, where a re-assignment keeps its place."""
        self.__dict__.pop(name, None)
        for store in ("_parameters", "_buffers", "_modules"):
            if store != keep:
                self.__dict__[store].pop(name, None)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(store, {}):
                del self.__dict__[store][name]
                GENERATION.value += store == "_parameters"
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        extra = list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(set(super().__dir__()) | set(extra))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, a declared but absent parameter) under ``name``."""
        self._check_init("parameter")
        self._check_name("parameter", name, "_parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                "(elman.nn.Parameter or None required)"
            )
        self._discard(name, keep="_parameters")
        self._parameters[name] = param
        GENERATION.value += 1

    def register_buffer(self, name: str, tensor: Any) -> None:
        """Register a non-learnable array that is part of the state_dict."""
        self._check_init("buffer")
        self._check_name("buffer", name, "_buffers")
        try:
            value = None if tensor is None else Tensor._wrap(to_ndarray(tensor))
        except TypeError:
            raise TypeError(
                f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                "(elman Tensor, ndarray or None required)"
            ) from None
        self._discard(name, keep="_buffers")
        self._buffers[name] = value

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` (or None) as a child under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        self._check_init("module")
        self._check_name("module", name, "_modules")
        self._discard(name, keep="_modules")
        self._modules[name] = module

    register_module = add_module

    # ---- traversal ----------------------------------------------------------------------

    def _walk(self, prefix: str, names: bool) -> Iterator[tuple[Any, Module]]:
        """Every module once, depth first in registration order; with ``names=False`` the
        dotted names are not built (None instead): modules() and parameters() run per step."""
        seen: set[int] = set()
        stack: list[tuple[Any, Module]] = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if id(mod) in seen:
                continue
            seen.add(id(mod))
            yield name, mod
            if mod._modules:
                stack.extend(
                    ((f"{name}.{n}" if name else n) if names else None, m)
                    for n, m in reversed(mod._modules.items())
                    if m is not None
                )

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        return self._walk(prefix, names=True)

    def modules(self) -> Iterator[Module]:
        for _, m in self._walk("", names=False):
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mod_name, mod in mods:
            for name, p in mod._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        if not (recurse and self._modules):  # a module without children (an RNN alone):
            # no walk, the duplicates dropped by one comprehension (every training step)
            params = self._parameters.values()
            yield from {id(p): p for p in params if p is not None}.values()
            return
        seen: set[int] = set()  # (named_parameters' order, without building the names)
        for mod in self.modules():
            for p in mod._parameters.values():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        for mod_name, mod in self.named_modules(prefix):
            for name, b in mod._buffers.items():
                if b is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self) -> Iterator[Tensor]:
        for _, b in self.named_buffers():
            yield b

    # ---- modes and grads ----------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient, or zero it in place (``set_to_none=False``)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad._data[...] = 0

    def apply(self, fn: Callable[[Module], None]) -> Module:
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Cast floating parameters and buffers in place, as torch's ``Module.to``.

        torch's forms: ``to(device=None, dtype=None, non_blocking=False)``,
        ``to(dtype, non_blocking=False)`` and ``to(tensor, non_blocking=False)`` (the
        tensor's dtype), positionally or by keyword; ``memory_format=`` is accepted (elman's
        parameters have no memory formats). The dtype may also be a string (``"float64"``);
        the device must be the CPU. ``copy`` is refused, as torch refuses it. Parameters keep
        their identity; integer buffers keep their dtype.
        """
        # torch's argument forms and TypeErrors, shared with Tensor.to
        dtype, _ = _to_args(args, kwargs)
        flags = 0  # positional non_blocking, copy: the bools that end ``args``
        while flags < len(args) and isinstance(args[-1 - flags], bool):
            flags += 1
        if "copy" in kwargs or flags == 2:
            raise RuntimeError(".to() does not accept copy argument")
        if dtype is None:
            return self
        target = resolve_dtype(dtype, floating_only=True)
        for p in self.parameters():
            p._data = p._data.astype(target, copy=False)
            GENERATION.value += 1
            if p.grad is not None:
                p.grad._data = p.grad._data.astype(target, copy=False)
        for m in self.modules():
            for k, b in m._buffers.items():
                if b is not None and b._data.dtype.kind == "f":
                    m._buffers[k] = Tensor._wrap(b._data.astype(target, copy=False))
            m._params_replaced()
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    def cpu(self) -> Module:
        return self

    def cuda(self, device: Any = None) -> Module:
        raise RuntimeError("elman runs on the CPU only: Module.cuda() has no GPU to move to")

    def type(self, dst_type: Any) -> Module:
        """Cast to a dtype or a legacy type (``torch.DoubleTensor``), as ``Module.type``."""
        return self.to(getattr(dst_type, "legacy_dtype", dst_type))

    # ---- printing -----------------------------------------------------------------------

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, mod in self._modules.items():
            text = repr(mod).replace("\n", "\n  ")
            lines.append(f"({name}): {text}")
        head = type(self).__name__ + "("
        if not lines:
            return head + ")"
        if len(lines) == 1 and not self._modules:
            return head + lines[0] + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
