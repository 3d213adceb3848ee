"""Differential NaN/inf cases for what a training step does after backward: gradient
clipping and the optimizers, run in torch and in elman on the same numbers.

* clipping: gradients of three parameters, NaN/±inf written into some of them; then
  ``clip_grad_norm_`` (several norm types, ``error_if_nonfinite`` either way: the total
  norm, the clipped gradients, or the error text) or ``clip_grad_value_``;
* optimizers: three steps of SGD, Adam, AdamW, RMSprop or Adagrad (several option sets) on
  the same parameters with given gradients, NaN/±inf in the gradients of one step (or in
  a parameter): the parameters and every state tensor after each step.

Importing this module imports neither torch nor elman.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from nan_inf_harness import VALUES

SHAPES = [(3, 4), (4,), (2, 2, 3)]
NORMS = [2.0, 1.0, math.inf, 0.5, 3.0]
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("SGD", {"lr": 0.1}),
    "sgd_momentum": ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    "sgd_nesterov": ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "dampening": 0.0}),
    "sgd_maximize": ("SGD", {"lr": 0.1, "momentum": 0.5, "dampening": 0.1, "maximize": True}),
    "adam": ("Adam", {"lr": 0.01}),
    "adam_amsgrad": ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    "adamw": ("AdamW", {"lr": 0.01}),
    "adamw_amsgrad": ("AdamW", {"lr": 0.01, "amsgrad": True, "maximize": True}),
    "rmsprop": ("RMSprop", {"lr": 0.01}),
    "rmsprop_centered": ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9}),
    "rmsprop_wd": ("RMSprop", {"lr": 0.01, "weight_decay": 0.1, "momentum": 0.5}),
    "adagrad": ("Adagrad", {"lr": 0.1}),
    "adagrad_decay": ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1}),
}
STEPS = 3


def make_arrays(
    dtype: str, seed: int, poison: list[tuple[str, int, int, str]]
) -> dict[str, np.ndarray]:
    """``p/<i>`` parameters and ``g<step>/<i>`` gradients; poison ``(kind, i, index, value)``
    with kind ``p`` or ``g<step>``."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for i, shape in enumerate(SHAPES):
        arrays[f"p/{i}"] = rng.standard_normal(shape).astype(dtype)
        for step in range(STEPS):
            arrays[f"g{step}/{i}"] = rng.standard_normal(shape).astype(dtype)
    for kind, i, index, value in poison:
        a = arrays[f"{kind}/{i}"]
        a.flat[index % a.size] = VALUES[value]
    return arrays


def random_poison(rng: np.random.Generator, steps: int = STEPS) -> list[tuple[str, int, int, str]]:
    kinds = ["p"] + [f"g{s}" for s in range(steps)]
    out = []
    for _ in range(int(rng.choice([0, 1, 1, 1, 2, 3]))):
        kind = str(rng.choice(kinds, p=[0.1] + [0.9 / steps] * steps))
        value = str(rng.choice(list(VALUES)))
        out.append((kind, int(rng.integers(0, len(SHAPES))), int(rng.integers(0, 1 << 30)), value))
    return out


def run_clip(
    lib: Any, arrays: dict[str, np.ndarray], how: str, norm: float, error: bool
) -> dict[str, np.ndarray]:
    """Clip gradients ``g0/<i>`` of the parameters: ``how`` ``norm`` (max_norm 1.0) or
    ``value`` (0.5). Returns the gradients, the total norm, or ``error`` (the text)."""
    params = []
    for i in range(len(SHAPES)):
        p = lib.tensor(arrays[f"p/{i}"], requires_grad=True)
        p.grad = lib.tensor(arrays[f"g0/{i}"])
        params.append(p)
    result: dict[str, Any] = {}
    try:
        if how == "norm":
            total = lib.nn.utils.clip_grad_norm_(params, 1.0, norm, error_if_nonfinite=error)
            result["total"] = _np(total)
        else:
            lib.nn.utils.clip_grad_value_(params, 0.5)
    except RuntimeError as e:
        return {"error": np.array(str(e))}
    for i, p in enumerate(params):
        result[f"grad/{i}"] = _np(p.grad)
    return result


def run_optimizer(lib: Any, arrays: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """STEPS steps with gradients ``g<step>/<i>``: parameters and state after each."""
    cls, kwargs = OPTIMIZERS[name]
    params = [lib.tensor(arrays[f"p/{i}"], requires_grad=True) for i in range(len(SHAPES))]
    opt = getattr(lib.optim, cls)(params, **kwargs)
    result = {}
    for step in range(STEPS):
        for i, p in enumerate(params):
            p.grad = lib.tensor(arrays[f"g{step}/{i}"])
        opt.step()
        for i, p in enumerate(params):
            result[f"step{step}/p/{i}"] = _np(p)
            for key, value in sorted(opt.state[p].items()):
                if key != "step" and hasattr(value, "shape") and value.ndim > 0:
                    result[f"step{step}/{key}/{i}"] = _np(value)
    return result


def _np(t: Any) -> np.ndarray:
    return np.array(t.detach().numpy(), copy=True)


def quick_cases() -> list[dict[str, Any]]:
    """The CI set: clipping (each norm type, by value, error_if_nonfinite) and each optimizer,
    float32/float64, two poison patterns each, from a fixed seed."""
    rng = np.random.default_rng(20261208)
    cases: list[dict[str, Any]] = []
    jobs: list[dict[str, Any]] = [{"how": "norm", "norm": n, "error": False} for n in NORMS]
    jobs += [
        {"how": "norm", "norm": 2.0, "error": True},
        {"how": "value", "norm": 2.0, "error": False},
    ]
    jobs += [{"optimizer": name} for name in sorted(OPTIMIZERS)]
    for job in jobs:
        for dtype in ("float32", "float64"):
            for _ in range(2):
                steps = 1 if "how" in job else STEPS
                poison = [tuple(p) for p in random_poison(rng, steps)] or [("g0", 0, 3, "nan")]
                cases.append({**job, "dtype": dtype, "seed": int(rng.integers(0, 1 << 20)),
                              "poison": poison})  # fmt: skip
    return cases


def run_case(lib: Any, case: dict[str, Any]) -> dict[str, np.ndarray]:
    """One quick case (see :func:`quick_cases`) in ``lib``."""
    poison = [tuple(p) for p in case["poison"]]
    arrays = make_arrays(case["dtype"], case["seed"], poison)  # type: ignore[arg-type]
    if "how" in case:
        return run_clip(lib, arrays, case["how"], case["norm"], case["error"])
    return run_optimizer(lib, arrays, case["optimizer"])


def case_inputs(case: dict[str, Any]) -> dict[str, np.ndarray]:
    """The poisoned parameters and gradients of a quick case, for checksums."""
    return make_arrays(case["dtype"], case["seed"], [tuple(p) for p in case["poison"]])  # type: ignore[misc]
