"""Which variant runs an RNN call: the registry of variants and the one decision per call.

A variant is a named way to run the whole stack (:class:`Variant`): its forward and
backward entry points (the fused stack, :mod:`.fused_stack`, or the layered stack,
:mod:`.layered_stack`) and, for the layered path, the step mode of its recurrences
(:mod:`.modes`) and how it uses the two threads. :data:`VARIANTS` maps each name to its
variant; docs/kernels.md has the table and the route of a call through each.

:func:`choose` takes the decision, once per RNN call (the fast lane remembers it per call
signature), from the call's sizes and facts of the process: whether two kernel threads may
run, whether NumPy's BLAS can be called from kernels, whether code is compiled. The name
comes from ``ELMAN_KERNEL_VARIANT`` when set, else from the rules (:func:`pick`); a
variant that the process cannot run is then replaced by the one that runs in its place
(:func:`resolve`), so that no kernel corrects the choice later. Measurements behind the
rules: docs/performance.md.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

from numba import config as numba_config

from . import fused_stack, layered_stack
from ._blas import gemm_pointers, two_threads_allowed
from .config import KERNEL_VARIANT
from .modes import AXPY, DOT, GEMM, OUTER, SPLIT, WIDE, Mode

__all__ = ["Variant", "VARIANTS", "choose", "pick", "resolve", "variant"]


class Variant(NamedTuple):
    """One way to run the stack; ``forward(variant, stack, keep)`` and ``backward(variant,
    stack, outs, g_out, g_hn)`` are its entry points (``stack``: :class:`.stack_ref.Stack`)."""

    name: str
    forward: Callable[..., Any]
    backward: Callable[..., Any]
    mode: Mode  # the step product of its layered recurrences (fused: of the one-layer twins)
    pairs: bool  # SPLIT: independent recurrences side by side, one per thread
    rows: bool  # GEMM or WIDE: the batch in two halves, one per thread
    fused: bool  # its forward is the fused stack's
    fused_backward: bool  # its backward is the fused stack's
    two_threads: bool  # runs on elman's two threads (its products of all steps too)


def _fused(name: str, mode: Mode, fused_backward: bool = True) -> Variant:
    back = fused_stack.backward if fused_backward else layered_stack.backward
    return Variant(name, fused_stack.forward, back, mode, False, False, True, fused_backward, False)


def _layer(name: str, mode: Mode, pairs: bool = False, rows: bool = False) -> Variant:
    fwd, back, two = layered_stack.forward, layered_stack.backward, mode is SPLIT or rows
    return Variant(name, fwd, back, mode, pairs, rows, False, False, two)


VARIANTS = {
    v.name: v
    for v in (
        _fused("fused", AXPY),
        _fused("fused-outer", OUTER),
        _fused("fused-forward", AXPY, False),  # backward as layered-axpy
        _fused("fused-forward-outer", OUTER, False),  # backward as layered-outer
        _layer("layered-axpy", AXPY),
        _layer("layered-dot", DOT),
        _layer("layered-outer", OUTER),
        _layer("layered-gemm", GEMM),
        _layer("layered-split", SPLIT),
        _layer("layered-pairs", SPLIT, pairs=True),
        _layer("layered-rows", GEMM, rows=True),
        _layer("layered-rows-outer", WIDE, rows=True),
        # what the OUTER ones run as without compiled code (NUMBA_DISABLE_JIT=1)
        _fused("fused-dot", DOT),
        _fused("fused-forward-dot", DOT, False),
    )
}

# What runs in a variant's place when the process cannot run it: with one thread, the
# one-thread counterpart; without NumPy's BLAS address, the loops; without compiled code
# (the SIMD products need it), the dot loops. Applied in this order.
ONE_THREAD = {
    "layered-split": "layered-outer",
    "layered-pairs": "layered-outer",
    "layered-rows": "layered-gemm",
    "layered-rows-outer": "layered-outer",
}
NO_BLAS = {"layered-gemm": "layered-dot", "layered-rows": "layered-dot"}
NOT_COMPILED = {
    "layered-outer": "layered-dot",
    "fused-outer": "fused-dot",
    "fused-forward-outer": "fused-forward-dot",
}


def _forced() -> str:
    name = KERNEL_VARIANT
    if name and name not in VARIANTS:
        raise ValueError(f"ELMAN_KERNEL_VARIANT={name!r}: expected one of {sorted(VARIANTS)}")
    return name


FORCED = _forced()  # "" : the rules choose


def choose(T: int, N: int, I: int, H: int, num_layers: int, D: int) -> Variant:
    """THE decision of a call: the variant for T packed rows (L*N for dense input), batch
    N, I inputs, hidden size H, ``num_layers`` layers of D directions. With one thread
    allowed (:func:`.threads.kernel_threads`) no two-thread variant runs, a forced one
    included (its one-thread counterpart runs)."""
    two = two_threads_allowed()
    blas = bool(gemm_pointers()[0])
    name = FORCED or pick(T, N, I, H, num_layers, D, two, blas)
    return resolve(name, two, blas)


def variant(name: str) -> Variant:
    """The variant ``name`` as this process can run it, two threads or not (the hand-over
    works on one CPU too): without BLAS or compiled code, its stand-in (:func:`resolve`).
    Tests force each variant through this."""
    return resolve(name, True, bool(gemm_pointers()[0]))


@lru_cache(maxsize=64)
def resolve(name: str, two_threads: bool, blas: bool) -> Variant:
    """The variant that runs for ``name`` given the process's facts (see ONE_THREAD)."""
    if not two_threads:
        name = ONE_THREAD.get(name, name)
    if not blas:
        name = NO_BLAS.get(name, name)
    if numba_config.DISABLE_JIT:
        name = NOT_COMPILED.get(name, name)
    return VARIANTS[name]


@lru_cache(maxsize=256)
def pick(
    T: int, N: int, I: int, H: int, num_layers: int, D: int, two_threads: bool, blas: bool
) -> str:
    """The rules: a variant name for the call's sizes; ``two_threads``: two kernel threads
    allowed with control of BLAS's threads; ``blas``: a BLAS gemm address exists.
    (Hand-set thresholds until the table generated from the sweep replaces them.)"""
    if H <= 32 and N * H <= 128 and I * H <= 4096:
        # tiny: loops only, one call for the whole stack (the backward too while short)
        return "fused" if T * num_layers * D <= 2048 else "fused-forward"
    wide = H >= 128
    inputs_ok = I <= 4 * H if wide else I * H <= 4096
    if N == 1 and inputs_ok and T * H * H * num_layers * D <= (2e5 if wide else 5e4):
        # one sequence, a few steps: the fused loops, the backward too while its
        # weight-gradient block stays small
        small = H * max(I, D * H) + H * H <= 100_000
        if H <= 96:
            return "fused" if small else "fused-forward"
        return "fused-outer" if small else "fused-forward-outer"
    two = two_threads and T * H * H >= 3e7  # big enough to pay for the hand-over
    pairs = (D == 2 and H >= 128) or (num_layers >= 2 and N <= 16 and H >= 256)
    if N <= 32 and two and pairs:
        return "layered-pairs"
    big = two and T * H * H >= 2e8
    if two and H >= 128 and ((N >= 16 and T * H * H >= 5e7) or (big and N >= 8 and H >= 256)):
        return "layered-rows-outer"
    if N <= 32 and two and (H >= 400 or (N <= 3 and H >= 256)):
        return "layered-split"  # weight-streaming bound
    if big and blas and N >= 16:
        return "layered-rows"
    if N == 1 and H <= 96:
        return "layered-axpy"
    if (H >= 128 and (N <= 3 or (H >= 256 and N <= 32))) or not blas:
        return "layered-outer" if H >= 96 else "layered-axpy"
    return "layered-gemm"
