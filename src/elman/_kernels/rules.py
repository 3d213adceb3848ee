"""Which kernel variant runs an RNN call: the rows of :data:`.rules_table.RULES`, evaluated.

A row is ``(variant, ((feature, low, high), ...))``: it matches when every named feature
of the call lies in ``[low, high]`` (``None``: unbounded); the first matching row wins and
the last row has no conditions, so every call gets a name. The features
(:func:`features`) are sizes of the call:

=========  ==============================================================================
feature    meaning
=========  ==============================================================================
T          rows of the call: packed rows, or L*N for a dense (L, N, I) input
N, I, H    batch, input size, hidden size
layers     num_layers
D          directions (2 for bidirectional)
NH         N*H: the elements of one step's hidden state
IH         I*H: the elements of W_ih of the first layer
I_H        I/H
THH        T*H*H: the multiply-adds of one layer's recurrence
THHLD      T*H*H*layers*D: the recurrence of the whole stack
TLD        T*layers*D: the rows the stack's backward walks
WG         H*max(I, D*H) + H*H: a layer's weight-gradient block
MADDS      T*D*H*(I + H + (layers-1)*(D*H + H)): the multiply-adds of the stack's forward
two        1 when two kernel threads may run (set_num_threads, the affinity mask) and
           NumPy's BLAS threads can be held; else 0
blas       1 when a BLAS gemm pointer was found (one BLAS call per step is possible)
=========  ==============================================================================

The table is not written by hand: ``benchmarks/make_rules_table.py`` keeps the rows'
structure (``benchmarks/rules_rows.py``: which variants contend where, in which order, a
comment each) and places every numeric bound at the crossover measured by two sweeps that
time every applicable variant in its own worker process: ``benchmarks/dispatch_sweep.py``
(``benchmarks/dispatch-sweep.json``: float32 dense shapes around the bounds, one and two
threads) and issue 18's random sweep ``benchmarks/sweep.py --count 300 --seed 18``
(``benchmarks/results-2026-12-08-sweep-quiet.json``: one to three layers, uni- and
bidirectional, float32 and float64, dense and packed). Each bound minimises the pick's
log ratios to the fastest variant, forward and forward+backward counted equally (a
forward's time the fastest cell of the variants whose forward is the same code: the fused
twins). To
regenerate after new measurements::

    PYTHONPATH=src python benchmarks/sweep.py --count 300 --seed 18 --out F.json  # ~35 min
    PYTHONPATH=src python benchmarks/make_rules_table.py --issue18 F.json  # rules_table.py
    PYTHONPATH=src python benchmarks/sweep.py --summary --out G.json --rules TABLE.py
    # (G.json: a sweep of another seed, to judge the table on shapes it was not fitted on)

(a forward of a call is rows*(I*H + H*H) multiply-adds per layer and direction; the
variants, by name, are the registry's in :mod:`.dispatch`).

``tests/_kernels/test_rules_table.py`` checks that the checked-in table is what the
generator makes of the checked-in sweeps. The measurements and the history of the rules
are in docs/performance.md ("Dispatch rules").
"""

from __future__ import annotations

import math
from functools import lru_cache

__all__ = ["pick", "features", "first_match", "FEATURES"]

FEATURES = ("T", "N", "I", "H", "layers", "D", "NH", "IH", "I_H", "THH", "THHLD", "TLD", "WG")
FEATURES += ("MADDS", "two", "blas")


def _values(
    T: int, N: int, I: int, H: int, num_layers: int, D: int, two_threads: bool, blas: bool
) -> tuple[float, ...]:
    """The features in the order of :data:`FEATURES`."""
    THH = T * H * H
    return (
        T, N, I, H, num_layers, D, N * H, I * H, I / H if H else math.inf, THH,
        THH * num_layers * D, T * num_layers * D, H * max(I, D * H) + H * H,
        T * D * H * (I + H + (num_layers - 1) * (D * H + H)),
        int(bool(two_threads)), int(bool(blas)),
    )  # fmt: skip


def features(
    T: int, N: int, I: int, H: int, num_layers: int, D: int, two_threads: bool, blas: bool
) -> dict[str, float]:
    """The named sizes the rows compare (see the module docstring)."""
    return dict(zip(FEATURES, _values(T, N, I, H, num_layers, D, two_threads, blas), strict=True))


def _indexed(rules: tuple) -> tuple:
    """The rows with feature positions and infinite bounds for None (a quicker loop)."""
    return tuple(
        (name, tuple((FEATURES.index(k), -math.inf if lo is None else lo,
                      math.inf if hi is None else hi) for k, lo, hi in bounds))
        for name, bounds in rules
    )  # fmt: skip


@lru_cache(maxsize=1)
def _table() -> tuple:
    from .rules_table import RULES  # here: the generator imports this module without a table

    return _indexed(RULES)


def _first(values: tuple[float, ...], table: tuple) -> str:
    for name, bounds in table:
        for i, low, high in bounds:
            if not low <= values[i] <= high:
                break
        else:
            return name
    raise AssertionError("the last row of the rules table has no conditions")


def first_match(f: dict[str, float], rules: tuple | None = None) -> str:
    """The variant of the first row of ``rules`` (default :data:`.rules_table.RULES`) whose
    bounds all hold for the features ``f`` (a :func:`features` dict)."""
    table = _table() if rules is None else _indexed(rules)
    return _first(tuple(f[k] for k in FEATURES), table)


@lru_cache(maxsize=1024)
def pick(
    T: int, N: int, I: int, H: int, num_layers: int, D: int, two_threads: bool, blas: bool
) -> str:
    """The variant name for T rows of a batch of N, I inputs, H hidden, ``num_layers``
    layers of D directions; ``two_threads``: two kernel threads may run; ``blas``: a BLAS
    gemm pointer exists. Cached: one dictionary lookup per repeated call signature."""
    return _first(_values(T, N, I, H, num_layers, D, two_threads, blas), _table())
