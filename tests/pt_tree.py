"""A canonical description of a loaded ``.pt`` object, to compare elman.load with torch.load.

:func:`describe` walks an object (torch's or elman's; torch is never imported here) and
returns ``(entries, arrays)``: one JSON-able entry per node (kind, keys, dtype, shape,
strides, sharing, plain values by ``repr``) and the tensors' values by path. Two loads are
equal when the entries are equal and every array is bit-identical (``tobytes``, so NaN
payloads and signed zeros count). Sharing is compared as structure: tensors are numbered by
storage in order of first appearance, with their element offset relative to the first
tensor of that storage; an object met twice is an ``alias`` of its first path.

What torch gives as a bfloat16 tensor is described as float32 (elman's widening, exact);
a ``torch.device`` as its string; ``torch.Size``/``elman.Size`` as a size; torch dtypes and
NumPy types as a dtype entry (``torch.bfloat16``, which NumPy lacks, as the string elman
gives).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

__all__ = ["describe", "assert_same", "encode", "decode"]


def _is_torch_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "untyped_storage")


def _root(arr: np.ndarray) -> Any:
    obj: Any = arr
    while getattr(obj, "base", None) is not None:
        obj = obj.base
    return obj


def _tensor(x: Any) -> tuple[dict[str, Any], np.ndarray, Any, int]:
    """(entry, values, storage identity, element position) of a torch or elman tensor."""
    if _is_torch_tensor(x):
        t = x.detach()
        dtype = str(t.dtype).split(".")[1]
        values = t.float().numpy() if dtype == "bfloat16" else t.numpy()
        entry = {
            "dtype": "float32" if dtype == "bfloat16" else dtype,
            "shape": list(t.shape),
            "stride": list(t.stride()),
            "requires_grad": bool(x.requires_grad),
            "parameter": type(x).__name__ == "Parameter",
        }
        return entry, values, t.untyped_storage().data_ptr(), t.storage_offset()
    arr = x._data
    ptr = arr.__array_interface__["data"][0]
    entry = {
        "dtype": arr.dtype.name,
        "shape": list(arr.shape),
        "stride": [s // arr.itemsize for s in arr.strides],
        "requires_grad": bool(x.requires_grad),
        "parameter": type(x).__name__ == "Parameter",
    }
    return entry, np.asarray(arr), id(_root(arr)), ptr // arr.itemsize


def _c(shape: tuple[int, ...]) -> list[int]:
    out, step = [], 1
    for n in reversed(shape):
        out.append(step)
        step *= max(n, 1)
    return list(reversed(out))


def _plain(v: Any) -> str | None:
    if v is None or type(v) in (bool, int, float, complex, str, bytes, bytearray):
        return repr(v)
    return None


def describe(obj: Any) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    entries: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    seen: dict[int, str] = {}
    keep: list[Any] = []
    storages: dict[Any, tuple[int, int, int]] = {}  # id -> (group, first position, itemsize)
    stack: list[tuple[str, Any]] = [("", obj)]
    while stack:
        path, node = stack.pop()
        plain = _plain(node)
        if plain is not None:
            entries.append({"path": path, "kind": "value", "repr": plain})
            continue
        if id(node) in seen:
            entries.append({"path": path, "kind": "alias", "of": seen[id(node)]})
            continue
        seen[id(node)] = path
        keep.append(node)
        name = type(node).__name__
        module = type(node).__module__
        if _is_torch_tensor(node) or (module.startswith("elman") and hasattr(node, "_data")):
            entry, values, storage, pos = _tensor(node)
            if storage not in storages:
                storages[storage] = (len(storages), pos, values.itemsize)
            group, first, _ = storages[storage]
            entry.update(path=path, kind="tensor", storage=group, offset=pos - first)
            entries.append(entry)
            arrays[path] = np.ascontiguousarray(values)
            continue
        if name == "device" and module.startswith("torch"):
            entries.append({"path": path, "kind": "value", "repr": repr(str(node))})
            continue
        if name == "dtype" and module.startswith("torch"):
            text = str(node).split(".")[1]
            if text == "bfloat16":  # no NumPy type: elman gives the name
                entries.append({"path": path, "kind": "value", "repr": repr(text)})
            else:
                entries.append({"path": path, "kind": "dtype", "name": text})
            continue
        if isinstance(node, type) and issubclass(node, np.generic):
            entries.append({"path": path, "kind": "dtype", "name": np.dtype(node).name})
            continue
        if name == "Size":
            entries.append({"path": path, "kind": "size", "value": [int(n) for n in node]})
            continue
        children: list[tuple[str, Any]] = []
        if isinstance(node, dict):
            kind = "odict" if isinstance(node, OrderedDict) else "dict"
            entries.append({"path": path, "kind": kind, "keys": [repr(k) for k in node]})
            children = [(f"{path}[{k!r}]", v) for k, v in node.items()]
            extra = dict(vars(node)) if isinstance(node, OrderedDict) else {}
            if extra:
                children.append((f"{path}.__dict__", extra))
        elif isinstance(node, (list, tuple)):
            entries.append({"path": path, "kind": type(node).__name__, "len": len(node)})
            children = [(f"{path}[{i}]", v) for i, v in enumerate(node)]
        elif isinstance(node, (set, frozenset)):
            items = sorted(repr(v) for v in node)
            entries.append({"path": path, "kind": type(node).__name__, "items": items})
        else:
            raise TypeError(f"pt_tree cannot describe {path}: {type(node)}")
        stack.extend(reversed(children))
    return entries, arrays


def assert_same(
    expected: tuple[list[dict[str, Any]], dict[str, np.ndarray]],
    actual: tuple[list[dict[str, Any]], dict[str, np.ndarray]],
    where: str = "",
    sharing: bool = True,
) -> None:
    """Equal structure, dtypes, shapes, strides, sharing (unless ``sharing=False``: the
    storage groups and offsets are not compared); bit-identical values."""
    e_entries, e_arrays = expected
    a_entries, a_arrays = actual
    assert len(a_entries) == len(e_entries), f"{where}: {len(a_entries)} != {len(e_entries)} nodes"
    for e, a in zip(e_entries, a_entries, strict=True):
        if not sharing:
            e = {k: v for k, v in e.items() if k not in ("storage", "offset")}
            a = {k: v for k, v in a.items() if k not in ("storage", "offset")}
        assert a == e, f"{where}: {a} != {e}"
    for path, e in e_arrays.items():
        a = a_arrays[path]
        assert a.dtype == e.dtype and a.shape == e.shape, f"{where} {path}: {a.dtype} {e.dtype}"
        assert a.tobytes() == e.tobytes(), f"{where} {path}: values differ"


def encode(desc: tuple[list[dict[str, Any]], dict[str, np.ndarray]]) -> dict[str, Any]:
    """``describe``'s result as JSON-able data (arrays: dtype, shape, base64 bytes)."""
    import base64

    entries, arrays = desc
    coded = {
        k: [a.dtype.str, list(a.shape), base64.b64encode(a.tobytes()).decode()]
        for k, a in arrays.items()
    }
    return {"entries": entries, "arrays": coded}


def decode(data: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    import base64

    arrays = {
        k: np.frombuffer(base64.b64decode(b), dtype=np.dtype(d)).reshape(shape)
        for k, (d, shape, b) in data["arrays"].items()
    }
    return data["entries"], arrays
