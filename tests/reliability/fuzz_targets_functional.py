"""Fuzz targets: ``elman.nn.functional``, ``elman.nn.init`` and gradient clipping."""

from __future__ import annotations

from typing import Any

import numpy as np
from fuzz_core import Arr, Lib
from fuzz_targets_tensor import SELF, call, fn
from fuzz_values import (
    INF,
    JUNK,
    NAN,
    NP_FLOATS,
    any_arrays,
    arrays,
    bool_arg,
    choice_arg,
    dim_arg,
    dtype_arg,
    float_arg,
    float_arrays,
    shapes,
    tensor_or_junk,
    weighted,
)
from fuzz_verdict import Target
from hypothesis import strategies as st

REDUCTION = choice_arg(["mean", "sum", "none"], ["avg", "MEAN", None, "elementwise_mean"])
SMALL = st.sampled_from([(3,), (2, 3), (3, 1), (1,), (), (2, 3, 2), (4, 3)])


@st.composite
def linear_args(draw: Any) -> Any:
    i, o = draw(st.integers(0, 4)), draw(st.integers(0, 4))
    dt = draw(st.sampled_from(["float32", "float64"]))
    lead = draw(shapes(0, 2))
    x = draw(arrays(st.sampled_from([(*lead, i), (*lead, i + 1), ()]), dt))
    w = draw(
        arrays(
            st.sampled_from([(o, i), (o, i + 1), (i,), (o, i, 1)]),
            st.sampled_from([dt, dt, dt, "float64"]),
        )
    )
    b = draw(st.none() | arrays(st.sampled_from([(o,), (o + 1,), (), (1,)]), dt))
    return (x, w, b), {}


@st.composite
def cross_entropy_args(draw: Any) -> Any:
    N, C = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dt = draw(st.sampled_from(["float32", "float64"]))
    shape = draw(st.sampled_from([(N, C), (C,), (N, C, 2)]))
    x = draw(arrays(shape, dt))
    tshape = (shape[0], *shape[2:]) if len(shape) > 1 else ()
    kind = draw(st.integers(0, 5))
    if kind <= 2:  # class indices, sometimes out of range or of another dtype
        hi = C + (1 if kind == 2 else 0)
        idx = draw(arrays(tshape, "int64")).data % hi
        tdt = draw(st.sampled_from(["int64"] * 4 + ["int32", "uint8", "float32"]))
        t = Arr(idx.astype(tdt))
    elif kind == 3:  # probabilities
        t = draw(arrays(shape, st.sampled_from([dt, dt, "float64"])))
    else:
        t = draw(any_arrays(st.sampled_from([tshape, shape, (N + 1,), ()])))
    kw = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "weight": st.none() | arrays(st.sampled_from([(C,), (C + 1,), ()]), dt),
                "ignore_index": weighted(
                    (4, st.integers(-100, C)), (1, st.sampled_from([10**20, 1.5]))
                ),
                "reduction": REDUCTION,
                "label_smoothing": float_arg(0, 1),
            },
        )
    )
    return (x, t), kw


@st.composite
def embedding_args(draw: Any) -> Any:
    n, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    w = draw(arrays((n, d), st.sampled_from(["float32", "float64"])))
    idx = draw(
        weighted(
            (5, arrays(shapes(0, 2), "int64").map(lambda a: Arr(np.abs(a.data) % n))),
            (1, arrays(shapes(0, 2), st.sampled_from(["int64", "int32", "float32", "bool"]))),
        )
    )
    kw = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "padding_idx": weighted(
                    (4, st.integers(-n, n - 1)), (1, st.sampled_from([n, 10**20]))
                ),
                "max_norm": weighted(
                    (3, st.floats(0.1, 3)), (1, st.sampled_from([0.0, -1.0, NAN]))
                ),
                "norm_type": weighted(
                    (3, st.sampled_from([1.0, 2.0])), (1, st.sampled_from([0.0, INF]))
                ),
                "scale_grad_by_freq": bool_arg(),
            },
        )
    )
    return (idx, w), kw


def _init(name: str) -> Any:
    def run(L: Lib, a: Any) -> Any:
        (x, *rest), kw = a
        if hasattr(x, "requires_grad") and x.requires_grad:  # init runs on leaves in no_grad
            with L.mod.no_grad():
                return getattr(L.mod.nn.init, name)(x, *rest, **kw)
        return getattr(L.mod.nn.init, name)(x, *rest, **kw)

    return run


INIT_TENSOR = arrays(
    shapes(0, 3, 0, 4),
    weighted(
        (6, st.sampled_from(["float32", "float64"])), (1, st.sampled_from(["int64", "float16"]))
    ),
    rg=False,
)


@st.composite
def clip_args(draw: Any) -> Any:
    n = draw(st.integers(0, 3))
    grads = [draw(st.none() | float_arrays(shapes(0, 2))) for _ in range(n)]
    return grads


def _with_grads(L: Lib, grads: list[Any]) -> list[Any]:
    """A parameter per (rendered) gradient, of its shape and dtype; None: no gradient."""
    params = []
    for g in grads:
        if g is None:
            p = L.mod.nn.Parameter(L.mod.ones(2))
        else:
            p = L.mod.nn.Parameter(L.mod.ones(tuple(g.shape), dtype=g.dtype))
            p.grad = g.detach().clone()
        params.append(p)
    return params


def _clip(name: str) -> Any:
    def run(L: Lib, a: Any) -> Any:
        (grads, *rest), kw = a
        params = _with_grads(L, grads)
        total = getattr(L.mod.nn.utils, name)(params, *rest, **kw)
        return total, [p.grad for p in params]

    return run


def _total_norm(L: Lib, a: Any) -> Any:
    (grads, *rest), kw = a
    return L.mod.nn.utils.get_total_norm([g for g in grads if g is not None], *rest, **kw)


NORM_TYPE = weighted(
    (6, st.sampled_from([2.0, 1.0, INF, 2, 3.5, "inf"])),
    (2, st.sampled_from([0.0, -1.0, NAN, -INF, 0.5, "fro", None, "x"])),
    (1, NP_FLOATS),
)
TARGETS = [
    Target("nn.functional.linear", linear_args(), fn("nn.functional.linear")),
    Target(
        "nn.functional.dropout",
        call(any_arrays(), p=float_arg(0, 1), training=bool_arg(), inplace=bool_arg()),
        fn("nn.functional.dropout"),
    ),
    Target("nn.functional.tanh", call(tensor_or_junk(any_arrays())), fn("nn.functional.tanh")),
    Target("nn.functional.relu", call(tensor_or_junk(any_arrays())), fn("nn.functional.relu")),
    *[
        Target(
            f"nn.functional.{n}", call(SELF, dim_arg(), dtype=dtype_arg()), fn(f"nn.functional.{n}")
        )
        for n in ("softmax", "log_softmax")
    ],
    Target("nn.functional.embedding", embedding_args(), fn("nn.functional.embedding")),
    *[
        Target(
            f"nn.functional.{n}",
            call(any_arrays(SMALL), tensor_or_junk(any_arrays(SMALL)), reduction=REDUCTION),
            fn(f"nn.functional.{n}"),
        )
        for n in ("mse_loss", "l1_loss")
    ],
    Target("nn.functional.cross_entropy", cross_entropy_args(), fn("nn.functional.cross_entropy")),
    Target(
        "nn.CrossEntropyLoss",
        cross_entropy_args(),
        lambda L, a: L.mod.nn.CrossEntropyLoss(**a[1])(*a[0]),
    ),
    Target(
        "nn.init.uniform_", call(INIT_TENSOR, float_arg(-2, 0), float_arg(0, 2)), _init("uniform_")
    ),
    Target(
        "nn.init.normal_", call(INIT_TENSOR, float_arg(-1, 1), float_arg(0, 2)), _init("normal_")
    ),
    Target("nn.init.constant_", call(INIT_TENSOR, float_arg(-1, 1)), _init("constant_")),
    *[Target(f"nn.init.{n}", call(INIT_TENSOR), _init(n)) for n in ("zeros_", "ones_", "eye_")],
    *[
        Target(f"nn.init.{n}", call(INIT_TENSOR, gain=float_arg(0, 2)), _init(n))
        for n in ("xavier_uniform_", "xavier_normal_", "orthogonal_")
    ],
    *[
        Target(
            f"nn.init.{n}",
            call(
                INIT_TENSOR,
                a=float_arg(0, 3),
                mode=choice_arg(["fan_in", "fan_out"], ["fan_avg", None]),
                nonlinearity=choice_arg(["leaky_relu", "relu", "tanh", "linear"], ["gelu", "Tanh"]),
            ),
            _init(n),
        )
        for n in ("kaiming_uniform_", "kaiming_normal_")
    ],
    Target(
        "nn.init.calculate_gain",
        call(
            choice_arg(
                ["linear", "conv1d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"],
                ["gelu", None],
            ),
            weighted((3, st.none()), (3, float_arg(0, 1)), (1, st.sampled_from([True, "0.1"]))),
        ),
        fn("nn.init.calculate_gain"),
    ),
    Target(
        "nn.utils.clip_grad_norm_",
        call(
            clip_args(),
            float_arg(0, 2),
            NORM_TYPE,
            error_if_nonfinite=bool_arg(),
            foreach=st.none(),
        ),
        _clip("clip_grad_norm_"),
    ),
    Target(
        "nn.utils.clip_grad_value_", call(clip_args(), float_arg(0, 2)), _clip("clip_grad_value_")
    ),
    Target(
        "nn.utils.clip_grads_with_norm_",
        call(
            clip_args(),
            float_arg(0, 2),
            weighted((4, float_arrays(())), (1, st.floats(0, 3)), (1, JUNK)),
        ),
        _clip("clip_grads_with_norm_"),
    ),
    Target(
        "nn.utils.get_total_norm",
        call(clip_args(), NORM_TYPE, error_if_nonfinite=bool_arg()),
        _total_norm,
    ),
]
