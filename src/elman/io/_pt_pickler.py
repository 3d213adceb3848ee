"""A pickle writer for what :func:`elman.save` stores, naming torch's globals.

The standard library's pickler names a class by importing it to check the name, which
fails for ``torch._utils._rebuild_tensor_v2`` without torch; this writer emits protocol-2
opcodes itself, for a closed set of values: None, bool, int, float, complex, str, bytes,
bytearray, tuple, list, dict, OrderedDict (with its attributes, e.g. ``_metadata``), set,
frozenset, tensors and arrays (through :class:`StoragePlan`), NumPy scalars and dtypes,
``elman.Size`` and elman modules (class by name, then state, as ``torch.save(model)``).
Containers and tensors met twice are written once and referred to (torch.load gives one
object back, as for ``torch.save``).
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from typing import Any

import numpy as np

from ..autograd import Size, Tensor
from ..nn.module import Module
from ..nn.parameter import Parameter
from ._pt_tensors import TORCH_DTYPES

__all__ = ["Pickler", "torch_dtype_name"]

# the NumPy dtypes torch names alike (bfloat16 and the float8s have no NumPy twin to write)
_TORCH_NAMES = {name: name for name, stored in TORCH_DTYPES.items() if stored == name}
_BATCH = 1000


def torch_dtype_name(dtype: np.dtype, where: str) -> str:
    name = _TORCH_NAMES.get(np.dtype(dtype).name)
    if name is None:
        raise TypeError(f"{where}: arrays of dtype {dtype} cannot be saved for torch")
    return name


class Pickler:
    """Emit the pickle of one object. ``tensor(value, path)`` is called for every tensor
    or array and must return ``(storage_pid_fields, rebuild_args)``: see :meth:`_tensor`."""

    def __init__(self, tensor_fields: Any) -> None:
        self.out = bytearray(b"\x80\x02")
        self._memo: dict[int, int] = {}  # id(object) -> memo index
        self._n = 0  # the next memo index
        self._keep: list[Any] = []  # keeps memoized objects alive: their ids stay unique
        self._globals: dict[str, int] = {}
        self._tensor_fields = tensor_fields

    def dump(self, obj: Any) -> bytes:
        self._save(obj, "obj")
        self.out += b"."
        return bytes(self.out)

    # ---- primitives ---------------------------------------------------------------------

    def _put(self, obj: Any = None) -> int:
        idx = self._n
        self._n += 1
        if obj is not None:
            self._memo[id(obj)] = idx
            self._keep.append(obj)
        self.out += b"q" + bytes([idx]) if idx < 256 else b"r" + struct.pack("<I", idx)
        return idx

    def _get(self, idx: int) -> None:
        self.out += b"h" + bytes([idx]) if idx < 256 else b"j" + struct.pack("<I", idx)

    def _int(self, v: int) -> None:
        if 0 <= v < 256:
            self.out += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.out += b"M" + struct.pack("<H", v)
        elif -(2**31) <= v < 2**31:
            self.out += b"J" + struct.pack("<i", v)
        else:
            data = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            if len(data) < 256:
                self.out += b"\x8a" + bytes([len(data)]) + data
            else:
                self.out += b"\x8b" + struct.pack("<i", len(data)) + data

    def _str(self, s: str) -> None:
        data = s.encode("utf-8", "surrogatepass")
        self.out += b"X" + struct.pack("<I", len(data)) + data

    def _global(self, module: str, name: str) -> None:
        key = f"{module} {name}"
        idx = self._globals.get(key)
        if idx is not None:
            self._get(idx)
            return
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        self._globals[key] = self._put()

    def _tuple(self, items: tuple[Any, ...], where: str) -> None:
        if not items:
            self.out += b")"
            return
        if len(items) <= 3:
            for i, v in enumerate(items):
                self._save(v, f"{where}[{i}]")
            self.out += {1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(items)]
            return
        self.out += b"("
        for i, v in enumerate(items):
            self._save(v, f"{where}[{i}]")
        self.out += b"t"

    def _reduce(self, module: str, name: str, args: tuple[Any, ...], where: str) -> None:
        self._global(module, name)
        self._tuple(args, where)
        self.out += b"R"

    def _items(self, items: list[tuple[Any, Any]], where: str) -> None:
        for start in range(0, len(items), _BATCH):
            self.out += b"("
            for k, v in items[start : start + _BATCH]:
                self._save(k, f"{where} key")
                self._save(v, f"{where}[{k!r}]")
            self.out += b"u"

    # ---- values -------------------------------------------------------------------------

    def _save(self, obj: Any, where: str) -> None:
        if obj is None:
            self.out += b"N"
        elif obj is True or obj is False:
            self.out += b"\x88" if obj else b"\x89"
        elif type(obj) is int:
            self._int(obj)
        elif type(obj) is float:
            self.out += b"G" + struct.pack(">d", obj)
        elif type(obj) is str:
            self._str(obj)
        elif isinstance(obj, np.generic):
            self._save(obj.item(), where)
        elif isinstance(obj, type) and issubclass(obj, np.generic) or isinstance(obj, np.dtype):
            self._global("torch", torch_dtype_name(np.dtype(obj), where))
        elif id(obj) in self._memo:
            self._get(self._memo[id(obj)])
        else:
            self._save_new(obj, where)

    def _save_new(self, obj: Any, where: str) -> None:
        if isinstance(obj, (Tensor, np.ndarray)):
            self._tensor(obj, where)
        elif type(obj) is complex:
            self._reduce("__builtin__", "complex", (obj.real, obj.imag), where)
        elif type(obj) is bytes:  # as protocol 2 does, but b"" too (torch refuses bytes())
            self._reduce("_codecs", "encode", (obj.decode("latin-1"), "latin1"), where)
            self._put(obj)
        elif type(obj) is bytearray:
            self._reduce("__builtin__", "bytearray", (obj.decode("latin-1"), "latin-1"), where)
            self._put(obj)
        elif isinstance(obj, Size):
            self._reduce("torch", "Size", (tuple(int(n) for n in obj),), where)
            self._put(obj)
        elif type(obj) is tuple:
            self._tuple(obj, where)
            if obj:
                self._put(obj)
        elif type(obj) is list:
            self.out += b"]"
            self._put(obj)
            for start in range(0, len(obj), _BATCH):
                self.out += b"("
                for i, v in enumerate(obj[start : start + _BATCH], start):
                    self._save(v, f"{where}[{i}]")
                self.out += b"e"
        elif type(obj) is dict:
            self.out += b"}"
            self._put(obj)
            self._items(list(obj.items()), where)
        elif type(obj) is OrderedDict:
            self._global("collections", "OrderedDict")
            self.out += b")R"
            self._put(obj)
            self._items(list(obj.items()), where)
            state = vars(obj)
            if state:
                self._save(dict(state), f"{where}.__dict__")
                self.out += b"b"
        elif type(obj) in (set, frozenset):
            name = "set" if type(obj) is set else "frozenset"
            self._reduce("__builtin__", name, (list(obj),), where)
            self._put(obj)
        elif isinstance(obj, Module):
            self._module(obj, where)
        else:
            raise TypeError(
                f"elman.save cannot write {where}, an object of type "
                f"{type(obj).__module__}.{type(obj).__qualname__} (it writes tensors, arrays, "
                "dicts, lists, tuples, sets, str, bytes, numbers, None and elman modules)"
            )

    def _module(self, obj: Module, where: str) -> None:
        cls = type(obj)
        if "<locals>" in cls.__qualname__:
            raise TypeError(
                f"elman.save cannot write {where}: class {cls.__qualname__} is defined inside "
                "a function, so no loader could find it by name"
            )
        self._global(cls.__module__, cls.__qualname__)
        self.out += b")\x81"  # EMPTY_TUPLE NEWOBJ: cls.__new__(cls)
        self._put(obj)
        self._save(obj.__getstate__(), f"{where}.__dict__")
        self.out += b"b"

    def _tensor(self, obj: Any, where: str) -> None:
        pid, offset, size, stride, dtype_global = self._tensor_fields(obj, where)
        is_param = isinstance(obj, Parameter)
        requires_grad = bool(isinstance(obj, Tensor) and obj.requires_grad)
        if is_param:
            self._global("torch._utils", "_rebuild_parameter")
        rebuild = "_rebuild_tensor_v3" if dtype_global else "_rebuild_tensor_v2"
        self._global("torch._utils", rebuild)
        self.out += b"("
        # the persistent id: ('storage', <storage class>, key, location, numel)
        self.out += b"("
        self._str("storage")
        self._global(*pid[0])
        self._str(pid[1])
        self._str("cpu")
        self._int(pid[2])
        self.out += b"tQ"
        self._int(offset)
        self._tuple(size, where)
        self._tuple(stride, where)
        self.out += b"\x88" if requires_grad and not is_param else b"\x89"
        self._global("collections", "OrderedDict")
        self.out += b")R"
        if dtype_global:
            self._global("torch", dtype_global)
        self.out += b"tR"
        if is_param:
            self.out += b"\x88" if obj.requires_grad else b"\x89"
            self._global("collections", "OrderedDict")
            self.out += b")R\x87R"
        self._put(obj)
