"""An inert policy: interpret a pickle to see what it holds, calling nothing it names.

Every global becomes a :class:`Stub` (its name), every REDUCE/NEWOBJ a :class:`Call`
(the stub and its arguments), BUILD records the state, and tensors become
:class:`TensorInfo` (dtype, shape, storage) without reading a byte of data. Containers
of plain values are built as usual. :func:`elman.io.describe` reports what came out; the
legacy reader uses it to learn each storage's dtype before it reads the data.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ._errors import CheckpointError
from ._pt_policy import Fn, lookup_builtin
from ._pt_tensors import TORCH_DTYPES, StorageType

__all__ = ["InertPolicy", "Stub", "Call", "TensorInfo", "StorageInfo"]

_CONTAINERS = {
    "collections.OrderedDict",
    "collections.Counter",
    "builtins.set",
    "builtins.frozenset",
    "builtins.complex",
    "builtins.bytearray",
    "builtins.bytes",
    "_codecs.encode",
    "torch.Size",
    "torch.device",
}
_TENSORS = {
    "torch._utils._rebuild_tensor": 0,
    "torch._utils._rebuild_tensor_v2": 0,
    "torch._utils._rebuild_tensor_v3": 0,
}
_PARAMETERS = {"torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state"}


@dataclass(frozen=True)
class Stub:
    """A global the file names, not resolved."""

    name: str

    def __repr__(self) -> str:
        return self.name


@dataclass(eq=False)
class Call:
    """``func(*args)`` (REDUCE) or ``cls.__new__(cls, *args)`` (NEWOBJ), not performed;
    ``state`` is what BUILD gave it, ``items`` what APPEND/SETITEM gave it."""

    func: Any
    args: tuple[Any, ...]
    state: Any = None
    items: list[Any] = field(default_factory=list)

    @property
    def name(self) -> str:
        return getattr(self.func, "name", repr(self.func))


@dataclass(frozen=True)
class StorageInfo:
    """A persistent id: ``('storage', type, key, location, numel[, view])``."""

    dtype: str
    key: str
    location: str
    numel: int
    view: Any = None
    untyped: bool = False


@dataclass(eq=False)
class TensorInfo:
    """A tensor's description: torch dtype name, shape, stride, offset, its storage, and
    whether it is a parameter / requires grad."""

    dtype: str
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    offset: int
    storage: StorageInfo | None
    requires_grad: bool = False
    parameter: bool = False

    @property
    def nbytes(self) -> int:
        stored = TORCH_DTYPES.get(self.dtype)
        per = 4 if self.dtype == "bfloat16" else (1 if stored is None else _itemsize(stored))
        n = 1
        for d in self.shape:
            n *= d
        return n * per


def _itemsize(stored: str) -> int:
    import numpy as np

    return int(np.dtype(stored).itemsize)


class InertPolicy:
    """Records globals and storages; builds nothing that the file names."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.globals: list[str] = []
        self.storages: dict[str, StorageInfo] = {}

    def find_global(self, module: str, name: str) -> Any:
        full, entry = lookup_builtin(module, name)
        if full not in self.globals:
            self.globals.append(full)
        if entry is not None and not isinstance(entry, Fn):
            return entry  # a storage type, a dtype value or a marker
        return Stub(full)

    def persistent_load(self, pid: Any) -> Any:
        if type(pid) is not tuple or len(pid) not in (5, 6):
            return Call(Stub("persistent_id"), (pid,))
        stype, key, location, numel = pid[1:5]
        dtype = stype.dtype if isinstance(stype, StorageType) else repr(stype)
        if type(location) is bytes:
            location = location.decode("ascii", "replace")
        key = str(key)
        info = StorageInfo(
            dtype,
            key,
            str(location),
            numel if type(numel) is int else -1,
            pid[5] if len(pid) == 6 else None,
            isinstance(stype, StorageType) and stype.untyped,
        )
        self.storages.setdefault(key, info)
        return info

    def reduce(self, func: Any, args: tuple[Any, ...]) -> Any:
        name = getattr(func, "name", None)
        if name in _TENSORS:
            return _tensor_info(name, args)
        if name in _PARAMETERS and args and isinstance(args[0], TensorInfo):
            args[0].parameter = True
            args[0].requires_grad = bool(args[1]) if len(args) > 1 else True
            return args[0]
        if name == "torch._tensor._rebuild_from_type_v2" and len(args) == 4:
            inner = args[2]
            if type(inner) is tuple:
                return self.reduce(args[0], inner)
        if name in _CONTAINERS:
            _, entry = lookup_builtin(*name.rsplit(".", 1))
            try:
                return entry.impl(args, self)
            except (CheckpointError, TypeError, ValueError):
                pass
        return Call(func, args)

    def newobj(self, cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if getattr(cls, "name", None) == "collections.OrderedDict" and not args:
            return OrderedDict()
        return Call(cls, args + ((kwargs,) if kwargs else ()))

    def build(self, inst: Any, state: Any) -> None:
        if isinstance(inst, Call):
            inst.state = state

    def extend(self, container: Any, items: list[Any]) -> None:
        if isinstance(container, Call):
            container.items.extend(items)

    def setitems(self, container: Any, items: list[Any]) -> None:
        if isinstance(container, Call):
            container.items.extend(items)


def _tensor_info(name: str, args: tuple[Any, ...]) -> Any:
    if len(args) < 4:
        return Call(Stub(name), args)
    storage, offset, size, stride = args[:4]
    if not isinstance(storage, StorageInfo):
        return Call(Stub(name), args)
    dtype = storage.dtype
    if name.endswith("_v3") and len(args) > 6:
        d = args[6]
        dtype = d if isinstance(d, str) else getattr(d, "__name__", repr(d))
    requires_grad = bool(args[4]) if len(args) > 4 and type(args[4]) is bool else False
    shape = tuple(size) if type(size) is tuple else ()
    return TensorInfo(
        dtype,
        shape,
        tuple(stride) if type(stride) is tuple else (),
        offset if type(offset) is int else 0,
        storage,
        requires_grad,
    )
