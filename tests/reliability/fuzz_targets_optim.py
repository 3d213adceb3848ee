"""Fuzz targets: ``elman.optim`` optimizers and ``elman.optim.lr_scheduler``."""

from __future__ import annotations

from typing import Any

import numpy as np
from fuzz_core import Arr, Lib
from fuzz_values import (
    INF,
    JUNK,
    NAN,
    bool_arg,
    choice_arg,
    float_arg,
    float_arrays,
    int_arg,
    shapes,
    weighted,
)
from fuzz_verdict import Target
from hypothesis import strategies as st

BETAS = weighted(
    (6, st.tuples(st.floats(0, 0.99), st.floats(0, 0.999))),
    (1, st.sampled_from([(0.9,), (1.0, 0.9), (0.9, -0.1), (NAN, 0.9), 0.9, None, (0.9, 0.99, 1)])),
)
HYPER = {
    "SGD": {
        "lr": float_arg(0, 1),
        "momentum": float_arg(0, 1),
        "dampening": float_arg(0, 1),
        "weight_decay": float_arg(0, 0.1),
        "nesterov": bool_arg(),
        "maximize": bool_arg(),
    },
    "Adam": {
        "lr": float_arg(0, 1),
        "betas": BETAS,
        "eps": float_arg(0, 1e-3),
        "weight_decay": float_arg(0, 0.1),
        "amsgrad": bool_arg(),
        "maximize": bool_arg(),
    },
    "AdamW": {
        "lr": float_arg(0, 1),
        "betas": BETAS,
        "eps": float_arg(0, 1e-3),
        "weight_decay": float_arg(0, 0.1),
        "amsgrad": bool_arg(),
    },
    "RMSprop": {
        "lr": float_arg(0, 1),
        "alpha": float_arg(0, 1),
        "eps": float_arg(0, 1e-3),
        "weight_decay": float_arg(0, 0.1),
        "momentum": float_arg(0, 1),
        "centered": bool_arg(),
        "maximize": bool_arg(),
    },
    "Adagrad": {
        "lr": float_arg(0, 1),
        "lr_decay": float_arg(0, 0.1),
        "weight_decay": float_arg(0, 0.1),
        "initial_accumulator_value": float_arg(0, 1),
        "eps": float_arg(0, 1e-3),
        "maximize": bool_arg(),
    },
}


@st.composite
def optim_case(draw: Any, name: str) -> Any:
    """Two parameters, a few steps of gradients (NaN/inf in some), drawn hyperparameters."""
    shapes_ = [draw(shapes(0, 2)) for _ in range(2)]
    dt = draw(st.sampled_from(["float32", "float64"]))
    steps = [
        [
            draw(st.none() | float_arrays(s).map(lambda a, dt=dt: Arr(a.data.astype(dt))))
            for s in shapes_
        ]
        for _ in range(draw(st.integers(1, 3)))
    ]
    kw = draw(st.fixed_dictionaries({}, optional=HYPER[name]))
    params = draw(
        weighted(
            (8, st.just("list")),
            (1, st.sampled_from(["empty", "groups", "set", "tensor", "junk", "named"])),
        )
    )
    return name, dt, shapes_, steps, kw, params


def _params(L: Lib, dt: str, shapes_: list[Any]) -> list[Any]:
    return [
        L.mod.nn.Parameter(L.tensor(Arr(np.linspace(-1, 1, int(np.prod(s))).reshape(s).astype(dt))))
        for s in shapes_
    ]


def _optim(L: Lib, a: Any) -> Any:
    name, dt, shapes_, steps, kw, how = a
    ps = _params(L, dt, shapes_)
    given = {
        "list": ps,
        "empty": [],
        "groups": [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.5}],
        "set": set(ps),
        "tensor": ps[0],
        "junk": [1.0, "w"],
        "named": [("a", ps[0]), ("b", ps[1])],
    }[how]
    opt = getattr(L.mod.optim, name)(given, **kw)
    for grads in steps:  # (rendered: already tensors of this library)
        opt.zero_grad()
        for p, g in zip(ps, grads, strict=True):
            p.grad = None if g is None else g.detach().clone()
        opt.step()
    state = opt.state_dict()
    return ps, [sorted(s) for s in state["state"].values()]


SCHED = {
    "StepLR": {"step_size": int_arg(1, 3), "gamma": float_arg(0, 1)},
    "ExponentialLR": {"gamma": float_arg(0, 1)},
    "CosineAnnealingLR": {"T_max": int_arg(1, 5), "eta_min": float_arg(0, 0.01)},
    "ReduceLROnPlateau": {
        "mode": choice_arg(["min", "max"], ["mean", None]),
        "factor": float_arg(0, 0.9),
        "patience": int_arg(0, 2),
        "threshold": float_arg(0, 0.1),
        "threshold_mode": choice_arg(["rel", "abs"], ["relative"]),
        "cooldown": int_arg(0, 2),
        "min_lr": float_arg(0, 0.01),
        "eps": float_arg(0, 1e-6),
    },
}
REQUIRED = {"StepLR": "step_size", "ExponentialLR": "gamma", "CosineAnnealingLR": "T_max"}
METRICS = weighted(
    (6, st.floats(-2, 2)),
    (1, st.sampled_from([NAN, INF, -INF, "x", None])),
    (1, float_arrays(st.sampled_from([(), (1,), (2,)]))),
)


@st.composite
def sched_case(draw: Any, name: str) -> Any:
    kw = draw(st.fixed_dictionaries({}, optional=SCHED[name]))
    if name in REQUIRED and draw(st.integers(0, 8)):
        kw.setdefault(REQUIRED[name], draw(SCHED[name][REQUIRED[name]]))
    if draw(st.integers(0, 6)) == 0:
        kw["last_epoch"] = draw(st.sampled_from([-1, 0, 3, -2, 1.5]))
    metrics = [draw(METRICS) for _ in range(draw(st.integers(1, 6)))]
    lr = draw(weighted((6, st.floats(0.001, 1)), (1, st.sampled_from([0.0, NAN, INF]))))
    return name, kw, metrics, lr


def _sched(L: Lib, a: Any) -> Any:
    name, kw, metrics, lr = a
    p = L.mod.nn.Parameter(L.tensor(Arr(np.ones(2, np.float32))))
    opt = L.mod.optim.SGD([p], lr=lr)
    sched = getattr(L.mod.optim.lr_scheduler, name)(opt, **kw)
    lrs = []
    for m in metrics:
        opt.step()
        if name == "ReduceLROnPlateau":
            sched.step(m)  # (a number, or a tensor rendered for this library)
        else:
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs, sched.get_last_lr()


@st.composite
def optim_state_case(draw: Any) -> Any:
    """An Adam state dict with a few things broken, loaded into a fresh Adam."""
    breaks = draw(
        st.lists(
            st.sampled_from(
                [
                    "groups",
                    "params",
                    "state-key",
                    "step",
                    "exp_avg-shape",
                    "no-state",
                    "no-groups",
                    "lr-str",
                    "junk",
                ]
            ),
            max_size=2,
            unique=True,
        )
    )
    return breaks


def _optim_state(L: Lib, a: Any) -> Any:
    breaks = a
    ps = _params(L, "float32", [(2,), (3,)])
    opt = L.mod.optim.Adam(ps, lr=0.1)
    for p in ps:
        p.grad = L.tensor(Arr(np.ones(tuple(p.shape), np.float32)))
    opt.step()
    sd = opt.state_dict()
    if "groups" in breaks:
        sd["param_groups"] = sd["param_groups"] * 2
    if "params" in breaks:
        sd["param_groups"][0]["params"] = sd["param_groups"][0]["params"][:1]
    if "state-key" in breaks:
        sd["state"] = {7: sd["state"][0]}
    if "step" in breaks:
        sd["state"][0]["step"] = "x"
    if "exp_avg-shape" in breaks and 0 in sd["state"]:
        sd["state"][0]["exp_avg"] = L.tensor(Arr(np.ones(5, np.float32)))
    if "no-state" in breaks:
        del sd["state"]
    if "no-groups" in breaks:
        del sd["param_groups"]
    if "lr-str" in breaks:
        sd["param_groups"][0]["lr"] = "fast"
    if "junk" in breaks:
        sd = [1, 2]
    fresh = L.mod.optim.Adam(_params(L, "float32", [(2,), (3,)]), lr=0.1)
    fresh.load_state_dict(sd)
    for p in fresh.param_groups[0]["params"]:
        p.grad = L.tensor(Arr(np.ones(tuple(p.shape), np.float32)))
    fresh.step()
    return fresh.param_groups[0]["params"]


TARGETS = [
    *[Target(f"optim.{n}", optim_case(n), _optim) for n in HYPER],
    *[Target(f"optim.lr_scheduler.{n}", sched_case(n), _sched, extra=(KeyError,)) for n in SCHED],
    Target("optim.Optimizer.load_state_dict", optim_state_case(), _optim_state, extra=(KeyError,)),
]

_ = JUNK
