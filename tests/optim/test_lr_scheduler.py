"""elman.optim.lr_scheduler against torch's: the learning rates of 100 steps, exactly.

The cases are those of ``fixtures/make_optim_fixtures.py`` (``sched*``); each runs against
the golden rates always and against torch live when it is installed. Then state dicts,
resuming, torch's warnings and errors.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pytest

import elman
from conftest import FIXTURES, TORCH, requires_torch
from elman import optim
from elman.optim import lr_scheduler

GOLDEN = FIXTURES / "optim_golden.npz"
with np.load(GOLDEN, allow_pickle=False) as _npz:
    GOLD = {k: _npz[k] for k in _npz.files if k.startswith("sched")}
CASES = sorted({k.split("/")[0] for k in GOLD})


def config(case: str) -> dict[str, Any]:
    return json.loads(str(GOLD[f"{case}/config"]))


def make(lib: Any, cfg: dict[str, Any]) -> tuple[Any, Any]:
    """An SGD with one group per rate of ``cfg`` and the scheduler of ``cfg``, from ``lib``."""
    groups = [
        {"params": [lib.nn.Parameter(lib.zeros(1))], "lr": lr} for lr in cfg["lrs"]
    ]  # fmt: skip
    opt = lib.optim.SGD(groups)
    return opt, getattr(lib.optim.lr_scheduler, cfg["scheduler"])(opt, **cfg["kwargs"])


def run(lib: Any, case: str, steps: int | None = None) -> list[list[float]]:
    cfg = config(case)
    opt, sched = make(lib, cfg)
    rates = [[g["lr"] for g in opt.param_groups]]
    n = len(GOLD[f"{case}/lrs"]) - 1 if steps is None else steps
    for step in range(n):
        opt.step()
        if cfg["scheduler"] == "ReduceLROnPlateau":
            sched.step(float(GOLD[f"{case}/metrics"][step]))
        else:
            sched.step()
        rates.append([g["lr"] for g in opt.param_groups])
        assert sched.get_last_lr() == rates[-1]
    return rates


@pytest.mark.parametrize("case", CASES)
def test_rates_equal_golden(case: str) -> None:
    rates = run(elman, case)
    assert all(isinstance(r, float) for step in rates for r in step)
    np.testing.assert_array_equal(np.array(rates), GOLD[f"{case}/lrs"])  # bit for bit
    assert len({tuple(r) for r in rates}) > 1  # the schedule moved


@requires_torch
@pytest.mark.parametrize("case", CASES)
def test_rates_equal_torch(case: str) -> None:
    assert run(elman, case) == run(TORCH, case)


def test_closed_forms() -> None:
    """The rates follow the documented formulas (the recursion drifts by a few ulps)."""
    rates = np.array(run(elman, "sched03"))  # cosine, T_max=30, eta_min=0.01, lr 0.1 / 0.05
    t = np.arange(len(rates))
    for j, base in enumerate([0.1, 0.05]):
        closed = 0.01 + (base - 0.01) * (1 + np.cos(np.pi * t / 30)) / 2
        np.testing.assert_allclose(rates[:, j], closed, rtol=1e-12, atol=1e-15)
    steps = np.array(run(elman, "sched00"))  # StepLR(step_size=7, gamma=0.5)
    np.testing.assert_allclose(steps[:, 0], 0.1 * 0.5 ** (t // 7), rtol=1e-15)
    expo = np.array(run(elman, "sched02"))  # ExponentialLR(gamma=0.95)
    np.testing.assert_allclose(expo[:, 1], 0.7 * 0.95**t, rtol=1e-13)


@pytest.mark.parametrize("case", ["sched00", "sched02", "sched03", "sched05", "sched07"])
def test_state_dict_resume_mid_schedule(case: str) -> None:
    """Save the optimizer and scheduler at step 40, rebuild both, load, continue: the same
    rates as the uninterrupted run."""
    cfg = config(case)
    straight = run(elman, case)
    opt, sched = make(elman, cfg)
    plateau = cfg["scheduler"] == "ReduceLROnPlateau"
    metrics = GOLD.get(f"{case}/metrics")
    for step in range(40):
        opt.step()
        sched.step(float(metrics[step])) if plateau else sched.step()
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved_sched and saved_sched["last_epoch"] == 40
    opt2, sched2 = make(elman, cfg)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    rates = []
    for step in range(40, len(straight) - 1):
        opt2.step()
        sched2.step(float(metrics[step])) if plateau else sched2.step()
        rates.append([g["lr"] for g in opt2.param_groups])
    assert rates == straight[41:]


def test_initial_lr_and_last_epoch() -> None:
    opt, sched = make(elman, config("sched04"))  # cosine
    assert opt.param_groups[0]["initial_lr"] == 0.3 and sched.base_lrs == [0.3]
    assert sched.last_epoch == 0 and sched.get_last_lr() == [0.3]
    opt.step()
    sched.step()
    assert sched.last_epoch == 1 and opt.param_groups[0]["initial_lr"] == 0.3
    fresh = optim.SGD([elman.nn.Parameter(elman.zeros(1))], lr=0.1)
    with pytest.raises(KeyError, match=re.escape("param 'initial_lr' is not specified in")):
        lr_scheduler.StepLR(fresh, 3, last_epoch=5)
    # resuming with last_epoch: the current lr is kept, then the recursion goes on from it
    fresh.param_groups[0]["initial_lr"] = 0.2
    resumed = lr_scheduler.CosineAnnealingLR(fresh, T_max=10, last_epoch=4)
    assert resumed.last_epoch == 5 and resumed.get_last_lr() == [0.1]
    fresh.step()
    resumed.step()
    ratio = (1 + math.cos(math.pi * 6 / 10)) / (1 + math.cos(math.pi * 5 / 10))
    assert resumed.get_last_lr() == [ratio * 0.1]


@requires_torch
def test_resume_with_last_epoch_and_step_epoch_match_torch() -> None:
    torch = TORCH
    out = {}
    for lib in (elman, torch):
        rates = []
        for name, kwargs in [
            ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.01}),
            ("ExponentialLR", {"gamma": 0.9}),
            ("StepLR", {"step_size": 3, "gamma": 0.5}),
        ]:
            opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=0.2)
            opt.param_groups[0]["initial_lr"] = 0.25
            sched = getattr(lib.optim.lr_scheduler, name)(opt, last_epoch=4, **kwargs)
            for epoch in (None, None, 9, None):
                opt.step()
                if epoch is None:
                    sched.step()
                else:
                    with pytest.warns(UserWarning, match="The epoch parameter in"):
                        sched.step(epoch)
                rates.append(sched.get_last_lr()[0])
        out[lib.__name__] = rates
    assert out["elman"] == out["torch"]


def test_warnings_as_torch() -> None:
    opt = optim.SGD([elman.nn.Parameter(elman.zeros(1))], lr=0.1)
    sched = lr_scheduler.ExponentialLR(opt, 0.5)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before"):
        sched.step()
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        assert sched.get_lr() == [0.025]
    assert opt.param_groups[0]["lr"] == 0.05  # get_lr only computes
    opt2 = optim.SGD([elman.nn.Parameter(elman.zeros(1))], lr=0.1)
    sched2 = lr_scheduler.StepLR(opt2, 2)
    opt2.step = lambda closure=None: None  # type: ignore[method-assign]
    with pytest.warns(UserWarning, match="has been overridden after learning rate scheduler"):
        sched2.step()


def test_plateau_semantics_and_errors() -> None:
    opt = optim.SGD([elman.nn.Parameter(elman.zeros(1))], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, cooldown=1, factor=0.5)
    lrs = []
    for metric in [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5, elman.tensor(0.5)]:
        sched.step(metric)
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    assert sched.best == 0.5 and sched.last_epoch == 9 and "initial_lr" not in opt.param_groups[0]
    with pytest.raises(ValueError, match=r"^Factor should be < 1\.0\.$"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="^mode avg is unknown!$"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="avg")
    with pytest.raises(ValueError, match="^threshold mode x is unknown!$"):
        lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="x")
    with pytest.raises(ValueError, match="^expected 1 min_lrs, got 2$"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])
    with pytest.raises(TypeError, match="^list is not an Optimizer$"):
        lr_scheduler.StepLR([], 2)  # type: ignore[arg-type]
    listed = lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0])
    opt.add_param_group({"params": [elman.nn.Parameter(elman.zeros(1))]})
    listed.step(1.0)
    with pytest.raises(RuntimeError, match="The number of param groups in the `optimizer`"):
        listed.step(2.0)


@requires_torch
def test_plateau_state_dict_loads_into_torch_layout() -> None:
    """The scheduler's state dict has torch's keys (checkpoints can move between them)."""
    torch = TORCH
    keys = {}
    for lib in (elman, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=0.1)
        for name, args in [("ReduceLROnPlateau", ()), ("CosineAnnealingLR", (5,))]:
            sched = getattr(lib.optim.lr_scheduler, name)(opt, *args)
            opt.step()
            sched.step(*([0.5] if name == "ReduceLROnPlateau" else []))
            keys[(lib.__name__, name)] = set(sched.state_dict())
    for name in ("ReduceLROnPlateau", "CosineAnnealingLR"):
        assert keys[("elman", name)] == keys[("torch", name)]
