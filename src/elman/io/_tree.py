"""Nested state <-> JSON plus a flat dict of arrays, without pickle.

An optimizer's or scheduler's ``state_dict()`` (dicts, lists, tuples, numbers, strings, None,
ndarrays, NumPy scalars, elman Tensors) is encoded as JSON in which every array is replaced
by a reference to a named entry of a safetensors file. Plain JSON stays plain, so configs
read naturally in ``meta.json``; the rest is tagged with objects whose keys start with
``__`` (a dict encoded as a plain JSON object never has such a key):

==========================================  ============================================
Python value                                JSON
==========================================  ============================================
None, bool, int, str, finite float          itself
float nan / inf / -inf                      ``{"__float__": "nan"}`` (standard JSON only)
list                                        a list
tuple                                       ``{"__tuple__": [...]}``
dict with str keys not starting with __     an object
any other dict (int keys, ...)              ``{"__dict__": [[key, value], ...]}``
np.ndarray                                  ``{"__array__": "<tensor name>"}``
NumPy scalar (np.float32(1), ...)           ``{"__scalar__": "<tensor name>"}`` (0-d)
elman Tensor                                ``{"__tensor__": "<name>", "requires_grad": b}``
==========================================  ============================================

Tensor names are the Python path of the value (``optimizer['state'][0]['exp_avg']``). An
array object that appears twice is stored once and comes back as one shared array. Dict
and list subclasses come back as dict and list; key order is kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..autograd import Tensor
from ._errors import CheckpointError
from .safetensors_io import as_array

__all__ = ["TreeEncoder", "TreeDecoder"]

_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class TreeEncoder:
    """Encode nested values to JSON-able data, collecting arrays in :attr:`arrays`."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._names: dict[int, str] = {}  # id(array or Tensor) -> tensor name, for sharing
        self._keep: list[Any] = []  # keeps objects alive so their ids stay unique

    def encode(self, obj: Any, where: str, *, in_key: bool = False) -> Any:
        """The JSON form of ``obj``; ``where`` names it in error messages and tensor names."""
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (np.ndarray, np.generic, Tensor)):
            if in_key:
                raise TypeError(f"{where}: arrays and tensors cannot be dict keys in a checkpoint")
            return self._encode_array(obj, where)
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            value = float(obj)
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(obj, tuple):
            items = [self.encode(v, f"{where}[{i}]", in_key=in_key) for i, v in enumerate(obj)]
            return {"__tuple__": items}
        if isinstance(obj, list) and not in_key:
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, Mapping) and not in_key:
            return self._encode_dict(obj, where)
        raise TypeError(
            f"{where}: cannot store an object of type {type(obj).__qualname__} in a checkpoint "
            "(supported: dict, list, tuple, str, int, float, bool, None, NumPy arrays and "
            "scalars, elman Tensors)"
        )

    def _encode_dict(self, obj: Mapping[Any, Any], where: str) -> Any:
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: self.encode(v, f"{where}[{k!r}]") for k, v in obj.items()}
        pairs = [
            [self.encode(k, f"{where} key {k!r}", in_key=True), self.encode(v, f"{where}[{k!r}]")]
            for k, v in obj.items()
        ]
        return {"__dict__": pairs}

    def _encode_array(self, obj: Any, where: str) -> Any:
        name = self._names.get(id(obj))
        if name is None:
            name, n = where, 1
            while name in self.arrays:  # paths are unique; this is only a safety net
                name, n = f"{where}~{n}", n + 1
            value = np.asarray(obj) if isinstance(obj, np.generic) else obj
            self.arrays[name] = as_array(value, where)
            self._names[id(obj)] = name
            self._keep.append(obj)
        if isinstance(obj, Tensor):
            return {"__tensor__": name, "requires_grad": obj.requires_grad}
        return {"__scalar__" if isinstance(obj, np.generic) else "__array__": name}


class TreeDecoder:
    """Rebuild values encoded by :class:`TreeEncoder` from the JSON and the loaded arrays.

    Args:
        arrays: the tensors of the arrays file.
        source: the arrays file's name, for error messages.
        meta_source: the JSON file's name, for error messages.
    """

    def __init__(self, arrays: Mapping[str, np.ndarray], source: str, meta_source: str) -> None:
        self._arrays = arrays
        self._source = source
        self._meta_source = meta_source
        self._made: dict[tuple[str, str], Any] = {}  # shared arrays come back shared

    def decode(self, node: Any, where: str) -> Any:
        """The Python value of JSON ``node``.

        Raises:
            CheckpointError: ``node`` is not something :class:`TreeEncoder` writes, or refers
                to a tensor the arrays file does not hold.
        """
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if not isinstance(node, dict):
            raise self._malformed(where, node)
        if not any(k.startswith("__") for k in node):
            return {k: self.decode(v, f"{where}[{k!r}]") for k, v in node.items()}
        try:
            return self._decode_tagged(node, where)
        except (TypeError, ValueError, KeyError) as e:
            if isinstance(e, CheckpointError):
                raise
            raise self._malformed(where, node) from None

    def _decode_tagged(self, node: dict[str, Any], where: str) -> Any:
        tag = next(iter(node))
        if tag == "__tuple__" and len(node) == 1:
            return tuple(self.decode(v, f"{where}[{i}]") for i, v in enumerate(node[tag]))
        if tag == "__dict__" and len(node) == 1:
            return {self.decode(k, f"{where} key"): self.decode(v, where) for k, v in node[tag]}
        if tag == "__float__" and len(node) == 1:
            return _FLOATS[node[tag]]
        if tag in ("__array__", "__scalar__") and len(node) == 1:
            return self._array(tag, node[tag], where)
        if tag == "__tensor__" and set(node) == {tag, "requires_grad"}:
            return self._array(tag, node[tag], where, bool(node["requires_grad"]))
        raise ValueError(tag)

    def _array(self, tag: str, name: str, where: str, requires_grad: bool = False) -> Any:
        key = (tag, name)
        if key not in self._made:
            if name not in self._arrays:
                raise CheckpointError(f"{self._source}: missing tensor {name!r} needed for {where}")
            arr = self._arrays[name]
            if tag == "__scalar__":
                self._made[key] = arr[()]
            elif tag == "__tensor__":
                self._made[key] = Tensor._make(arr, requires_grad=requires_grad)
            else:
                self._made[key] = arr
        return self._made[key]

    def _malformed(self, where: str, node: Any) -> CheckpointError:
        text = repr(node)
        text = text if len(text) <= 80 else text[:77] + "..."
        return CheckpointError(f"{self._meta_source}: malformed entry at {where}: {text}")
