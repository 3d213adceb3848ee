"""A training run continued across the torch/elman boundary through .pt checkpoints.

torch trains 10 steps, saves ``{"model", "optimizer", "scheduler", "step"}`` with
torch.save; elman loads it with elman.load and trains 10 more (and the reverse, with
elman.save and torch.load). The 20 losses equal those of 20 steps in torch alone (float64,
within 1e-9 relative), for every optimizer and learning-rate scheduler elman has.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import elman

OPTIMIZERS = {
    "SGD": {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
    "Adam": {"lr": 0.01, "amsgrad": True},
    "AdamW": {"lr": 0.01, "weight_decay": 0.1},
    "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True},
    "Adagrad": {"lr": 0.1, "lr_decay": 0.01},
}
SCHEDULERS = {
    "StepLR": {"step_size": 3, "gamma": 0.5},
    "ExponentialLR": {"gamma": 0.9},
    "CosineAnnealingLR": {"T_max": 7, "eta_min": 1e-3},
    "ReduceLROnPlateau": {"patience": 0, "factor": 0.5, "threshold": 0.5},
}
STEPS, SPLIT = 20, 10


def _build(lib: Any, opt_name: str, sched_name: str, state: Any = None) -> tuple:
    """An RNN + Linear regression model with its optimizer and scheduler, in float64."""
    lib.manual_seed(0)
    rnn, head = lib.nn.RNN(2, 4, num_layers=2), lib.nn.Linear(4, 1)
    model = lib.nn.Sequential(rnn, head) if lib is elman else lib.nn.ModuleList([rnn, head])
    model = model.double()
    if state is not None:
        model.load_state_dict(state)
    opt = getattr(lib.optim, opt_name)(model.parameters(), **OPTIMIZERS[opt_name])
    sched = getattr(lib.optim.lr_scheduler, sched_name)(opt, **SCHEDULERS[sched_name])
    return model, opt, sched


def _data(lib: Any) -> tuple[Any, Any]:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 3, 2))
    y = rng.standard_normal((3, 1))
    return lib.from_numpy(x), lib.from_numpy(y)


def _steps(lib: Any, parts: tuple, n: int, sched_name: str) -> list[float]:
    model, opt, sched = parts
    x, y = _data(lib)
    losses = []
    for _ in range(n):
        opt.zero_grad()
        out = model[1](model[0](x)[0][-1])
        loss = ((out - y) ** 2).mean()
        loss.backward()
        opt.step()
        value = float(loss.item())
        sched.step(value) if sched_name == "ReduceLROnPlateau" else sched.step()
        losses.append(value)
    return losses


def _state(parts: tuple, step: int) -> dict[str, Any]:
    model, opt, sched = parts
    return {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "step": step,
    }


def _resume(lib: Any, ckpt: dict[str, Any], opt_name: str, sched_name: str) -> tuple:
    parts = _build(lib, opt_name, sched_name, ckpt["model"])
    parts[1].load_state_dict(ckpt["optimizer"])
    parts[2].load_state_dict(ckpt["scheduler"])
    return parts


@pytest.mark.parametrize("opt_name,sched_name", list(itertools.product(OPTIMIZERS, SCHEDULERS)))
def test_training_continues_across_the_boundary(
    opt_name: str, sched_name: str, torch_or_skip: Any, tmp_path: Path
) -> None:
    lib_t = torch_or_skip
    init = _build(lib_t, opt_name, sched_name)[0].state_dict()
    full = _steps(lib_t, _build(lib_t, opt_name, sched_name, init), STEPS, sched_name)
    full_e = _steps(elman, _build(elman, opt_name, sched_name, init), STEPS, sched_name)

    # torch 10 steps -> torch.save -> elman.load -> elman 10 steps
    parts = _build(lib_t, opt_name, sched_name, init)
    first = _steps(lib_t, parts, SPLIT, sched_name)
    lib_t.save(_state(parts, SPLIT), tmp_path / "t.pt")
    ckpt = elman.load(tmp_path / "t.pt")
    assert ckpt["step"] == SPLIT
    t_then_e = first + _steps(elman, _resume(elman, ckpt, opt_name, sched_name), SPLIT, sched_name)

    # elman 10 steps -> elman.save -> torch.load -> torch 10 steps
    parts = _build(elman, opt_name, sched_name, init)
    first = _steps(elman, parts, SPLIT, sched_name)
    elman.save(_state(parts, SPLIT), tmp_path / "e.pt")
    ckpt = lib_t.load(tmp_path / "e.pt")  # torch's default: weights_only=True
    e_then_t = first + _steps(lib_t, _resume(lib_t, ckpt, opt_name, sched_name), SPLIT, sched_name)

    for losses in (full_e, t_then_e, e_then_t):
        np.testing.assert_allclose(losses, full, rtol=1e-9, atol=0)
    assert len(set(np.round(full, 6))) > 5  # the run moves: the comparison means something


def test_optimizer_state_dict_layout_equals_torch(torch_or_skip: Any, tmp_path: Path) -> None:
    """Same keys (in torch's order), value types, tensor dtypes and shapes, for every
    optimizer and scheduler, in a dict that went through elman.save and torch.load."""
    lib_t = torch_or_skip
    for opt_name, sched_name in zip(OPTIMIZERS, itertools.cycle(SCHEDULERS), strict=False):
        init = _build(lib_t, opt_name, sched_name)[0].state_dict()
        t_parts = _build(lib_t, opt_name, sched_name, init)
        e_parts = _build(elman, opt_name, sched_name, init)
        _steps(lib_t, t_parts, 3, sched_name)
        _steps(elman, e_parts, 3, sched_name)
        elman.save(_state(e_parts, 3), tmp_path / "e.pt")
        got, want = lib_t.load(tmp_path / "e.pt"), _state(t_parts, 3)
        for section in ("optimizer", "scheduler"):
            assert _layout(got[section]) == _layout(want[section]), (opt_name, section)


def _layout(value: Any) -> Any:
    if isinstance(value, dict):
        return (type(value).__name__, [(k, _layout(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_layout(v) for v in value])
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        return ("tensor", str(value.dtype), tuple(value.shape))
    return type(value).__name__
