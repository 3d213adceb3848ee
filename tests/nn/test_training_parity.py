"""Training parity: 50 steps give torch's loss at every step (same seed, data, hyperparameters).

Models: the seed's SimpleRNN (RNN + Linear, MSE) and a 2-layer bidirectional many-to-one
classifier (packed variable-length input, CrossEntropyLoss, clip_grad_norm_). Optimizers:
SGD with momentum, Adam, AdamW. Weights come from the same seed in both libraries (elman's
generator reproduces torch's), so nothing is copied between them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import elman
from conftest import TORCH, requires_torch
from elman.nn.utils.rnn import pack_padded_sequence

STEPS = 50
OPTIMIZERS = {
    "sgd": ("SGD", dict(lr=0.05, momentum=0.9)),
    "adam": ("Adam", dict(lr=0.01)),
    "adamw": ("AdamW", dict(lr=0.01, weight_decay=0.05)),
}
TOL = {"float64": 1e-9, "float32": 1e-4}


def simple_rnn(lib: Any, dtype: Any) -> Any:
    nn = lib.nn

    class SimpleRNN(nn.Module):
        def __init__(self, n_inputs: int, n_hidden: int, n_outputs: int) -> None:
            super().__init__()
            self.M = n_hidden
            self.rnn = nn.RNN(
                n_inputs, n_hidden, nonlinearity="tanh", batch_first=True, dtype=dtype
            )
            self.fc = nn.Linear(n_hidden, n_outputs, dtype=dtype)

        def forward(self, X: Any) -> Any:
            h0 = lib.zeros(1, X.size(0), self.M, dtype=dtype)
            out, _ = self.rnn(X, h0)
            return self.fc(out)

    return SimpleRNN(3, 5, 2)


def classifier(lib: Any, dtype: Any) -> Any:
    nn = lib.nn

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.RNN(4, 8, num_layers=2, bidirectional=True, dtype=dtype)
            self.fc = nn.Linear(2 * 8, 3, dtype=dtype)

        def forward(self, packed: Any) -> Any:
            _, h_n = self.rnn(packed)
            last = lib.cat([h_n[-2], h_n[-1]], dim=1)  # both directions of the top layer
            return self.fc(last)

    return Classifier()


def data(dtype: str) -> dict[str, np.ndarray]:
    """Learnable data: a running sum to regress, the class of the largest feature sum."""
    rng = np.random.default_rng(7)
    x_reg = rng.standard_normal((STEPS, 4, 10, 3))
    y_reg = np.tanh(0.5 * np.cumsum(x_reg[..., :2], axis=2))
    x_cls = rng.standard_normal((STEPS, 12, 6, 4))
    lengths = rng.integers(1, 13, size=(STEPS, 6))
    valid = np.arange(12)[None, :, None] < lengths[:, None, :]  # (STEPS, T, N)
    y_cls = np.argmax((x_cls[..., :3] * valid[..., None]).sum(axis=1), axis=-1)
    return {
        "x_reg": x_reg.astype(dtype),
        "y_reg": y_reg.astype(dtype),
        "x_cls": x_cls.astype(dtype),
        "len_cls": lengths,
        "y_cls": y_cls,
    }


def run(lib: Any, task: str, opt: str, dtype: str, d: dict[str, np.ndarray]) -> list[float]:
    is_torch = lib is not elman
    dt = getattr(lib, dtype)
    lib.manual_seed(0)
    model = simple_rnn(lib, dt) if task == "simple" else classifier(lib, dt)
    name, kwargs = OPTIMIZERS[opt]
    optimizer = getattr(lib.optim, name)(model.parameters(), **kwargs)
    as_tensor = lib.from_numpy
    losses = []
    for step in range(STEPS):
        if task == "simple":
            out = model(as_tensor(d["x_reg"][step]))
            loss = lib.nn.MSELoss()(out, as_tensor(d["y_reg"][step]))
        else:
            lengths = d["len_cls"][step]
            if is_torch:
                packed = lib.nn.utils.rnn.pack_padded_sequence(
                    as_tensor(d["x_cls"][step]), lib.from_numpy(lengths), enforce_sorted=False
                )
            else:
                packed = pack_padded_sequence(
                    as_tensor(d["x_cls"][step]), lengths, enforce_sorted=False
                )
            logits = model(packed)
            loss = lib.nn.CrossEntropyLoss()(logits, as_tensor(d["y_cls"][step]))
        optimizer.zero_grad()
        loss.backward()
        if task == "classifier":
            lib.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        losses.append(float(loss.item()))
    return losses


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
@pytest.mark.parametrize("task", ["simple", "classifier"])
def test_fifty_steps_match_torch_loss_by_loss(task: str, opt: str, dtype: str) -> None:
    torch = TORCH
    torch.set_default_dtype(torch.float32)
    d = data(dtype)
    ours = run(elman, task, opt, dtype, d)
    theirs = run(torch, task, opt, dtype, d)
    ours_a, theirs_a = np.array(ours), np.array(theirs)
    assert ours_a[-10:].mean() < ours_a[:10].mean()  # it trains
    if dtype == "float64":
        np.testing.assert_allclose(ours_a, theirs_a, rtol=TOL[dtype], atol=0)
    else:
        np.testing.assert_allclose(ours_a, theirs_a, rtol=0, atol=TOL[dtype])


def test_same_seed_same_initial_loss_without_torch() -> None:
    """Two elman runs from the same seed agree exactly (the parity test's premise)."""
    d = data("float64")
    a = run(elman, "classifier", "adam", "float64", d)[:5]
    b = run(elman, "classifier", "adam", "float64", d)[:5]
    assert a == b
