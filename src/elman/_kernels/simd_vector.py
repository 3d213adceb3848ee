"""A SIMD vector type for numba kernels, and the few intrinsics :mod:`.simd_products` needs.

``Vec`` is an LLVM vector of one register's width (``<16 x float>`` with AVX-512); the
intrinsics load, store, broadcast, add, fuse-multiply-add and prefetch on it, indexed into
1-D arrays. The register width is the host's (64, 32 or 16 bytes) unless
``ELMAN_SIMD_BYTES`` (16, 32 or 64) overrides it; :mod:`._jit` keeps the kernels compiled
for another width in a cache folder of their own.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

from .config import SIMD_BYTES

__all__ = [
    "VECTOR_BYTES",
    "lanes_of",
    "Vec",
    "vzero",
    "vload",
    "vstore",
    "vbroadcast",
    "vfma",
    "vadd",
    "vsub",
    "vmul",
    "vload_n",
    "vstore_n",
    "vpass_above",
    "prefetch",
    "lanes",
]


def _vector_bytes() -> int:
    try:
        import llvmlite.binding as ll

        features = ll.get_host_cpu_features()
    except Exception:  # pragma: no cover - an LLVM without host introspection
        return 16
    if features.get("avx512f"):
        return 64
    return 32 if features.get("avx2") or features.get("avx") else 16


VECTOR_BYTES = int(SIMD_BYTES or "0") or _vector_bytes()
if VECTOR_BYTES not in (16, 32, 64):
    raise ValueError(f"ELMAN_SIMD_BYTES={VECTOR_BYTES}: expected 16, 32 or 64")


def lanes_of(dtype: np.dtype) -> int:
    """Elements per vector register for ``dtype``."""
    return VECTOR_BYTES // np.dtype(dtype).itemsize


class Vec(types.Type):
    """One SIMD register of ``dtype`` elements (an LLVM ``<lanes x float|double>``)."""

    def __init__(self, dtype: types.Float) -> None:
        self.dtype = dtype
        self.lanes = VECTOR_BYTES // (dtype.bitwidth // 8)
        super().__init__(name=f"Vec({dtype}x{self.lanes})")


@register_model(Vec)
class _VecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        elt = ir.FloatType() if fe_type.dtype.bitwidth == 32 else ir.DoubleType()
        super().__init__(dmm, fe_type, ir.VectorType(elt, fe_type.lanes))


def _item_pointer(context, builder, arrty, arr, idx):
    ary = context.make_array(arrty)(context, builder, arr)
    return cgutils.get_item_pointer(context, builder, arrty, ary, [idx])


@intrinsic
def vzero(typingctx, arr):
    """A vector of zeros of ``arr``'s dtype."""
    vt = Vec(arr.dtype)

    def codegen(context, builder, sig, args):
        return ir.Constant(context.get_value_type(vt), None)

    return vt(arr), codegen


@intrinsic
def vload(typingctx, arr, idx):
    """arr[idx : idx + lanes] as a vector (1-D contiguous ``arr``, unaligned)."""
    vt = Vec(arr.dtype)

    def codegen(context, builder, sig, args):
        ptr = _item_pointer(context, builder, sig.args[0], args[0], args[1])
        vptr = builder.bitcast(ptr, context.get_value_type(vt).as_pointer())
        return builder.load(vptr, align=arr.dtype.bitwidth // 8)

    return vt(arr, idx), codegen


@intrinsic
def vstore(typingctx, arr, idx, v):
    """arr[idx : idx + lanes] = v."""

    def codegen(context, builder, sig, args):
        ptr = _item_pointer(context, builder, sig.args[0], args[0], args[1])
        vptr = builder.bitcast(ptr, context.get_value_type(sig.args[2]).as_pointer())
        builder.store(args[2], vptr, align=arr.dtype.bitwidth // 8)
        return context.get_dummy_value()

    return types.void(arr, idx, v), codegen


@intrinsic
def vbroadcast(typingctx, arr, idx):
    """A vector holding arr[idx] in every lane."""
    vt = Vec(arr.dtype)

    def codegen(context, builder, sig, args):
        ptr = _item_pointer(context, builder, sig.args[0], args[0], args[1])
        vty = context.get_value_type(vt)
        one = builder.insert_element(
            ir.Constant(vty, None), builder.load(ptr), ir.Constant(ir.IntType(32), 0)
        )
        mask = ir.Constant(ir.VectorType(ir.IntType(32), vt.lanes), None)  # all lane 0
        return builder.shuffle_vector(one, one, mask)

    return vt(arr, idx), codegen


@intrinsic
def vfma(typingctx, a, b, c):
    """a * b + c, fused (llvm.fma)."""

    def codegen(context, builder, sig, args):
        vt = sig.args[0]
        vty = context.get_value_type(vt)
        name = f"llvm.fma.v{vt.lanes}f{vt.dtype.bitwidth}"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3), name)
        return builder.call(fn, args)

    return a(a, b, c), codegen


@intrinsic
def vadd(typingctx, a, b):
    """a + b."""

    def codegen(context, builder, sig, args):
        return builder.fadd(args[0], args[1])

    return a(a, b), codegen


@intrinsic
def vsub(typingctx, a, b):
    """a - b."""

    def codegen(context, builder, sig, args):
        return builder.fsub(args[0], args[1])

    return a(a, b), codegen


@intrinsic
def vmul(typingctx, a, b):
    """a * b."""

    def codegen(context, builder, sig, args):
        return builder.fmul(args[0], args[1])

    return a(a, b), codegen


@intrinsic
def vpass_above(typingctx, h, a):
    """a where h > 0 or h is NaN, else 0: ReLU's derivative as torch's threshold_backward
    (a select: an inf in ``a`` where h <= 0 gives 0, not NaN)."""

    def codegen(context, builder, sig, args):
        zero = ir.Constant(args[0].type, None)
        return builder.select(builder.fcmp_ordered("<=", args[0], zero), zero, args[1])

    return a(h, a), codegen


def _first_lanes(builder, lanes, n):
    """The mask of lanes 0 .. n-1 (an i1 vector)."""
    i32 = ir.IntType(32)
    vi = ir.VectorType(i32, lanes)
    index = ir.Constant(vi, [ir.Constant(i32, k) for k in range(lanes)])
    one = builder.insert_element(ir.Constant(vi, None), builder.trunc(n, i32), ir.Constant(i32, 0))
    return builder.icmp_signed("<", index, builder.shuffle_vector(one, one, ir.Constant(vi, None)))


@intrinsic
def vload_n(typingctx, arr, idx, n):
    """arr[idx : idx + n] in the first n lanes, zeros in the others (0 <= n <= lanes): a
    masked load, nothing past arr[idx + n - 1] is touched."""
    vt = Vec(arr.dtype)

    def codegen(context, builder, sig, args):
        ptr = _item_pointer(context, builder, sig.args[0], args[0], args[1])
        vty = context.get_value_type(vt)
        vptr = builder.bitcast(ptr, vty.as_pointer())
        mask = _first_lanes(builder, vt.lanes, args[2])
        fnty = ir.FunctionType(vty, [vptr.type, ir.IntType(32), mask.type, vty])
        name = f"llvm.masked.load.v{vt.lanes}f{vt.dtype.bitwidth}.p0"
        fn = cgutils.get_or_insert_function(builder.module, fnty, name)
        align = ir.Constant(ir.IntType(32), vt.dtype.bitwidth // 8)
        return builder.call(fn, [vptr, align, mask, ir.Constant(vty, None)])

    return vt(arr, idx, n), codegen


@intrinsic
def vstore_n(typingctx, arr, idx, v, n):
    """arr[idx : idx + n] = the first n lanes of v (a masked store)."""

    def codegen(context, builder, sig, args):
        vt = sig.args[2]
        ptr = _item_pointer(context, builder, sig.args[0], args[0], args[1])
        vty = context.get_value_type(vt)
        vptr = builder.bitcast(ptr, vty.as_pointer())
        mask = _first_lanes(builder, vt.lanes, args[3])
        fnty = ir.FunctionType(ir.VoidType(), [vty, vptr.type, ir.IntType(32), mask.type])
        name = f"llvm.masked.store.v{vt.lanes}f{vt.dtype.bitwidth}.p0"
        fn = cgutils.get_or_insert_function(builder.module, fnty, name)
        align = ir.Constant(ir.IntType(32), vt.dtype.bitwidth // 8)
        builder.call(fn, [args[2], vptr, align, mask])
        return context.get_dummy_value()

    return types.void(arr, idx, v, n), codegen


@intrinsic
def prefetch(typingctx, arr, idx):
    """A read prefetch of arr[idx] into all cache levels (llvm.prefetch; never faults)."""

    def codegen(context, builder, sig, args):
        ptr = _item_pointer(context, builder, sig.args[0], args[0], args[1])
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        read, keep, data = ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)
        builder.call(fn, [builder.bitcast(ptr, i8p), read, keep, data])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


@intrinsic
def lanes(typingctx, arr):
    """Elements per vector for ``arr``'s dtype (a compile-time constant)."""
    n = VECTOR_BYTES // (arr.dtype.bitwidth // 8)

    def codegen(context, builder, sig, args):
        return ir.Constant(ir.IntType(64), n)

    return types.int64(arr), codegen
