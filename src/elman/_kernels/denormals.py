"""Subnormal numbers flushed to zero while the backward runs (x86-64's MXCSR FTZ and DAZ).

Backpropagation through time shrinks gradients geometrically along the sequence (the
vanishing gradient), and in float32 they reach the subnormal range (below 1.2e-38) within a
hundred steps of a ReLU network (the adding task: ~5% of dL/dz subnormal). On Intel cores
every product with a subnormal operand or result takes a microcode assist: measured here, a
(32 x 100) @ (100 x 100) sgemm with 5% subnormal inputs 10x slower, one with subnormal
results ~140x, and the adding task's BPTT loop ~10x slower (7.8 against 0.7 ms). With FTZ
(results that would be subnormal are 0) and DAZ (subnormal inputs read as 0) the products
run at full speed. A gradient entry that would have been below 1.2e-38 (float32) or
2.2e-308 (float64) comes out as 0: far inside every tolerance the package keeps; NaN and
inf are untouched (docs/differences.md).

The mode is per thread: :func:`flush_denormals` sets it on the calling thread for a block
and restores the caller's own mode after; :mod:`.handover` runs the helper thread's half
in a block of its own when the submitting thread is in one (:func:`active`), and a helper
thread made inside a block starts in its creator's mode from outside it (:func:`own_mode`:
a new thread copies its creator's mode). Elsewhere than x86-64, or without compiled code,
these are no-ops (the mode reads as 0).
"""

from __future__ import annotations

import platform
import threading

from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import JIT

__all__ = ["FLUSH", "AVAILABLE", "mode", "flush_denormals", "active", "own_mode", "restore_mode"]

FLUSH = (1 << 15) | (1 << 6)  # MXCSR's FTZ (flush to zero) and DAZ (denormals are zero)
_X86 = platform.machine().lower() in ("x86_64", "amd64")
_STATE = threading.local()  # .depth: flush_denormals blocks open on this thread


def _mxcsr_call(builder, name: str, slot) -> None:  # type: ignore[no-untyped-def]
    from llvmlite import ir

    i8p = ir.IntType(8).as_pointer()
    fnty = ir.FunctionType(ir.VoidType(), [i8p])
    fn = cgutils.get_or_insert_function(builder.module, fnty, name)
    builder.call(fn, [builder.bitcast(slot, i8p)])


@intrinsic
def _stmxcsr(typingctx):  # type: ignore[no-untyped-def]
    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        from llvmlite import ir

        slot = cgutils.alloca_once(builder, ir.IntType(32))
        _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
        return builder.zext(builder.load(slot), ir.IntType(64))

    return types.int64(), codegen


@intrinsic
def _ldmxcsr(typingctx, value):  # type: ignore[no-untyped-def]
    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        from llvmlite import ir

        slot = cgutils.alloca_once(builder, ir.IntType(32))
        builder.store(builder.trunc(args[0], ir.IntType(32)), slot)
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()

    return types.none(types.int64), codegen


@njit(**JIT)
def _read() -> int:
    return _stmxcsr()


@njit(**JIT)
def _write(value: int) -> None:
    _ldmxcsr(value)


def _compiled() -> bool:
    from numba import config as numba_config

    return _X86 and not numba_config.DISABLE_JIT


AVAILABLE = _compiled()


def mode() -> int:
    """The calling thread's MXCSR (0 where there is none to read)."""
    return int(_read()) if AVAILABLE else 0


def own_mode() -> int:
    """The calling thread's MXCSR outside any :func:`flush_denormals` block (-1: none)."""
    if not AVAILABLE:
        return -1
    return _STATE.before if getattr(_STATE, "depth", 0) else int(_read())


def restore_mode(value: int) -> None:
    """Load an :func:`own_mode` into the calling thread's MXCSR (-1: nothing to load)."""
    if AVAILABLE and value >= 0:
        _write(value)


def active() -> bool:
    """Whether the calling thread is inside a :func:`flush_denormals` block."""
    return getattr(_STATE, "depth", 0) > 0


class flush_denormals:  # noqa: N801  (used as a context manager, like contextlib's)
    """A block run with subnormals flushed to zero on the calling thread (FTZ and DAZ);
    the thread's own mode is restored after, also when the block raises. Nested blocks
    leave it to the outermost. (A class: half the cost of a generator-based one.)"""

    __slots__ = ("before",)

    def __enter__(self) -> None:
        depth = getattr(_STATE, "depth", 0)
        _STATE.depth = depth + 1
        self.before = -1
        if AVAILABLE and not depth:
            self.before = _STATE.before = int(_read())
            _write(self.before | FLUSH)

    def __exit__(self, *exc: object) -> None:
        _STATE.depth -= 1
        if self.before >= 0:
            _write(self.before)
