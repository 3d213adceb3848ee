"""What :func:`elman.load` lets a ``.pt`` file's pickle build: the fixed allowlist.

Every global a file may name is in :data:`BUILTINS`, each bound to elman's own
implementation (the named torch function is never looked up), or is a class the user
allowlisted (:mod:`._pt_globals`). REDUCE calls only the implementations of the table;
NEWOBJ creates only allowlisted classes (``cls.__new__``, never ``cls(...)``); BUILD sets
the state of OrderedDicts and of objects NEWOBJ created from allowlisted classes.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..autograd import Size, Tensor
from ..nn.parameter import Parameter
from ._errors import CheckpointError, UnsafeFileError
from ._pt_tensors import STORAGE_CLASSES, TORCH_DTYPES, StorageType, dtype_value, rebuild_tensor

__all__ = ["BUILTINS", "Fn", "Marker", "UserGlobal", "Context", "lookup_builtin", "StorageLoader"]

StorageLoader = Callable[[StorageType, str, str, int, Any], Any]


class Context(Protocol):
    """What an implementation may use of the policy running it."""

    where: str

    def newobj(self, cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class Fn:
    """A callable of the fixed table: REDUCE runs ``impl(args, policy)``, elman's code."""

    name: str
    impl: Callable[[tuple[Any, ...], Context], Any]

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Marker:
    """A global that is only a value to compare with (``torch.Tensor`` as a rebuild's
    type, ``builtins.object`` as a reconstructor's base); calling it is refused."""

    name: str

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class UserGlobal:
    """An allowlisted class (or function) the file named."""

    name: str
    obj: Any


def _ordered_dict(args: tuple[Any, ...], p: Context) -> Any:
    if args == ():
        return OrderedDict()
    if len(args) == 1 and type(args[0]) in (list, tuple, dict):
        return OrderedDict(args[0])
    raise CheckpointError(f"{p.where}: OrderedDict rebuilt from {len(args)} arguments")


def _counter(args: tuple[Any, ...], p: Context) -> Any:
    if args == () or (len(args) == 1 and type(args[0]) is dict):
        return Counter(*args)
    raise CheckpointError(f"{p.where}: Counter rebuilt from unexpected arguments")


def _collection(kind: type) -> Callable[[tuple[Any, ...], Context], Any]:
    def make(args: tuple[Any, ...], p: Context) -> Any:
        if args == ():
            return kind()
        if len(args) == 1 and type(args[0]) in (list, tuple, set, frozenset):
            return kind(args[0])
        raise CheckpointError(f"{p.where}: {kind.__name__} rebuilt from unexpected arguments")

    return make


def _complex(args: tuple[Any, ...], p: Context) -> Any:
    if 1 <= len(args) <= 2 and all(type(a) in (int, float) for a in args):
        return complex(*args)
    raise CheckpointError(f"{p.where}: complex rebuilt from {args!r}")


def _encode(args: tuple[Any, ...], p: Context) -> Any:
    # protocol 2 writes bytes as _codecs.encode(text, "latin1")
    if len(args) == 2 and type(args[0]) is str and args[1] in ("latin1", "latin-1"):
        return args[0].encode("latin-1")
    raise CheckpointError(f"{p.where}: _codecs.encode called with {args!r}")


def _bytes(kind: type) -> Callable[[tuple[Any, ...], Context], Any]:
    def make(args: tuple[Any, ...], p: Context) -> Any:
        if args == ():
            return kind()
        if len(args) == 1 and type(args[0]) is bytes:
            return kind(args[0])
        if len(args) == 2 and type(args[0]) is str and args[1] in ("latin1", "latin-1"):
            return kind(args[0].encode("latin-1"))
        raise CheckpointError(f"{p.where}: {kind.__name__} rebuilt from unexpected arguments")

    return make


def _size(args: tuple[Any, ...], p: Context) -> Any:
    if len(args) == 1 and type(args[0]) in (tuple, list) and all(type(n) is int for n in args[0]):
        return Size(args[0])
    raise CheckpointError(f"{p.where}: torch.Size rebuilt from {args!r}")


def _device(args: tuple[Any, ...], p: Context) -> Any:
    # torch.device values come back as strings: "cpu", "cuda:0"
    if len(args) == 1 and type(args[0]) is str and len(args[0]) < 64:
        return args[0]
    if len(args) == 2 and type(args[0]) is str and len(args[0]) < 64 and type(args[1]) is int:
        if not 0 <= args[1] < 128:  # torch keeps the index in an int8 (and wraps others)
            raise CheckpointError(f"{p.where}: torch.device index {args[1]} out of range")
        return f"{args[0]}:{args[1]}"
    raise CheckpointError(f"{p.where}: torch.device rebuilt from {args!r}")


def _check_hooks(hooks: Any, p: Context) -> None:
    if type(hooks) not in (OrderedDict, dict) or hooks:
        raise CheckpointError(f"{p.where}: a tensor's backward hooks must be an empty dict")


def _tensor_v1(args: tuple[Any, ...], p: Context) -> Any:
    if len(args) != 4:
        raise CheckpointError(f"{p.where}: _rebuild_tensor takes 4 arguments, got {len(args)}")
    return rebuild_tensor(*args, False, p.where)


def _tensor_v2(args: tuple[Any, ...], p: Context) -> Any:
    if len(args) not in (6, 7):
        raise CheckpointError(f"{p.where}: _rebuild_tensor_v2 takes 6 or 7 arguments")
    storage, offset, size, stride, requires_grad, hooks = args[:6]
    _check_hooks(hooks, p)
    return rebuild_tensor(storage, offset, size, stride, requires_grad, p.where)


def _tensor_v3(args: tuple[Any, ...], p: Context) -> Any:
    if len(args) not in (7, 8):
        raise CheckpointError(f"{p.where}: _rebuild_tensor_v3 takes 7 or 8 arguments")
    storage, offset, size, stride, requires_grad, hooks, dtype = args[:7]
    _check_hooks(hooks, p)
    name = dtype if isinstance(dtype, str) else getattr(dtype, "__name__", None)
    name = {"bool_": "bool"}.get(name, name)  # type: ignore[arg-type]
    if name is None or name not in TORCH_DTYPES:
        raise CheckpointError(f"{p.where}: _rebuild_tensor_v3 with dtype {dtype!r}")
    return rebuild_tensor(storage, offset, size, stride, requires_grad, p.where, dtype=name)


def _parameter(args: tuple[Any, ...], p: Context) -> Any:
    if len(args) == 4:  # _rebuild_parameter_with_state
        if args[3] not in ({}, None) or type(args[3]) not in (dict, OrderedDict, type(None)):
            raise UnsafeFileError(
                f"{p.where}: a Parameter with Python attributes ({args[3]!r}); elman.load "
                "does not set attributes a file names"
            )
        args = args[:3]
    if len(args) != 3 or not isinstance(args[0], Tensor) or type(args[1]) is not bool:
        raise CheckpointError(f"{p.where}: _rebuild_parameter with unexpected arguments")
    _check_hooks(args[2], p)
    data = args[0]
    if args[1] and data._data.dtype.kind not in "fc":
        raise CheckpointError(f"{p.where}: a Parameter of dtype {data.dtype} cannot require grad")
    return Parameter(data._data, requires_grad=args[1])


def _from_type_v2(args: tuple[Any, ...], p: Context) -> Any:
    if len(args) != 4 or type(args[2]) is not tuple:
        raise CheckpointError(f"{p.where}: _rebuild_from_type_v2 with unexpected arguments")
    func, new_type, inner, state = args
    if func not in _REBUILDERS.values() or new_type not in _TENSOR_TYPES:
        raise UnsafeFileError(
            f"{p.where}: _rebuild_from_type_v2 of {func!r} as {new_type!r}: only torch "
            "tensors and parameters are rebuilt (no tensor subclasses)"
        )
    if state not in (None, {}) or type(state) not in (dict, OrderedDict, type(None)):
        raise UnsafeFileError(
            f"{p.where}: a tensor with Python attributes ({state!r}); elman.load does not "
            "set attributes a file names"
        )
    tensor = func.impl(inner, p)
    if new_type.name == "torch.nn.parameter.Parameter":
        return Parameter(tensor._data, requires_grad=tensor.requires_grad)
    return tensor


def _unsupported(kind: str) -> Callable[[tuple[Any, ...], Context], Any]:
    def refuse(args: tuple[Any, ...], p: Context) -> Any:
        raise CheckpointError(f"{p.where}: the file holds a {kind} tensor, which elman cannot hold")

    return refuse


_REBUILDERS = {
    "torch._utils._rebuild_tensor": Fn("torch._utils._rebuild_tensor", _tensor_v1),
    "torch._utils._rebuild_tensor_v2": Fn("torch._utils._rebuild_tensor_v2", _tensor_v2),
    "torch._utils._rebuild_tensor_v3": Fn("torch._utils._rebuild_tensor_v3", _tensor_v3),
    "torch._utils._rebuild_parameter": Fn("torch._utils._rebuild_parameter", _parameter),
    "torch._utils._rebuild_parameter_with_state": Fn(
        "torch._utils._rebuild_parameter_with_state", _parameter
    ),
}
_TENSOR_TYPES = (Marker("torch.Tensor"), Marker("torch.nn.parameter.Parameter"))


def _reconstructor(args: tuple[Any, ...], p: Context) -> Any:
    # protocol 0/1 spelling of "create an instance": copyreg._reconstructor(cls, object, None)
    if len(args) == 3 and args[1] == Marker("builtins.object") and args[2] is None:
        return p.newobj(args[0], (), {})
    raise UnsafeFileError(f"{p.where}: copyreg._reconstructor with {args!r}")


def _table() -> dict[str, Any]:
    table: dict[str, Any] = {
        "collections.OrderedDict": Fn("collections.OrderedDict", _ordered_dict),
        "collections.Counter": Fn("collections.Counter", _counter),
        "builtins.set": Fn("builtins.set", _collection(set)),
        "builtins.frozenset": Fn("builtins.frozenset", _collection(frozenset)),
        "builtins.complex": Fn("builtins.complex", _complex),
        "builtins.bytearray": Fn("builtins.bytearray", _bytes(bytearray)),
        "builtins.bytes": Fn("builtins.bytes", _bytes(bytes)),
        "_codecs.encode": Fn("_codecs.encode", _encode),
        "copyreg._reconstructor": Fn("copyreg._reconstructor", _reconstructor),
        "builtins.object": Marker("builtins.object"),
        "torch.Size": Fn("torch.Size", _size),
        "torch.device": Fn("torch.device", _device),
        "torch._tensor._rebuild_from_type_v2": Fn(
            "torch._tensor._rebuild_from_type_v2", _from_type_v2
        ),
        **_REBUILDERS,
        **{m.name: m for m in _TENSOR_TYPES},
        "torch.storage.UntypedStorage": StorageType("UntypedStorage", "uint8", untyped=True),
    }
    for kind in ("sparse_tensor", "qtensor", "meta_tensor_no_storage", "nested_tensor"):
        name = f"torch._utils._rebuild_{kind}"
        table[name] = Fn(name, _unsupported(kind.replace("_tensor", "").replace("_", " ")))
    for cls, dtype in STORAGE_CLASSES.items():
        table[f"torch.{cls}"] = StorageType(cls, dtype)
        table[f"torch.cuda.{cls}"] = StorageType(cls, dtype)  # legacy CUDA checkpoints
    for name in TORCH_DTYPES:
        table[f"torch.{name}"] = dtype_value(name)
    return table


BUILTINS = _table()
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


def lookup_builtin(module: str, name: str) -> tuple[str, Any]:
    """The file's ``module.name`` in canonical form, and its table entry (or None)."""
    full = f"{_PY2_MODULES.get(module, module)}.{name}"
    return full, BUILTINS.get(full)
