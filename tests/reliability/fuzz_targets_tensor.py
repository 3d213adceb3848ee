"""Fuzz targets: tensor creation (``elman.*``) and the Tensor methods users call."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
from fuzz_core import DT, Arr, Lib
from fuzz_values import (
    FLOAT_DTYPES,
    HUGE_INTS,
    INF,
    JUNK,
    NAN,
    NP_BOOLS,
    NP_FLOATS,
    NP_INTS,
    any_arrays,
    arrays,
    bool_arg,
    dim_arg,
    dtype_arg,
    float_arg,
    float_arrays,
    shapes,
    size_args,
    tensor_or_junk,
    weighted,
)
from fuzz_verdict import Target
from hypothesis import strategies as st


def call(*pos: Any, **kw: Any) -> Any:
    """(positional values, keyword values); each keyword is left out half of the time."""
    return st.tuples(st.tuples(*pos), st.fixed_dictionaries({}, optional=kw))


def resolve(lib: Lib, path: str) -> Any:
    obj = lib.mod
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def fn(path: str) -> Any:
    """A scenario calling ``lib.<path>(*pos, **kw)``."""
    return lambda L, a: resolve(L, path)(*a[0], **a[1])


def meth(name: str) -> Any:
    """A scenario calling ``pos[0].<name>(*pos[1:], **kw)``."""
    return lambda L, a: getattr(a[0][0], name)(*a[0][1:], **a[1])


def op(f: Any) -> Any:
    return lambda L, a: f(*a[0])


SELF = arrays(
    shapes(0, 3),
    weighted((8, st.sampled_from(FLOAT_DTYPES)), (1, st.sampled_from(["int64", "bool"]))),
    forms=("tensor",) * 4 + ("t", "param"),
)
FSELF = float_arrays(shapes(0, 3), forms=("tensor",) * 4 + ("t", "param"))
DATA = weighted(
    (6, any_arrays(shapes(0, 3))),
    (1, st.sampled_from([[1, [2]], [[1, 2], [3]], [1.5, "a"], [], [[]], (), [True, 2, 3.5]])),
    (1, st.sampled_from([1, 2.5, True, NAN, INF, 10**20, -(2**63) - 1, 2**63, None, "x"])),
    (1, st.one_of(NP_INTS, NP_FLOATS, NP_BOOLS)),
)
SCALAR = weighted(
    (4, st.floats(-3, 3)),
    (2, st.integers(-3, 3)),
    (1, st.sampled_from([NAN, INF, -INF, 0.0, True, 10**20, 1e300])),
    (1, st.one_of(NP_INTS, NP_FLOATS, NP_BOOLS)),
)
OTHER = weighted((6, any_arrays(shapes(0, 3))), (3, SCALAR), (1, JUNK))
INDEX = weighted(
    (4, st.integers(-4, 3)),
    (2, st.tuples(st.integers(-2, 2), st.integers(-2, 2))),
    (2, st.sampled_from([slice(None), slice(1, None), slice(None, None, -1), slice(0, 2, 2)])),
    (1, st.sampled_from([None, Ellipsis, (Ellipsis, 0), (None, 0), (slice(None), None)])),
    (1, arrays(shapes(1, 1, 1, 3), st.sampled_from(["int64", "bool", "float32"]), rg=False)),
    (1, st.sampled_from([10**20, 2**63, -(2**63) - 1, 1.5, "a", [0, 1], [[0]], True, 5, -6])),
    (1, st.sampled_from([slice(0, 10**20), slice(None, None, 0), slice("a", None)])),
)
SHAPE_ARGS = weighted(
    (4, st.lists(st.integers(-1, 4), min_size=0, max_size=3).map(tuple)),
    (1, size_args()),
)


def _elementwise(name: str) -> Target:
    return Target(f"elman.{name}", call(float_arrays()), fn(name))


def _method(name: str, *pos: Any, self_: Any = SELF, **kw: Any) -> Target:
    return Target(f"Tensor.{name}", call(self_, *pos, **kw), meth(name))


def _creation(name: str, *pos: Any, **kw: Any) -> Target:
    return Target(f"elman.{name}", call(*pos, **kw), fn(name))


def _binary(name: str, f: Any) -> Target:
    return Target(f"Tensor.__{name}__", call(SELF, OTHER), op(f))


def _reflected(name: str, f: Any) -> Target:
    return Target(f"Tensor.__r{name}__", call(SCALAR, SELF), op(f))


def _set(L: Lib, a: Any) -> Any:
    (x, index, value), _ = a
    x = x.detach().clone() if x.requires_grad else x
    x[index] = value
    return x


def _inplace(f: Any) -> Any:
    def run(L: Lib, a: Any) -> Any:
        (x, other), _ = a
        with L.mod.no_grad():
            y = f(x.detach().clone(), other)
        return y

    return run


def _backward(L: Lib, a: Any) -> Any:
    (x, gradient), kw = a
    y = (x * 2) if x.requires_grad else x
    y.backward(gradient, **kw)
    return x.grad


def _numpy(L: Lib, a: Any) -> Any:
    (x,), _ = a
    return L.mod.tensor(x.numpy())


def _set_rng_state(L: Lib, a: Any) -> Any:
    (state,), _ = a
    L.mod.set_rng_state(state)
    return L.mod.rand(3)


def _manual_seed(L: Lib, a: Any) -> Any:
    (seed,), _ = a
    L.mod.manual_seed(seed)
    return L.mod.initial_seed(), L.mod.randn(4), L.mod.randn(3, dtype=L.dtype(DT("float64")))


def _state_bytes(L: Lib, a: Any) -> Any:
    (seed, cut), _ = a
    L.mod.manual_seed(seed)
    state = L.mod.get_rng_state()
    return state[:cut] if cut is not None else state


def _grad_mode(L: Lib, a: Any) -> Any:
    (mode,), _ = a
    x = L.mod.ones(2, requires_grad=True)
    with L.mod.set_grad_enabled(mode):
        y = x * 2
    return y.requires_grad, L.mod.is_grad_enabled()


RNG_STATES = st.one_of(
    st.builds(lambda s: Arr(np.full(5056, s, dtype=np.uint8)), st.integers(0, 255)),
    st.builds(lambda n: Arr(np.zeros(n, dtype=np.uint8)), st.sampled_from([0, 10, 5055, 5057])),
    st.builds(lambda d: Arr(np.zeros(5056, dtype=d)), st.sampled_from(["int64", "float32"])),
    JUNK,
)

TARGETS = [
    _creation("tensor", DATA, dtype=dtype_arg(), requires_grad=bool_arg()),
    _creation("as_tensor", DATA, dtype=dtype_arg()),
    Target(
        "elman.from_numpy", call(tensor_or_junk(any_arrays(forms=("ndarray",)))), fn("from_numpy")
    ),
    Target(
        "elman.zeros",
        st.tuples(
            size_args(),
            st.fixed_dictionaries({}, optional={"dtype": dtype_arg(), "requires_grad": bool_arg()}),
        ),
        fn("zeros"),
    ),
    Target(
        "elman.ones",
        st.tuples(
            size_args(),
            st.fixed_dictionaries({}, optional={"dtype": dtype_arg(), "requires_grad": bool_arg()}),
        ),
        fn("ones"),
    ),
    Target(
        "elman.randn",
        st.tuples(
            size_args(),
            st.fixed_dictionaries({}, optional={"dtype": dtype_arg(), "requires_grad": bool_arg()}),
        ),
        fn("randn"),
    ),
    Target(
        "elman.rand",
        st.tuples(
            size_args(),
            st.fixed_dictionaries({}, optional={"dtype": dtype_arg(), "requires_grad": bool_arg()}),
        ),
        fn("rand"),
    ),
    _creation(
        "full",
        size_args().map(lambda s: s[0] if s and isinstance(s[0], tuple) else s),
        SCALAR,
        dtype=dtype_arg(),
    ),
    _creation("zeros_like", any_arrays(), dtype=dtype_arg()),
    _creation("ones_like", any_arrays(), dtype=dtype_arg()),
    _creation(
        "arange", float_arg(-3, 5), float_arg(-3, 8), step=float_arg(0.5, 2), dtype=dtype_arg()
    ),
    _creation("arange", st.integers(-3, 6)),
    _creation("cat", st.lists(float_arrays(shapes(1, 3)), min_size=0, max_size=3), dim=dim_arg()),
    _creation("stack", st.lists(float_arrays(shapes(0, 3)), min_size=0, max_size=3), dim=dim_arg()),
    _creation("cat", tensor_or_junk(st.tuples(float_arrays(shapes(2, 2)), JUNK))),
    *[_elementwise(n) for n in ("tanh", "relu", "sigmoid", "exp", "log")],
    _creation("matmul", float_arrays(shapes(1, 3)), tensor_or_junk(float_arrays(shapes(1, 3)))),
    _creation("maximum", SELF, tensor_or_junk(SELF)),
    Target(
        "elman.manual_seed",
        call(
            weighted(
                (6, st.integers(0, 2**64 - 1)),
                (2, st.sampled_from(HUGE_INTS + [-1, -(2**63)])),
                (1, st.one_of(NP_INTS, NP_FLOATS, NP_BOOLS, JUNK)),
                (1, st.sampled_from([1.5, NAN, INF, True, "3"])),
            )
        ),
        _manual_seed,
    ),
    Target(
        "elman.get_rng_state",
        call(st.integers(0, 2**32), st.sampled_from([None, 8, 5056])),
        _state_bytes,
    ),
    Target("elman.set_rng_state", call(RNG_STATES), _set_rng_state),
    Target("elman.set_grad_enabled", call(bool_arg()), _grad_mode),
    # ---- Tensor methods ----
    _method("reshape", SHAPE_ARGS),
    Target(
        "Tensor.reshape",
        st.tuples(
            st.tuples(SELF).flatmap(
                lambda t: st.tuples(st.just(t[0]), SHAPE_ARGS).map(lambda p: (p[0], *p[1]))
            ),
            st.just({}),
        ),
        meth("reshape"),
    ),
    Target(
        "Tensor.view",
        st.tuples(
            st.tuples(SELF).flatmap(
                lambda t: st.tuples(st.just(t[0]), SHAPE_ARGS).map(lambda p: (p[0], *p[1]))
            ),
            st.just({}),
        ),
        meth("view"),
    ),
    _method("flatten", start_dim=dim_arg(), end_dim=dim_arg()),
    Target(
        "Tensor.permute",
        st.tuples(
            st.tuples(SELF).flatmap(
                lambda t: (
                    st.permutations(range(t[0].data.ndim)).map(lambda p: (t[0], *p))
                    | st.tuples(st.just(t[0]), dim_arg(), dim_arg())
                )
            ),
            st.just({}),
        ),
        meth("permute"),
    ),
    _method("transpose", dim_arg(), dim_arg()),
    _method("t"),
    _method("unsqueeze", dim_arg(4)),
    _method("squeeze", dim_arg()),
    _method("squeeze"),
    Target(
        "Tensor.expand",
        st.tuples(
            st.tuples(SELF).flatmap(
                lambda t: st.tuples(st.just(t[0]), SHAPE_ARGS).map(lambda p: (p[0], *p[1]))
            ),
            st.just({}),
        ),
        meth("expand"),
    ),
    _method("contiguous"),
    _method("__getitem__", INDEX),
    Target("Tensor.__setitem__", call(SELF, INDEX, OTHER), _set),
    _method("to", dtype_arg(optional=False)),
    *[
        _method(n)
        for n in (
            "float",
            "double",
            "long",
            "clone",
            "abs",
            "sqrt",
            "exp",
            "log",
            "tanh",
            "relu",
            "sigmoid",
            "__neg__",
            "item",
            "tolist",
            "detach",
            "argmax",
            "numel",
            "dim",
            "size",
            "__len__",
            "__bool__",
            "__float__",
            "__int__",
            "__index__",
        )
    ],
    _method("sum", dim_arg(), keepdim=bool_arg()),
    _method("mean", dim_arg(), keepdim=bool_arg()),
    _method("max", dim_arg(), keepdim=bool_arg()),
    _method("max"),
    _method("argmax", dim_arg(), keepdim=bool_arg()),
    _method("size", dim_arg()),
    _method("pow", SCALAR),
    _method("matmul", tensor_or_junk(SELF)),
    _method("requires_grad_", bool_arg()),
    *[
        _binary(n, f)
        for n, f in (
            ("add", operator.add),
            ("sub", operator.sub),
            ("mul", operator.mul),
            ("truediv", operator.truediv),
            ("pow", operator.pow),
            ("matmul", operator.matmul),
            ("eq", operator.eq),
            ("lt", operator.lt),
            ("ge", operator.ge),
        )
    ],
    *[
        _reflected(n, f)
        for n, f in (
            ("add", operator.add),
            ("sub", operator.sub),
            ("mul", operator.mul),
            ("truediv", operator.truediv),
        )
    ],
    *[
        Target(f"Tensor.__i{n}__", call(FSELF, OTHER), _inplace(f))
        for n, f in (("add", operator.iadd), ("mul", operator.imul))
    ],
    _method("copy_", OTHER, self_=FSELF),
    _method("fill_", SCALAR, self_=FSELF),
    _method("zero_", self_=FSELF),
    Target("Tensor.backward", call(FSELF, weighted((3, st.none()), (3, OTHER))), _backward),
    Target("Tensor.numpy", call(SELF), _numpy),
]
for _t in TARGETS:  # int() of inf: Python's OverflowError, for floats as for torch's tensors
    if _t.name in ("Tensor.__int__", "Tensor.__index__"):
        _t.extra = (OverflowError,)
