"""Storages and tensors of torch's ``.pt`` files as NumPy arrays, with every bound checked.

A torch tensor is a view of a storage (a flat run of elements): ``storage_offset``,
``size`` and ``stride`` in elements. Here a storage is one NumPy array of its raw bytes
(read, or mapped with ``mmap``), typed per dtype on demand, and a tensor is
``np.lib.stride_tricks.as_strided`` over it, after checking that every element it can
reach lies inside the storage. Tensors of one storage stay views of one array, so tied
weights stay tied.

dtypes: float32/64, float16, int8/16/32/64, uint8/16/32/64, bool and complex64/128 keep
their NumPy dtype. bfloat16 has no NumPy dtype (the ``ml_dtypes`` package adds one, which
elman does not depend on: elman computes in float32/float64 only), so a bfloat16 storage
is widened to float32, exactly (a bfloat16 is the top half of a float32's bits). float8,
complex32, quantized and bit-packed dtypes are refused with their name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd import Tensor
from ._errors import CheckpointError

__all__ = [
    "STORAGE_CLASSES",
    "TORCH_DTYPES",
    "StorageType",
    "Storage",
    "StorageRef",
    "dtype_value",
    "rebuild_tensor",
    "MAX_DIMS",
]

#: torch's typed storage classes (``torch.FloatStorage``, ...) and the dtype each holds.
STORAGE_CLASSES = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
    "ComplexHalfStorage": "complex32",
    "QInt8Storage": "qint8",
    "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32",
    "QUInt4x2Storage": "quint4x2",
    "QUInt2x4Storage": "quint2x4",
}

#: torch dtype names and the NumPy dtype of their elements as stored (None: no NumPy
#: dtype holds them). bfloat16 is stored as uint16 and widened on load.
TORCH_DTYPES: dict[str, str | None] = {
    "float32": "float32",
    "float64": "float64",
    "float16": "float16",
    "bfloat16": "uint16",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "bool": "bool",
    "complex64": "complex64",
    "complex128": "complex128",
    "complex32": None,
    "float8_e4m3fn": None,
    "float8_e5m2": None,
    "float8_e4m3fnuz": None,
    "float8_e5m2fnuz": None,
    "float8_e8m0fnu": None,
    "float4_e2m1fn_x2": None,
    "qint8": None,
    "quint8": None,
    "qint32": None,
    "quint4x2": None,
    "quint2x4": None,
    **{f"uint{b}": None for b in range(1, 8)},
    **{f"int{b}": None for b in range(1, 8)},
    "bits8": None,
    "bits16": None,
    "bits1x8": None,
    "bits2x4": None,
    "bits4x2": None,
}

MAX_DIMS = 64  # torch's limit on a tensor's rank
_MAX_ELEMENTS = 1 << 62


def dtype_value(name: str) -> Any:
    """What a ``torch.<dtype>`` global in a file becomes: the NumPy scalar type
    (``elman.float32`` is ``numpy.float32``), or the dtype's name where NumPy has none
    (``"bfloat16"``)."""
    stored = TORCH_DTYPES[name]
    if stored is None or name == "bfloat16":
        return name
    return np.dtype(stored).type


@dataclass(frozen=True)
class StorageType:
    """What a storage-class global (``torch.FloatStorage``) stands for: only its dtype.
    ``torch.storage.UntypedStorage`` is ``"uint8"`` with ``untyped=True``."""

    name: str
    dtype: str
    untyped: bool = False


@dataclass
class Storage:
    """The raw bytes of one storage (``data/<key>``), typed on demand.

    Args:
        raw: a 1-D uint8 array over the bytes (read, or mapped).
        key: the storage's key in the file, for messages.
        byteorder: ``"little"`` or ``"big"``; big-endian elements are swapped (a copy).
    """

    raw: np.ndarray
    key: str
    byteorder: str = "little"
    _typed: dict[str, np.ndarray] = field(default_factory=dict)

    def typed(self, dtype: str, where: str) -> np.ndarray:
        """The storage as a 1-D array of torch dtype ``dtype`` (bfloat16: widened to
        float32), the same array for every tensor asking for it."""
        if dtype in self._typed:
            return self._typed[dtype]
        stored = TORCH_DTYPES.get(dtype)
        if stored is None:
            raise CheckpointError(
                f"{where}: storage {self.key!r} holds dtype {dtype}, which elman cannot "
                "represent (supported: float16/32/64, bfloat16 (as float32), int8-64, "
                "uint8-64, bool, complex64/128)"
            )
        np_dtype = np.dtype(stored)
        if self.raw.nbytes % np_dtype.itemsize:
            raise CheckpointError(
                f"{where}: storage {self.key!r} has {self.raw.nbytes} bytes, not a whole "
                f"number of {dtype} elements"
            )
        if self.byteorder == "big" and np_dtype.itemsize > 1:
            arr = self.raw.view(np_dtype.newbyteorder(">")).astype(np_dtype)
        else:
            arr = self.raw.view(np_dtype)
        if dtype == "bfloat16":  # exact: a bfloat16 is the high half of a float32
            arr = (arr.astype(np.uint32) << np.uint32(16)).view(np.float32)
        self._typed[dtype] = arr
        return arr


@dataclass(frozen=True)
class StorageRef:
    """What a persistent id resolves to: a storage, the dtype it is read as, and (for
    the legacy format's storage views) the element range of the view."""

    storage: Storage
    dtype: str
    start: int
    length: int
    location: str
    untyped: bool = False


def _int_tuple(value: Any, what: str, where: str) -> tuple[int, ...]:
    if type(value) is not tuple or len(value) > MAX_DIMS:
        raise CheckpointError(f"{where}: tensor {what} must be a tuple of at most {MAX_DIMS} ints")
    if not all(type(v) is int and v >= 0 for v in value):
        raise CheckpointError(f"{where}: tensor {what} {value!r} holds a negative or non-int entry")
    return value


def rebuild_tensor(
    ref: Any,
    offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any,
    where: str,
    dtype: str | None = None,
) -> Tensor:
    """The tensor ``torch._utils._rebuild_tensor_v2`` would make, as an elman Tensor
    viewing the storage. ``dtype`` overrides the storage's (``_rebuild_tensor_v3``)."""
    if not isinstance(ref, StorageRef):
        raise CheckpointError(f"{where}: a tensor's storage is not a storage of this file")
    if type(offset) is not int or offset < 0:
        raise CheckpointError(f"{where}: tensor storage offset {offset!r} is not an int >= 0")
    size = _int_tuple(size, "size", where)
    stride = _int_tuple(stride, "stride", where)
    if len(size) != len(stride):
        raise CheckpointError(f"{where}: tensor size {size} and stride {stride} differ in rank")
    if type(requires_grad) is not bool:
        raise CheckpointError(f"{where}: tensor requires_grad {requires_grad!r} is not a bool")
    if ref.untyped and dtype is not None:
        # an untyped storage counts bytes; read it as the tensor's dtype (rebuild v3)
        base = ref.storage.typed(dtype, where)
        per = _stored_itemsize(dtype)
        if ref.start % per or ref.length % per:
            raise CheckpointError(f"{where}: untyped storage not a whole number of {dtype}")
        start, length = ref.start // per, ref.length // per
    else:
        if dtype is not None and dtype != ref.dtype:
            raise CheckpointError(
                f"{where}: tensor of dtype {dtype} on a storage of dtype {ref.dtype}"
            )
        dtype = ref.dtype
        base = ref.storage.typed(dtype, where)
        start, length = ref.start, ref.length
    numel = 1
    for n in size:
        numel *= n
    if numel > _MAX_ELEMENTS:
        raise CheckpointError(f"{where}: tensor of size {size} is too large")
    if numel:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
        if last >= length:
            raise CheckpointError(
                f"{where}: tensor of size {size}, stride {stride} at offset {offset} reaches "
                f"element {last} of storage {ref.storage.key!r}, which has {length} "
                "(a stride or offset outside its storage)"
            )
    elif offset > length:
        raise CheckpointError(
            f"{where}: tensor offset {offset} is past the end of its storage ({length})"
        )
    view = base[start + offset : start + length]
    item = base.dtype.itemsize
    arr = np.lib.stride_tricks.as_strided(view, shape=size, strides=tuple(s * item for s in stride))
    if requires_grad and arr.dtype.kind not in "fc":
        raise CheckpointError(f"{where}: a tensor of dtype {dtype} cannot require grad")
    return Tensor(arr, requires_grad=requires_grad)


def _stored_itemsize(dtype: str) -> int:
    stored = TORCH_DTYPES.get(dtype)
    if stored is None:
        raise CheckpointError(f"dtype {dtype} is not supported")
    return np.dtype(stored).itemsize
