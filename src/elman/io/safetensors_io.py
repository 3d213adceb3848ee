"""Bare weights files in the safetensors format, readable by torch, NumPy, JAX and others.

The files elman writes are standard safetensors: ``safetensors.torch.load_file(path)`` gives
torch tensors that ``torch.nn.RNN.load_state_dict`` accepts, and files torch writes load here.
The header metadata carries ``"format": "pt"`` (the state-dict layout is torch's) and
``"elman.content_sha256"``, a SHA-256 over every tensor's name, dtype, shape and bytes that
:func:`load_weights` verifies when present. The ``safetensors`` package is imported on first
use only, so ``import elman`` stays cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd import Tensor
from ._atomic import atomic_write_file
from ._errors import CheckpointError

__all__ = ["save_weights", "load_weights"]

StrPath = str | os.PathLike[str]

#: NumPy dtypes that safetensors stores (bfloat16 and float8 have no NumPy dtype).
SUPPORTED_DTYPES = frozenset(
    ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]
    + ["float16", "float32", "float64", "complex64"]
)
DIGEST_KEY = "elman.content_sha256"


def as_array(value: Any, where: str) -> np.ndarray:
    """``value`` (ndarray, elman Tensor, or anything with ``__array__``) as a storable array."""
    arr = value.detach()._data if isinstance(value, Tensor) else np.asarray(value)
    if arr.dtype.name not in SUPPORTED_DTYPES or arr.dtype.fields is not None:
        raise TypeError(
            f"{where}: arrays of dtype {arr.dtype} cannot be stored in safetensors "
            f"(supported: {', '.join(sorted(SUPPORTED_DTYPES))})"
        )
    return arr


def content_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over names, dtypes, shapes and little-endian bytes, independent of file layout."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = arrays[name]
        h.update(json.dumps([name, a.dtype.name, list(a.shape)]).encode() + b"\n")
        little = a.astype(a.dtype.newbyteorder("<"), order="C", copy=False)
        h.update(little.reshape(-1).view(np.uint8).data)
    return h.hexdigest()


def serialize(arrays: Mapping[str, np.ndarray]) -> bytes:
    """The bytes of a safetensors file holding ``arrays`` (with a content digest)."""
    from safetensors.numpy import save

    if "__metadata__" in arrays:
        raise ValueError("'__metadata__' is reserved by safetensors and cannot name a tensor")
    # not np.ascontiguousarray, which turns 0-d arrays into shape (1,)
    contiguous = {k: v if v.flags.c_contiguous else v.copy(order="C") for k, v in arrays.items()}
    return save(contiguous, metadata={"format": "pt", DIGEST_KEY: content_digest(contiguous)})


def _header(data: bytes, name: str) -> dict[str, Any]:
    if len(data) < 8:
        raise CheckpointError(f"{name}: not a safetensors file (only {len(data)} bytes)")
    n = int.from_bytes(data[:8], "little")
    try:
        if n > len(data) - 8:
            raise ValueError(f"header of {n} bytes in a file of {len(data)}")
        header = json.loads(data[8 : 8 + n])
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError included
        raise CheckpointError(f"{name}: not a valid safetensors file ({e})") from None
    return header


def deserialize(data: bytes, name: str) -> dict[str, np.ndarray]:
    """Parse safetensors bytes into writable arrays, in header order; verify the digest.

    Raises:
        CheckpointError: the bytes are not valid safetensors, or the tensors do not match the
            content digest recorded in the header.
    """
    from safetensors.numpy import load

    header = _header(data, name)
    try:
        loaded = load(data)
    except Exception as e:  # safetensors raises its own SafetensorError
        raise CheckpointError(f"{name}: not a valid safetensors file ({e})") from None
    order = [k for k in header if k != "__metadata__"]
    arrays = {k: np.array(loaded[k], copy=True) for k in order}  # writable, owning memory
    metadata = header.get("__metadata__") or {}
    expected = metadata.get(DIGEST_KEY) if isinstance(metadata, dict) else None
    if expected is not None and content_digest(arrays) != expected:
        raise CheckpointError(
            f"{name}: tensor data do not match the SHA-256 recorded in the file header "
            "(the file was altered or corrupted)"
        )
    return arrays


def state_dict_arrays(model_or_state_dict: Any) -> dict[str, np.ndarray]:
    """The flat ``{name: ndarray}`` of a module (its ``state_dict()``) or of a state dict."""
    sd = model_or_state_dict
    if not isinstance(sd, Mapping) and callable(getattr(sd, "state_dict", None)):
        sd = sd.state_dict()
    if not isinstance(sd, Mapping):
        raise TypeError(
            f"expected a module or a state dict (a mapping of names to arrays), got {type(sd)}"
        )
    out: dict[str, np.ndarray] = {}
    for key, value in sd.items():
        if not isinstance(key, str):
            raise TypeError(f"state dict keys must be str, got {key!r}")
        out[key] = as_array(value, f"state_dict[{key!r}]")
    return out


def save_weights(path: StrPath, model_or_state_dict: Any) -> None:
    r"""Save a module's parameters and buffers as one safetensors file, atomically.

    The file is written next to ``path`` under a temporary name, fsynced and renamed over
    ``path``, so a crash leaves the old file or the new one, never a torn file. The result
    is standard safetensors with torch's state-dict names: torch users read it with
    ``safetensors.torch.load_file(path)`` and ``torch.nn.RNN.load_state_dict``.

    Args:
        path (str or os.PathLike): the file to write, conventionally ``*.safetensors``.
        model_or_state_dict: a module (anything with ``state_dict()``), or a mapping of str
            names to ndarrays, elman Tensors or other objects with ``__array__``.

    Raises:
        TypeError: a key is not a str, or a value's dtype cannot be stored (object, str,
            complex128, structured arrays).

    Example::

        >>> import os, tempfile
        >>> import elman
        >>> rnn = elman.nn.RNN(2, 3)
        >>> path = os.path.join(tempfile.mkdtemp(), "rnn.safetensors")
        >>> elman.io.save_weights(path, rnn)
        >>> sorted(elman.io.load_weights(path))
        ['bias_hh_l0', 'bias_ih_l0', 'weight_hh_l0', 'weight_ih_l0']
    """
    data = serialize(state_dict_arrays(model_or_state_dict))
    atomic_write_file(Path(path), data)


def load_weights(path: StrPath) -> dict[str, np.ndarray]:
    r"""Load a safetensors file as a dict of NumPy arrays, ready for ``load_state_dict``.

    Reads files written by :func:`save_weights`, by ``safetensors.torch.save_file`` and by
    any other safetensors writer. Nothing in the file is executed. When the header carries
    elman's content digest it is verified.

    Args:
        path (str or os.PathLike): the safetensors file.

    Returns:
        dict[str, np.ndarray]: writable arrays (copies), in the file's order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: the file is not valid safetensors (truncated, malformed header),
            or its tensors do not match the recorded digest.

    Example::

        >>> import os, tempfile
        >>> import numpy as np
        >>> import elman
        >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
        >>> elman.io.save_weights(path, {"weight": np.eye(2, dtype=np.float32)})
        >>> elman.io.load_weights(path)["weight"]
        array([[1., 0.],
               [0., 1.]], dtype=float32)
    """
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read()
    return deserialize(data, str(path))
