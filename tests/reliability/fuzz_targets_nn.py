"""Fuzz targets: the modules of ``elman.nn`` (constructors, forward, state dicts)."""

from __future__ import annotations

from typing import Any

import numpy as np
from fuzz_core import DT, Arr, Lib
from fuzz_targets_tensor import call, fn
from fuzz_values import (
    JUNK,
    NAN,
    any_arrays,
    arrays,
    bool_arg,
    choice_arg,
    dtype_arg,
    float_arg,
    int_arg,
    shapes,
    weighted,
)
from fuzz_verdict import Target
from hypothesis import strategies as st

NONLIN = choice_arg(["tanh", "relu"], ["TANH", "sigmoid", None, "gelu"])

RNN_KW = {
    "num_layers": int_arg(1, 3),
    "nonlinearity": NONLIN,
    "bias": bool_arg(),
    "batch_first": bool_arg(),
    "dropout": weighted((3, st.just(0.0)), (1, float_arg(0, 1))),
    "bidirectional": bool_arg(),
    "dtype": dtype_arg(),
}
ODD_KW = st.sampled_from([{}, {}, {}, {}, {"proj_size": 0}, {"proj_size": 2}, {"foo": 1}])


def _torch_hangs(a: Any) -> bool:
    """torch builds one layer after another: a huge num_layers takes hours (elman refuses)."""
    n = a[1].get("num_layers", 1) if isinstance(a[1], dict) else 1
    return isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 10**5


def _rnn_ctor(L: Lib, a: Any) -> Any:
    pos, kw, odd = a
    return L.mod.nn.RNN(*pos, **kw, **odd)


@st.composite
def rnn_config(draw: Any, valid: bool = False) -> dict[str, Any]:
    """A mostly valid RNN configuration (small sizes)."""
    cfg = {
        "input_size": draw(st.integers(1, 4)),
        "hidden_size": draw(st.integers(1, 4)),
        "num_layers": draw(st.integers(1, 3)),
        "nonlinearity": draw(st.sampled_from(["tanh", "relu"])),
        "bias": draw(st.booleans()),
        "batch_first": draw(st.booleans()),
        "bidirectional": draw(st.booleans()),
        "dtype": draw(st.sampled_from([DT("float32"), DT("float64")])),
    }
    if cfg["num_layers"] > 1 and draw(st.integers(0, 3)) == 0:
        cfg["dropout"] = draw(st.sampled_from([0.3, 0.5, 1.0]))
    return cfg


def _perturb(draw: Any, shape: list[int], dtype: str) -> tuple[tuple[int, ...], str]:
    """Usually the given shape and dtype; sometimes a wrong rank, size, zero or dtype."""
    how = draw(st.integers(0, 14))
    shape = list(shape)
    if how == 1 and shape:
        shape[draw(st.integers(0, len(shape) - 1))] += draw(st.sampled_from([1, -1]))
    elif how == 2:
        shape = shape[1:]
    elif how == 3:
        shape = [2, *shape]
    elif how == 4 and shape:
        shape[draw(st.integers(0, len(shape) - 1))] = 0
    elif how == 5:
        dtype = draw(st.sampled_from(["float32", "float64", "int64", "float16"]))
    return tuple(max(0, n) for n in shape), dtype


@st.composite
def rnn_forward_case(draw: Any) -> Any:
    cfg = draw(rnn_config())
    dt = cfg["dtype"].name
    D = 2 if cfg["bidirectional"] else 1
    L, N = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    unbatched = draw(st.integers(0, 4)) == 0
    if unbatched:
        xs, hs = [L, cfg["input_size"]], [cfg["num_layers"] * D, cfg["hidden_size"]]
    else:
        xs = [N, L, cfg["input_size"]] if cfg["batch_first"] else [L, N, cfg["input_size"]]
        hs = [cfg["num_layers"] * D, N, cfg["hidden_size"]]
    xshape, xdt = _perturb(draw, xs, dt)
    forms = ("tensor",) * 8 + ("ndarray", "list")
    x = draw(arrays(xshape, xdt, forms=forms))
    h = None
    if draw(st.booleans()):
        hshape, hdt = _perturb(draw, hs, dt)
        h = draw(arrays(hshape, hdt, forms=forms))
    training = draw(st.booleans())
    return cfg, x, h, training


def _rnn_forward(L: Lib, a: Any) -> Any:
    cfg, x, h, training = a
    rnn = L.mod.nn.RNN(**cfg)
    rnn.train(training)
    L.leaves.extend(rnn.parameters())
    return rnn(x) if h is None else rnn(x, h)


def _not_tensors(a: Any) -> bool:
    return any(isinstance(v, Arr) and v.form in ("ndarray", "list") for v in a[1:3])


@st.composite
def cell_case(draw: Any) -> Any:
    I, H, N = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    cfg = {"bias": draw(st.booleans()), "nonlinearity": draw(st.sampled_from(["tanh", "relu"]))}
    dt = draw(st.sampled_from(["float32", "float64"]))
    batched = draw(st.integers(0, 3)) > 0
    xshape, xdt = _perturb(draw, [N, I] if batched else [I], dt)
    forms = ("tensor",) * 8 + ("ndarray",)
    x = draw(arrays(xshape, xdt, forms=forms))
    h = None
    if draw(st.booleans()):
        hshape, hdt = _perturb(draw, [N, H] if batched else [H], dt)
        h = draw(arrays(hshape, hdt, forms=forms))
    return (I, H), {**cfg, "dtype": DT(dt)}, x, h


def _cell_forward(L: Lib, a: Any) -> Any:
    sizes, cfg, x, h = a
    cell = L.mod.nn.RNNCell(*sizes, **cfg)
    L.leaves.extend(cell.parameters())
    return cell(x) if h is None else cell(x, h)


@st.composite
def linear_case(draw: Any) -> Any:
    i, o = draw(st.integers(0, 4)), draw(st.integers(0, 4))
    dt = draw(st.sampled_from(["float32", "float64"]))
    lead = draw(shapes(0, 2))
    xshape, xdt = _perturb(draw, [*lead, i], dt)
    x = draw(arrays(xshape, xdt, forms=("tensor",) * 6 + ("ndarray", "list", "t")))
    return (i, o), {"bias": draw(st.booleans()), "dtype": DT(dt)}, x


def _linear_forward(L: Lib, a: Any) -> Any:
    sizes, cfg, x = a
    m = L.mod.nn.Linear(*sizes, **cfg)
    L.leaves.extend(m.parameters())
    return m(x)


@st.composite
def embedding_case(draw: Any) -> Any:
    n, d = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    kw = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "padding_idx": weighted(
                    (6, st.integers(-n, n - 1)),
                    (1, st.sampled_from([n, -n - 1, 10**20, 1.5, None, True])),
                ),
                "max_norm": weighted(
                    (4, st.floats(0.1, 3)), (1, st.sampled_from([0.0, -1.0, NAN]))
                ),
                "norm_type": weighted(
                    (4, st.sampled_from([1.0, 2.0, 3.0])),
                    (1, st.sampled_from([0.0, -1.0, NAN, float("inf")])),
                ),
                "scale_grad_by_freq": st.booleans(),
                "dtype": dtype_arg(),
            },
        )
    )
    idx = draw(
        weighted(
            (6, arrays(shapes(0, 2), "int64").map(lambda a: Arr(np.abs(a.data) % n))),
            (1, arrays(shapes(0, 2), "int64").map(lambda a: Arr(a.data * 3))),
            (1, arrays(shapes(0, 2), st.sampled_from(["int32", "float32", "bool", "uint8"]))),
            (1, st.sampled_from([[0, 1], [[0]], 1, 1.5, None])),
        )
    )
    return (n, d), kw, idx


def _embedding_forward(L: Lib, a: Any) -> Any:
    sizes, kw, idx = a
    m = L.mod.nn.Embedding(*sizes, **kw)
    L.leaves.extend(m.parameters())
    out = m(idx)
    return out, m.weight


def _from_pretrained(L: Lib, a: Any) -> Any:
    (w,), kw = a
    m = L.mod.nn.Embedding.from_pretrained(w, **kw)
    return m(L.mod.tensor([0])), m.weight.requires_grad


def _dropout_module(L: Lib, a: Any) -> Any:
    (p, x, training), kw = a
    m = L.mod.nn.Dropout(p, **kw)
    m.train(training)
    return m(x)


def _loss_module(name: str) -> Any:
    def run(L: Lib, a: Any) -> Any:
        (x, t), kw = a
        return getattr(L.mod.nn, name)(**kw)(x, t)

    return run


MODULE_SPECS = st.sampled_from(["linear", "identity", "dropout", "linear", "rnn"])


def _make(L: Lib, spec: Any) -> Any:
    makers = {
        "linear": lambda: L.mod.nn.Linear(2, 2),
        "identity": lambda: L.mod.nn.Identity(),
        "dropout": lambda: L.mod.nn.Dropout(0.0),
        "rnn": lambda: L.mod.nn.RNN(2, 2),
    }
    return makers[spec]() if isinstance(spec, str) and spec in makers else spec


def _sequential(L: Lib, a: Any) -> Any:
    (specs, index), _ = a
    seq = L.mod.nn.Sequential(*[_make(L, s) for s in specs])
    part = seq[index]
    return seq, len(seq), type(part).__name__


def _module_to(L: Lib, a: Any) -> Any:
    (arg,), _ = a
    m = L.mod.nn.Linear(2, 3)
    m.to(arg)
    return m


STATE_VALUES = weighted(
    (
        6,
        arrays(
            st.sampled_from([(3, 2), (3,), (2, 3), (3, 2, 1), ()]),
            st.sampled_from(["float32", "float64", "int64", "bool", "float16"]),
        ),
    ),
    (1, st.sampled_from([None, "w", 1.5, [1.0, 2.0], [[0.0] * 2] * 3])),
)


@st.composite
def state_dict_case(draw: Any) -> Any:
    keys = draw(
        st.lists(
            st.sampled_from(["weight", "bias", "weight", "extra", "bias.x", ""]),
            max_size=4,
            unique=True,
        )
    )
    sd = {k: draw(STATE_VALUES) for k in keys}
    if draw(st.booleans()):
        sd.setdefault("weight", Arr(np.ones((3, 2), np.float32)))
        sd.setdefault("bias", Arr(np.ones(3, np.float32)))
    strict = draw(weighted((6, st.booleans()), (1, st.sampled_from([None, 0, "no"]))))
    holder = draw(weighted((8, st.just("dict")), (1, st.sampled_from(["list", "none"]))))
    return sd, strict, holder


def _load_state_dict(L: Lib, a: Any) -> Any:
    sd, strict, holder = a
    m = L.mod.nn.Linear(2, 3)
    arg = {"dict": sd, "list": list(sd.items()), "none": None}[holder]
    result = m.load_state_dict(arg, strict=strict)
    return m, sorted(result.missing_keys), sorted(result.unexpected_keys)


NAMES = weighted(
    (6, st.sampled_from(["w", "b2", "x_y"])),
    (2, st.sampled_from(["", "a.b", "weight", "training", 3, None, "forward"])),
)


def _register(kind: str) -> Any:
    def run(L: Lib, a: Any) -> Any:
        (name, value), _ = a
        m = L.mod.nn.Linear(2, 2)
        if kind == "parameter" and hasattr(value, "detach"):  # (rendered: a tensor)
            value = L.mod.nn.Parameter(value.detach())
        elif kind == "module":
            value = _make(L, value)
        getattr(m, "register_" + kind if kind != "module" else "add_module")(name, value)
        return sorted(m.state_dict())

    return run


LOSS_REDUCTION = choice_arg(["mean", "sum", "none"], ["avg", "MEAN", None])
SMALL = st.sampled_from([(3,), (2, 3), (3, 1), (1,), (), (2, 3, 2)])
TARGETS = [
    Target(
        "nn.RNN",
        call(
            st.tuples(int_arg(1, 4), int_arg(1, 4)) | st.tuples(int_arg(1, 4)),
            st.fixed_dictionaries({}, optional=RNN_KW),
            ODD_KW,
        ).map(lambda t: t[0]),
        _rnn_ctor,
        skip_torch=_torch_hangs,
    ),
    Target("nn.RNN.forward", rnn_forward_case(), _rnn_forward),
    Target(
        "nn.RNNCell",
        call(int_arg(1, 4), int_arg(1, 4), bias=bool_arg(), nonlinearity=NONLIN, dtype=dtype_arg()),
        fn("nn.RNNCell"),
    ),
    Target("nn.RNNCell.forward", cell_case(), _cell_forward),
    Target(
        "nn.Linear",
        call(int_arg(0, 4), int_arg(0, 4), bias=bool_arg(), dtype=dtype_arg()),
        fn("nn.Linear"),
    ),
    Target("nn.Linear.forward", linear_case(), _linear_forward),
    Target(
        "nn.Embedding",
        call(
            int_arg(1, 5),
            int_arg(1, 4),
            padding_idx=int_arg(-2, 2),
            max_norm=float_arg(0.1, 2),
            dtype=dtype_arg(),
        ),
        fn("nn.Embedding"),
        extra=(AssertionError,),
    ),
    Target("nn.Embedding.forward", embedding_case(), _embedding_forward, extra=(AssertionError,)),
    Target(
        "nn.Embedding.from_pretrained",
        call(
            weighted((5, any_arrays(shapes(2, 2))), (1, any_arrays(shapes(0, 3)))),
            freeze=bool_arg(),
            padding_idx=int_arg(-1, 1),
        ),
        _from_pretrained,
        extra=(AssertionError,),
    ),
    Target(
        "nn.Dropout",
        call(float_arg(0, 1), any_arrays(), st.booleans(), inplace=bool_arg()),
        _dropout_module,
    ),
    Target("nn.Identity", call(any_arrays()), lambda L, a: L.mod.nn.Identity(1, x=2)(*a[0])),
    Target(
        "nn.Sequential",
        call(
            st.lists(weighted((5, MODULE_SPECS), (1, JUNK)), max_size=3),
            weighted(
                (4, st.integers(-3, 3)),
                (1, st.sampled_from([slice(0, 2), slice(None, None, -1), 10**20, "0", 1.5])),
            ),
        ),
        _sequential,
    ),
    *[
        Target(
            f"nn.{n}",
            call(any_arrays(SMALL), any_arrays(SMALL), reduction=LOSS_REDUCTION),
            _loss_module(n),
        )
        for n in ("MSELoss", "L1Loss")
    ],
    Target(
        "nn.Module.to",
        call(
            weighted(
                (4, dtype_arg(optional=False)),
                (1, st.sampled_from(["cpu", "cuda", "meta", "cpu:0", 3, None])),
            )
        ),
        _module_to,
    ),
    Target("nn.Module.load_state_dict", state_dict_case(), _load_state_dict, extra=(KeyError,)),
    *[
        Target(f"nn.Module.register_{k}", call(NAMES, v), _register(k), extra=(KeyError,))
        for k, v in (
            ("parameter", weighted((4, arrays(rg=False)), (1, JUNK))),
            ("buffer", weighted((4, arrays(rg=False)), (1, JUNK))),
            ("module", weighted((4, MODULE_SPECS), (1, JUNK))),
        )
    ],
]
