"""How the two halves of a kernel wait for each other: progress counters that back off.

Kernels that meet (:mod:`.split_recurrence`'s barrier, :mod:`.layer_pipeline`'s progress counters)
share a ``flags`` array (:func:`new_flags`): one int64 progress slot per counter, 128 bytes
apart, each followed by a "someone sleeps on me" mark, and an abort slot. A waiter
(:func:`wait_for`) backs off in three stages so that a partner that is not running (a
busy machine, another process on the same core) costs no CPU:

1. spin (with the CPU's ``pause``) for :data:`SPINS` rounds, ~10-30 us: the normal wait
   at a per-step barrier while both threads run, so no latency is added there (a budget
   that adapted to long waits was tried: after one long wait it kept short waits off the
   spin, and it gained little with both threads on one core);
2. yield the core :data:`YIELDS` times (``sched_yield``): a partner waiting for this core
   runs;
3. block: on Linux a futex wait on the slot, woken by :func:`arrive` the moment the
   partner publishes (with a 10 ms timeout as a safety net); elsewhere 50 us sleeps.

A half that raises sets the abort slot (:func:`abort_pair`, which wakes a sleeper), so the
other half stops waiting and returns False. The system calls are registered by name with
LLVM at import (this process's addresses), so cached machine code links to them.
"""

from __future__ import annotations

import ctypes
import platform
import sys
from typing import Any

import llvmlite.binding as ll
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import NOGIL
from .config import SLEEP_US, SPINS, TIMEOUT_NS, YIELDS

__all__ = ["LINE", "ABORT", "new_flags", "wait_for", "arrive", "abort_pair"]

LINE = 16  # int64 slots per counter: 128 bytes apart, no false sharing between counters
ABORT = 2 * LINE  # the slot that says "a half failed: stop waiting"


def new_flags() -> np.ndarray:
    """Two counters (slots 0 and LINE, each followed by its sleeper mark) and the abort
    slot."""
    return np.zeros(3 * LINE, dtype=np.int64)


# ---- what the platform offers: pause, yield, futex (or sleep) -------------------------------

_MACHINE = platform.machine().lower()
_X86 = _MACHINE in ("x86_64", "amd64", "i386", "i686", "x86")
# futex syscall numbers (little-endian Linux only: the wait reads the slot's low 32 bits)
_FUTEX_NR = {"x86_64": 202, "amd64": 202, "aarch64": 98, "arm64": 98, "riscv64": 98}
FUTEX = _FUTEX_NR.get(_MACHINE) if sys.platform == "linux" and sys.byteorder == "little" else None
FUTEX_WAIT, FUTEX_WAKE = 0 | 128, 1 | 128  # FUTEX_PRIVATE_FLAG: this process only


def _register(name: str, library: Any, symbol: str) -> bool:
    """Make ``symbol`` of ``library`` callable from compiled code as ``name``: the address
    is this process's, registered by name at import, so cached machine code links to it."""
    try:
        address = ctypes.cast(getattr(library, symbol), ctypes.c_void_p).value
    except (AttributeError, OSError):
        return False
    if not address:
        return False
    ll.add_symbol(name, address)
    return True


def _system_calls() -> tuple[bool, bool]:
    """(can yield, can block) with the functions registered under elman_* names."""
    if sys.platform == "win32":  # pragma: no cover - not tested here
        k32 = ctypes.WinDLL("kernel32")
        return _register("elman_yield", k32, "SwitchToThread"), _register(
            "elman_sleep_ms", k32, "Sleep"
        )
    libc = ctypes.CDLL(None)
    can_yield = _register("elman_yield", libc, "sched_yield")
    if FUTEX is not None and _register("elman_syscall", libc, "syscall"):
        return can_yield, True
    return can_yield, _register("elman_usleep", libc, "usleep")


CAN_YIELD, CAN_BLOCK = _system_calls()
_USE_FUTEX = FUTEX is not None and CAN_BLOCK
_I32, _I64, _PTR = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()


def _slot_pointer(context, builder, arrty, ary, idx):
    arr = context.make_array(arrty)(context, builder, ary)
    return cgutils.get_item_pointer(context, builder, arrty, arr, [idx])


def _atomic_load(order: str):
    @intrinsic
    def load(typingctx, arr, idx):
        sig = types.int64(arr, idx)

        def codegen(context, builder, sig, args):
            ptr = _slot_pointer(context, builder, sig.args[0], args[0], args[1])
            return builder.load_atomic(ptr, ordering=order, align=8)

        return sig, codegen

    return load


def _atomic_store(order: str):
    @intrinsic
    def store(typingctx, arr, idx, val):
        sig = types.void(arr, idx, val)

        def codegen(context, builder, sig, args):
            ptr = _slot_pointer(context, builder, sig.args[0], args[0], args[1])
            builder.store_atomic(args[2], ptr, ordering=order, align=8)
            return context.get_dummy_value()

        return sig, codegen

    return store


_load_acquire, _load_seq = _atomic_load("acquire"), _atomic_load("seq_cst")
_store_release, _store_seq = _atomic_store("release"), _atomic_store("seq_cst")


@intrinsic
def _pause(typingctx):
    """The CPU's spin-wait hint (x86 ``pause``: less power, no memory-order flush on exit)."""
    sig = types.void()

    def codegen(context, builder, sig, args):
        if _X86:
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause"
            )
            builder.call(fn, [])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _yield(typingctx):
    """Give this core to another runnable thread, if any (``sched_yield``)."""
    sig = types.void()

    def codegen(context, builder, sig, args):
        if CAN_YIELD:
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(_I32, []), "elman_yield"
            )
            builder.call(fn, [])
        return context.get_dummy_value()

    return sig, codegen


def _syscall(builder, *args):
    fnty = ir.FunctionType(_I64, [_I64], var_arg=True)
    fn = cgutils.get_or_insert_function(builder.module, fnty, "elman_syscall")
    return builder.call(fn, [ir.Constant(_I64, FUTEX), *args])


@intrinsic
def _block(typingctx, arr, idx, seen):
    """Sleep until arr[idx] may have changed from ``seen``: a futex wait on the slot's low
    32 bits (returns at once if they differ already; woken by :func:`_wake`; 10 ms at
    most), or a 50 us sleep where there is no futex."""
    sig = types.void(arr, idx, seen)

    def codegen(context, builder, sig, args):
        if _USE_FUTEX:
            ptr = _slot_pointer(context, builder, sig.args[0], args[0], args[1])
            spec = cgutils.alloca_once(builder, ir.ArrayType(_I64, 2))  # struct timespec
            builder.store(ir.Constant(ir.ArrayType(_I64, 2), [0, TIMEOUT_NS]), spec)
            low = builder.zext(builder.trunc(args[2], _I32), _I64)
            _syscall(
                builder,
                builder.ptrtoint(ptr, _I64),
                ir.Constant(_I64, FUTEX_WAIT),
                low,
                builder.ptrtoint(spec, _I64),
                ir.Constant(_I64, 0),
                ir.Constant(_I64, 0),
            )
        elif CAN_BLOCK and sys.platform == "win32":  # pragma: no cover
            fnty = ir.FunctionType(ir.VoidType(), [_I32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "elman_sleep_ms")
            builder.call(fn, [ir.Constant(_I32, 1)])
        elif CAN_BLOCK:
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(_I32, [_I32]), "elman_usleep"
            )
            builder.call(fn, [ir.Constant(_I32, SLEEP_US)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _wake(typingctx, arr, idx):
    """Wake the threads blocked in :func:`_block` on arr[idx] (nothing without futex)."""
    sig = types.void(arr, idx)

    def codegen(context, builder, sig, args):
        if _USE_FUTEX:
            ptr = _slot_pointer(context, builder, sig.args[0], args[0], args[1])
            _syscall(
                builder,
                builder.ptrtoint(ptr, _I64),
                ir.Constant(_I64, FUTEX_WAKE),
                ir.Constant(_I64, 1 << 30),
                ir.Constant(_I64, 0),
                ir.Constant(_I64, 0),
                ir.Constant(_I64, 0),
            )
        return context.get_dummy_value()

    return sig, codegen


# ---- waiting and publishing ------------------------------------------------------------------


@njit(**NOGIL)
def arrive(flags, slot, value):
    """Publish flags[slot] = value (its writes before it are visible to whoever sees it),
    and wake the partner if it sleeps on that slot.

    Store, then read the sleeper mark, both sequentially consistent; the sleeper sets its
    mark, then re-reads the slot (:func:`wait_for`): one of the two sees the other's write,
    so a wake-up is never lost (and a futex wait on a changed slot returns at once)."""
    _store_seq(flags, slot, value)
    if _load_seq(flags, slot + 1) != 0:
        _wake(flags, slot)


@njit(**NOGIL)
def abort_pair(flags):
    """Tell both halves to stop waiting (a half failed): set the abort slot, wake sleepers."""
    _store_seq(flags, ABORT, 1)
    for slot in (0, LINE):
        if _load_seq(flags, slot + 1) != 0:
            _wake(flags, slot)


@njit(**NOGIL)
def wait_for(flags, slot, value):
    """Wait until flags[slot] >= value (acquire): spin, then yield, then block (see the
    module docstring). False when the pair was aborted (the other half failed)."""
    rounds = 0
    while True:
        seen = _load_acquire(flags, slot)
        if seen >= value:
            return True
        if _load_acquire(flags, ABORT) != 0:
            return False
        rounds += 1
        if rounds <= SPINS:
            _pause()
        elif rounds <= SPINS + YIELDS:
            _yield()
        else:
            _store_seq(flags, slot + 1, 1)  # "I sleep on this slot"
            seen = _load_seq(flags, slot)
            if seen < value and _load_seq(flags, ABORT) == 0:
                _block(flags, slot, seen)
            _store_seq(flags, slot + 1, 0)
