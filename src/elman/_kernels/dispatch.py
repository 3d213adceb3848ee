"""Which variant runs an RNN call: the registry of variants and the one decision per call.

A variant is a named way to run the whole stack (:class:`Variant`): its forward and
backward entry points (the fused stack, :mod:`.fused_stack`, or the layered stack,
:mod:`.layered_stack`) and, for the layered path, the step mode of its recurrences
(:mod:`.modes`) and how it uses the two threads. :data:`VARIANTS` maps each name to its
variant; docs/kernels.md has the table and the route of a call through each.

:func:`choose` takes the decision, once per RNN call (the fast lane remembers it per call
signature), from the call's sizes and facts of the process: whether two kernel threads may
run, whether NumPy's BLAS can be called from kernels, whether code is compiled. The name
comes from ``ELMAN_KERNEL_VARIANT`` when set, else from the rules (:func:`.rules.pick`,
the table :mod:`.rules_table` generated from checked-in sweeps that time every variant:
benchmarks/dispatch-sweep.json and issue 18's 300 random shapes); a
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
from .config import KERNEL_VARIANT, TWO_THREAD_PRODUCT
from .modes import AXPY, DOT, GEMM, OUTER, SPLIT, WIDE, Mode
from .rules import pick  # the generated table (rules_table.py), evaluated

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
    split_products: bool = False  # a one-thread variant whose products of all steps are big
    # enough to run on the two threads (set by choose(), see .config.TWO_THREAD_PRODUCT)


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
        # the input projections one BLAS call each (short sequences of wide inputs); the
        # backward as layered-gemm
        _fused("fused-forward-gemm", GEMM, False),
        # the same with the backward fused too, dW_ih and dX one BLAS call each
        _fused("fused-gemm", GEMM),
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
NO_BLAS = {
    "layered-gemm": "layered-dot",
    "layered-rows": "layered-dot",
    "fused-forward-gemm": "fused-forward",
    "fused-gemm": "fused",
}
NOT_COMPILED = {
    "fused-forward-gemm": "fused-forward",  # (NumPy's BLAS from kernels needs compiled code)
    "fused-gemm": "fused",
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
    chosen = resolve(name, two, blas)
    layered = not (chosen.fused and chosen.fused_backward)  # has products of all steps
    if two and layered and not chosen.two_threads:
        if T * D * H * max(I, D * H) >= TWO_THREAD_PRODUCT:  # the largest of them
            return _with_split_products(chosen)
    return chosen


@lru_cache(maxsize=64)
def _with_split_products(v: Variant) -> Variant:
    return v._replace(split_products=True)


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
