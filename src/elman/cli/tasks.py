"""The built-in training tasks of ``elman train``: data made in code, models, baselines.

Each task generates its data deterministically from a seed (no downloads), builds its model
(an RNN followed by a Linear head, as in the seed documents), and knows its naive baseline
so that a run can say how much it learned.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import elman
from elman import nn


class SequenceModel(nn.Module):
    """RNN + Linear (+ an Embedding in front for text): the seed's SimpleRNN, generalised.

    ``many_to_one``: the head reads the last step only; otherwise every step.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        dtype = config.get("dtype", "float32")
        in_size = config["input_size"]
        if config.get("vocab_size"):
            self.embed = nn.Embedding(config["vocab_size"], config["embed_size"], dtype=dtype)
            in_size = config["embed_size"]
        self.rnn = nn.RNN(
            in_size,
            config["hidden_size"],
            num_layers=config["num_layers"],
            nonlinearity=config["nonlinearity"],
            batch_first=True,
            dropout=config.get("dropout", 0.0),
            dtype=dtype,
        )
        self.fc = nn.Linear(config["hidden_size"], config["output_size"], dtype=dtype)
        if config.get("init") == "identity":
            irnn_init(self.rnn)

    def forward(self, x: Any, hx: Any = None) -> tuple[elman.Tensor, elman.Tensor]:
        if hasattr(self, "embed"):
            x = self.embed(x)
        out, h_n = self.rnn(x, hx)
        if self.config.get("many_to_one", True):
            out = out[:, -1]
        return self.fc(out), h_n


def irnn_init(rnn: nn.RNN) -> None:
    """Le, Jaitly & Hinton (2015): W_hh = I, biases 0, W_ih ~ N(0, 0.001²)."""
    for name, p in rnn.named_parameters():
        if name.startswith("weight_hh"):
            nn.init.eye_(p)
        elif name.startswith("bias"):
            nn.init.zeros_(p)
        else:
            nn.init.normal_(p, 0.0, 0.001)


class Task:
    """Common interface: batches per step, a validation loss and a baseline."""

    name = ""
    many_to_one = True

    def __init__(self, args: argparse.Namespace, vocab: str | None = None) -> None:
        self.args = args

    def model_config(self) -> dict[str, Any]:
        a = self.args
        return {
            "task": self.name,
            "hidden_size": a.hidden_size,
            "num_layers": a.num_layers,
            "nonlinearity": a.nonlinearity,
            "init": a.init,
            "dtype": a.dtype,
            "dropout": a.dropout,
            "many_to_one": self.many_to_one,
        }

    def loss(self, pred: elman.Tensor, target: Any) -> elman.Tensor:
        return nn.functional.mse_loss(pred, elman.tensor(target, dtype=pred.dtype))


PERIODS = (10.0, 17.0, 29.0)  # steps per cycle of the three components of every sine series


class SineTask(Task):
    """Forecast the next ``horizon`` values of noisy sums of three sine waves.

    Every series mixes the same three frequencies with its own amplitudes and phases, plus
    Gaussian noise: a model that learns the dynamics forecasts down to the noise level, while
    the naive forecast (the last value, repeated) pays for every step of change.
    """

    name = "sine"

    def __init__(self, args: argparse.Namespace, vocab: str | None = None) -> None:
        super().__init__(args)
        rng = np.random.default_rng(args.seed)
        n, length, horizon = args.series, args.seq_len, args.horizon
        t = np.arange(length + horizon)
        waves = np.zeros((n, length + horizon))
        for period in PERIODS:  # shared frequencies; each series has its own mix and phases
            phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
            amp = rng.uniform(0.2, 0.6, size=(n, 1))
            waves += amp * np.sin(2 * np.pi * t / period + phase)
        waves += rng.normal(0, args.noise, size=waves.shape)
        waves = waves.astype(args.dtype)
        split = int(0.8 * n)
        self.x = waves[:, :length, None]  # (n, L, 1)
        self.y = waves[:, length:]  # (n, horizon)
        self.train_idx = np.arange(split)
        self.val_idx = np.arange(split, n)
        self.steps_per_epoch = max(1, split // args.batch_size)

    def model_config(self) -> dict[str, Any]:
        return {
            **super().model_config(),
            "input_size": 1,
            "output_size": self.args.horizon,
            "seq_len": self.args.seq_len,
        }

    def batch(self, epoch: int, i: int) -> tuple[np.ndarray, np.ndarray]:
        perm = np.random.default_rng([self.args.seed, epoch]).permutation(self.train_idx)
        idx = perm[i * self.args.batch_size : (i + 1) * self.args.batch_size]
        return self.x[idx], self.y[idx]

    def validation(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[self.val_idx], self.y[self.val_idx]

    def baseline(self) -> float:
        """The naive forecast: the last seen value, repeated."""
        x, y = self.validation()
        return float(np.mean((y - x[:, -1, :]) ** 2))


class AddingTask(Task):
    """The adding problem: the sum of the two marked values in a long sequence."""

    name = "adding"

    def __init__(self, args: argparse.Namespace, vocab: str | None = None) -> None:
        super().__init__(args)
        self.steps_per_epoch = args.eval_every
        self.val = adding_batch(np.random.default_rng([args.seed, 10**9]), 1000, args.seq_len)
        self.val = (self.val[0].astype(args.dtype), self.val[1].astype(args.dtype))

    def model_config(self) -> dict[str, Any]:
        return {**super().model_config(), "input_size": 2, "output_size": 1}

    def batch(self, epoch: int, i: int) -> tuple[np.ndarray, np.ndarray]:
        step = epoch * self.steps_per_epoch + i  # a fresh batch every step, reproducible
        x, y = adding_batch(
            np.random.default_rng([self.args.seed, step]), self.args.batch_size, self.args.seq_len
        )
        return x.astype(self.args.dtype), y.astype(self.args.dtype)

    def validation(self) -> tuple[np.ndarray, np.ndarray]:
        return self.val

    def baseline(self) -> float:
        """Always answering 1 (the expected sum)."""
        return float(np.mean((self.val[1] - 1.0) ** 2))


def adding_batch(rng: np.random.Generator, n: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, L, 2) inputs: U(0,1) values and a 0/1 marker at one step of each half; (n, 1) sums."""
    values = rng.uniform(0, 1, size=(n, length))
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    marks = np.zeros((n, length))
    marks[np.arange(n), first] = 1
    marks[np.arange(n), second] = 1
    x = np.stack([values, marks], axis=-1)
    y = (values[np.arange(n), first] + values[np.arange(n), second])[:, None]
    return x, y


class TextTask(Task):
    """A character-level language model on the user's text."""

    name = "text"
    many_to_one = False

    def __init__(self, args: argparse.Namespace, vocab: str | None = None) -> None:
        super().__init__(args)
        # train_config.check_data has checked the file: UTF-8, longer than --seq-len + 1
        text = Path(args.data).read_text(encoding="utf-8")
        self.vocab = vocab or "".join(sorted(set(text)))
        lookup = {c: i for i, c in enumerate(self.vocab)}
        codes = np.array([lookup.get(c, 0) for c in text], dtype=np.int64)
        split = max(int(0.9 * len(codes)), args.seq_len + 1)
        self.train_codes, self.val_codes = codes[:split], codes[split - args.seq_len - 1 :]
        self.windows = (len(self.train_codes) - 1) // args.seq_len
        self.steps_per_epoch = max(1, self.windows // args.batch_size)

    def model_config(self) -> dict[str, Any]:
        return {
            **super().model_config(),
            "input_size": 0,
            "vocab_size": len(self.vocab),
            "embed_size": self.args.embed_size,
            "output_size": len(self.vocab),
            "vocab": self.vocab,
        }

    def _windows(self, codes: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        L = self.args.seq_len
        idx = starts[:, None] + np.arange(L + 1)
        chunk = codes[idx]
        return chunk[:, :-1], chunk[:, 1:]

    def batch(self, epoch: int, i: int) -> tuple[np.ndarray, np.ndarray]:
        L, B = self.args.seq_len, self.args.batch_size
        perm = np.random.default_rng([self.args.seed, epoch]).permutation(self.windows)
        return self._windows(self.train_codes, perm[i * B : (i + 1) * B] * L)

    def validation(self) -> tuple[np.ndarray, np.ndarray]:
        L = self.args.seq_len
        n = max(1, min(256, (len(self.val_codes) - 1) // L))
        return self._windows(self.val_codes, np.arange(n) * L)

    def loss(self, pred: elman.Tensor, target: Any) -> elman.Tensor:
        V = pred.shape[-1]
        return nn.functional.cross_entropy(pred.reshape(-1, V), elman.tensor(target.reshape(-1)))

    def baseline(self) -> float:
        """Cross-entropy (nats per character) of the training text's character frequencies."""
        freq = np.bincount(self.train_codes, minlength=len(self.vocab)) + 1.0
        logp = np.log(freq / freq.sum())
        _, y = self.validation()
        return float(-logp[y].mean())


TASKS = {"sine": SineTask, "adding": AddingTask, "text": TextTask}
