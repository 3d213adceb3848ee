""":func:`elman.io.describe`: what a ``.pt`` file holds, read with the inert policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._pt_archive import ZipArchive, open_blob, sniff
from ._pt_inert import Call, InertPolicy, StorageInfo, Stub, TensorInfo
from ._pt_load import legacy_layout, read_zip_pickle
from ._pt_policy import BUILTINS
from ._pt_vm import run_pickle

__all__ = ["describe_pt", "summarize"]

_PLAIN = (int, float, complex, str, bool, type(None))
_REGISTRIES = ("_parameters", "_buffers", "_modules")
_MAX_ITEMS = 100_000  # nodes visited; a description of a pathological file is cut short


def describe_pt(path: str) -> dict[str, Any]:
    blob, closer = open_blob(path, mmap=False)
    try:
        kind = sniff(blob)
        policy = InertPolicy(path)
        if kind == "zip":
            archive = ZipArchive(blob)
            obj = run_pickle(read_zip_pickle(archive), policy)
            byteorder = archive.byteorder
            sizes = {
                k: archive.entries[f"{archive.prefix}data/{k}"].file_size
                for k in policy.storages
                if f"{archive.prefix}data/{k}" in archive.entries
            }
        elif kind == "legacy":
            policy, _, obj, layout, byteorder = legacy_layout(blob)
            sizes = {k: (layout[k][1] * _per(policy.storages[k])) for k in layout}
        else:
            return {"file": path, "format": "tar", "note": "torch < 0.4 tar format, not read"}
    finally:
        if closer is not None:
            closer.close()
    out = summarize(obj, policy)
    out.update(file=path, format=kind, byteorder=byteorder, storage_bytes=sum(sizes.values()))
    return out


def _per(info: StorageInfo) -> int:
    from ._pt_tensors import TORCH_DTYPES

    stored = TORCH_DTYPES.get(info.dtype)
    if stored is None:
        return 1
    import numpy as np

    return int(np.dtype(stored).itemsize)


def _refused(name: str) -> bool:
    return name not in BUILTINS or name.startswith("torch._utils._rebuild_s")


def summarize(obj: Any, policy: InertPolicy) -> dict[str, Any]:
    """Tensors, objects and plain values under ``obj`` with their paths (iteratively,
    each object once: shared and cyclic structures are fine)."""
    tensors: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    seen: set[int] = set()
    stack: list[tuple[str, Any, bool]] = [("", obj, False)]  # path, node, inside an object
    visited = 0
    while stack and visited < _MAX_ITEMS:
        path, node, inside = stack.pop()
        visited += 1
        if isinstance(node, TensorInfo):
            if id(node) not in seen:  # a tensor met twice (tied, or _flat_weights) once
                seen.add(id(node))
                tensors.append(_tensor_row(path, node))
            continue
        if isinstance(node, _PLAIN) or isinstance(node, (bytes, bytearray)):
            if path and not inside and not isinstance(node, (bytes, bytearray)):
                values[path] = node  # (an object's plain attributes are in its row)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        children: list[tuple[str, Any]] = []
        inside = inside or isinstance(node, Call)
        if isinstance(node, Call):
            objects.append(_object_row(path, node))
            if isinstance(node.state, Mapping):
                for k, v in node.state.items():
                    if k in _REGISTRIES and isinstance(v, Mapping):  # state-dict names
                        children += [(_join(path, kk), vv) for kk, vv in v.items()]
                    else:
                        children.append((_join(path, k), v))
            elif node.state is not None:
                children.append((_join(path, "__state__"), node.state))
            children += [(_join(path, f"[{i}]"), v) for i, v in enumerate(node.args)]
            children += [(_join(path, f"<{i}>"), v) for i, v in enumerate(node.items)]
        elif isinstance(node, Mapping):
            children += [(_join(path, k), v) for k, v in node.items()]
        elif isinstance(node, (list, tuple, set, frozenset)):
            children += [(_join(path, str(i)), v) for i, v in enumerate(node)]
        stack.extend((p, v, inside) for p, v in reversed(children))
    return {
        "globals": sorted(policy.globals),
        "refused": sorted(n for n in policy.globals if _refused(n)),
        "tensors": tensors,
        "objects": objects,
        "values": values,
        "truncated": bool(stack),
    }


def _tensor_row(path: str, t: TensorInfo) -> dict[str, Any]:
    storage = t.storage
    return {
        "name": path,
        "dtype": t.dtype,
        "shape": list(t.shape),
        "bytes": t.nbytes,
        "storage": storage.key if storage else None,
        "device": storage.location if storage else None,
        "parameter": t.parameter,
        "requires_grad": t.requires_grad,
    }


def _object_row(path: str, call: Call) -> dict[str, Any]:
    state = call.state if isinstance(call.state, Mapping) else {}
    hyper = {
        str(k): v
        for k, v in state.items()
        if isinstance(v, _PLAIN) and not (isinstance(k, str) and k.startswith("_"))
    }
    func = call.func
    name = func.name if isinstance(func, Stub) else getattr(func, "name", repr(func))
    return {"name": path or "<top>", "class": name, "attributes": hyper}


def _join(path: str, key: Any) -> str:
    key = str(key)
    return f"{path}.{key}" if path else key
