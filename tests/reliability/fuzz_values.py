"""Hypothesis strategies for the fuzzer's argument values: valid ones and the ways users (and
adversaries) get them wrong.

Every argument strategy mixes plausible values (most draws) with invalid ones: wrong types,
NumPy scalars, bools where ints go, negative/zero/absurd sizes (10**12, 2**63, 10**20), NaN
and ±inf numbers, None, strings. Array values come from a seeded NumPy generator (fast, and
every value is reproducible from the case's repr) with NaN/±inf/huge values injected into
some arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from fuzz_core import DT, Arr
from hypothesis import strategies as st

NAN, INF = float("nan"), float("inf")
HUGE_INTS = [10**12, 2**40, 2**62, 2**63, 2**64, 10**20, -(2**63) - 1, -(10**12)]
SPECIAL_FLOATS = [NAN, INF, -INF, 0.0, -0.0, 1e30, -1e30, 1e-30, 3.4e38, 1e300]


def weighted(*pairs: tuple[int, Any]) -> Any:
    """One of the strategies, chosen with the given integer weights."""
    pool = [s for w, s in pairs for _ in range(w)]
    return st.sampled_from(pool).flatmap(lambda s: s)


# ---- scalars ------------------------------------------------------------------------------

JUNK = st.sampled_from(
    [None, "3", "tanh", b"x", [1], (2,), {"a": 1}, object, 1j, np.array([1, 2]), Ellipsis]
)
NP_INTS = st.sampled_from([np.int64(2), np.int32(3), np.uint8(1), np.int64(0), np.int64(-1)])
NP_FLOATS = st.sampled_from([np.float64(0.5), np.float32(0.25), np.float64(NAN), np.float32(2)])
NP_BOOLS = st.sampled_from([np.True_, np.False_])


def int_arg(lo: int = 1, hi: int = 5, *, bad: int = 3) -> Any:
    """Mostly an int in [lo, hi]; else zero/negative/absurd sizes, bools, floats, NumPy
    integers, junk."""
    invalid = st.one_of(
        st.sampled_from([0, -1, -3, lo - 1, hi + 1] + HUGE_INTS),
        st.sampled_from([True, False, 2.0, 2.5, NAN, INF, -INF]),
        NP_INTS,
        NP_FLOATS,
        NP_BOOLS,
        JUNK,
    )
    return weighted((10, st.integers(lo, hi)), (bad, invalid))


def float_arg(lo: float = 0.0, hi: float = 1.0, *, bad: int = 3) -> Any:
    """Mostly a float in [lo, hi]; else out-of-range, NaN/inf, huge, ints, bools, NumPy
    scalars, junk."""
    invalid = st.one_of(
        st.sampled_from(SPECIAL_FLOATS + [lo - 1.0, hi + 1.0, -1.0, 2.0]),
        st.sampled_from([0, 1, 2, -1, True, False] + HUGE_INTS[:3]),
        NP_FLOATS,
        NP_INTS,
        NP_BOOLS,
        JUNK,
    )
    valid = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    return weighted((10, valid), (bad, invalid))


def bool_arg(*, bad: int = 2) -> Any:
    invalid = st.one_of(NP_BOOLS, st.sampled_from([0, 1, 2, 1.0, "yes", "", None, [True]]))
    return weighted((10, st.booleans()), (bad, invalid))


def choice_arg(options: Sequence[Any], junk: Sequence[Any] = (), *, bad: int = 2) -> Any:
    """One of ``options``; else near misses (``junk``) or junk."""
    invalid = st.one_of(st.sampled_from(list(junk) or ["nope"]), JUNK)
    return weighted((10, st.sampled_from(list(options))), (bad, invalid))


FLOAT_DTYPES = ["float32", "float64"]
ALL_DTYPES = ["float32", "float64", "float16", "int64", "int32", "int8", "uint8", "bool"]


def dtype_arg(*, bad: int = 2, optional: bool = True) -> Any:
    valid = st.sampled_from([DT(n) for n in FLOAT_DTYPES] + ([None] if optional else []))
    invalid = st.one_of(
        st.sampled_from([DT(n) for n in ALL_DTYPES[2:]]),
        st.sampled_from(["float32", "float", 3, "nope", object]),
    )
    return weighted((10, valid), (bad, invalid))


# ---- arrays -------------------------------------------------------------------------------


def values(rng: np.random.Generator, shape: tuple[int, ...], dtype: str, special: bool) -> Any:
    """Values of ``dtype`` and ``shape``: moderate normals, with a few specials if asked."""
    kind = np.dtype(dtype).kind
    if kind == "b":
        return rng.random(shape) < 0.5
    if kind in "iu":
        lo = 0 if kind == "u" else -3
        return rng.integers(lo, 6, size=shape).astype(dtype)
    a = rng.standard_normal(shape).astype(dtype)
    if special and a.size:
        k = int(rng.integers(1, min(3, a.size) + 1))
        idx = rng.choice(a.size, size=k, replace=False)
        picks = rng.choice(np.array(SPECIAL_FLOATS[:8], dtype=np.float64), size=k)
        with np.errstate(over="ignore"):  # 1e30 is inf in float16
            a.reshape(-1)[idx] = picks.astype(dtype)
    return a


@st.composite
def arrays(
    draw: Any,
    shape: Any = None,
    dtype: Any = None,
    *,
    rg: Any = None,
    forms: Sequence[str] = ("tensor",),
    special: float = 0.3,
) -> Arr:
    """A tensor argument. ``shape``/``dtype``/``rg`` are values or strategies; ``special``
    is the chance that some elements are NaN/±inf/huge/tiny."""
    shape = draw(shape) if hasattr(shape, "example") else shape
    if shape is None:
        shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    dtype = draw(dtype) if hasattr(dtype, "example") else dtype or "float32"
    seed = draw(st.integers(0, 2**31))
    has_special = draw(st.floats(0, 1)) < special
    data = values(np.random.default_rng(seed), tuple(shape), dtype, has_special)
    floating = np.dtype(dtype).kind == "f"
    wants = draw(rg) if hasattr(rg, "example") else rg
    wants = draw(st.booleans()) if wants is None else wants
    form = draw(st.sampled_from(list(forms)))
    if form == "t" and len(shape) != 2:
        form = "tensor"
    return Arr(np.asarray(data), bool(wants) and floating, form)


def shapes(min_dims: int = 0, max_dims: int = 3, lo: int = 1, hi: int = 4) -> Any:
    return st.lists(st.integers(lo, hi), min_size=min_dims, max_size=max_dims).map(tuple)


def float_arrays(shape: Any = None, **kw: Any) -> Any:
    return arrays(shape, st.sampled_from(FLOAT_DTYPES), **kw)


def any_arrays(shape: Any = None, **kw: Any) -> Any:
    """Mostly float tensors; sometimes integer or bool ones, or NumPy arrays and lists."""
    kw.setdefault("forms", ("tensor",) * 6 + ("ndarray", "list", "t"))
    dtypes = weighted((6, st.sampled_from(FLOAT_DTYPES)), (1, st.sampled_from(ALL_DTYPES[2:])))
    return arrays(shape, dtypes, **kw)


def tensor_or_junk(strategy: Any, *, bad: int = 1) -> Any:
    return weighted((12, strategy), (bad, JUNK), (bad, st.sampled_from([0, 1.5, NAN])))


def dim_arg(ndim_hint: int = 3, *, bad: int = 2) -> Any:
    return weighted(
        (10, st.integers(-ndim_hint, ndim_hint - 1)),
        (bad, st.sampled_from([ndim_hint, -ndim_hint - 1, 7, 10**20, -(2**63) - 1, 2**63])),
        (1, st.one_of(NP_INTS, st.sampled_from([1.0, True, None, "0", (0, 1), [0]]))),
    )


def size_args(max_dims: int = 3, *, bad: int = 2) -> Any:
    """Positional sizes (``zeros(2, 3)``) or one sequence (``zeros((2, 3))``), sometimes bad."""
    side = weighted(
        (12, st.integers(0, 4)),
        (bad, st.sampled_from([-1, -5, 2.0, 2.5, NAN, None, "2", True] + HUGE_INTS)),
        (1, NP_INTS),
    )
    sides = st.lists(side, min_size=0, max_size=max_dims)
    return st.one_of(sides.map(tuple), sides.map(lambda s: (tuple(s),)), sides.map(lambda s: (s,)))


def contains(value: Any, pred: Any) -> bool:
    """Whether ``pred`` holds for ``value`` or anything inside it."""
    if pred(value):
        return True
    if isinstance(value, (list, tuple)):
        return any(contains(v, pred) for v in value)
    if isinstance(value, dict):
        return any(contains(v, pred) for v in value.values())
    return False


def non_finite(value: Any) -> bool:
    """Whether a case holds NaN or ±inf anywhere (array elements or numbers)."""

    def bad(v: Any) -> bool:
        if isinstance(v, Arr):
            return v.data.dtype.kind == "f" and not np.isfinite(v.data).all()
        if isinstance(v, (float, np.floating)) and not isinstance(v, bool):
            return not np.isfinite(v)
        return False

    return contains(value, bad)
