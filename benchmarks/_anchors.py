"""The training anchors of benchmarks/time_to_solve.py: data, models, targets, one run.

Every model is written once against a library namespace (``elman`` or ``torch``: elman
mirrors torch's API), so both libraries run the same code on the same batches.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np

from elman.cli.tasks import SineTask, adding_batch, irnn_init


class Anchor:
    """Data (batch k is a function of the seed and k), a model, and a validation target."""

    name = ""
    lr = 1e-3
    eval_every = 500
    max_steps = 20_000
    higher_is_better = False

    def __init__(self, quick: bool, seed: int) -> None:
        self.quick, self.seed = quick, seed

    def config(self) -> dict[str, Any]:
        keys = ("lr", "eval_every", "max_steps", "target")
        return {k: getattr(self, k) for k in keys} | {"quick": self.quick}

    def init(self, model: Any) -> None:
        """Initialisation beyond the library's default (done in elman, copied to torch)."""

    def solved(self, metric: float) -> bool:
        return metric >= self.target if self.higher_is_better else metric < self.target


def rnn_linear(lib: Any, I: int, H: int, O: int, **kw: Any) -> Any:  # noqa: E741
    nn = lib.nn

    class Model(nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.RNN(I, H, batch_first=True, **kw)
            self.fc = nn.Linear(H * (2 if kw.get("bidirectional") else 1), O)

        def forward(self, x: Any) -> Any:
            out, h_n = self.rnn(x)
            if kw.get("bidirectional"):  # packed: the two directions' final states
                return self.fc(lib.cat([h_n[-2], h_n[-1]], 1))
            return self.fc(out[:, -1])

    return Model()


class Adding(Anchor):
    name = "adding"
    target = 0.002

    def __init__(self, quick: bool, seed: int) -> None:
        super().__init__(quick, seed)
        self.T = 30 if quick else 100
        if quick:
            self.eval_every, self.max_steps = 100, 300
        self.val = adding_batch(np.random.default_rng([seed, 10**9]), 1000, self.T)
        self.val = tuple(a.astype(np.float32) for a in self.val)

    def build(self, lib: Any) -> Any:
        return rnn_linear(lib, 2, 100, 1, nonlinearity="relu")

    def init(self, model: Any) -> None:
        irnn_init(model.rnn)

    def batch(self, step: int) -> tuple[np.ndarray, ...]:
        x, y = adding_batch(np.random.default_rng([self.seed, step]), 32, self.T)
        return x.astype(np.float32), y.astype(np.float32)

    def loss(self, lib: Any, model: Any, batch: tuple[np.ndarray, ...], run: Any) -> Any:
        x, y = batch
        return lib.nn.functional.mse_loss(model(lib.from_numpy(x)), lib.from_numpy(y))

    def validate(self, lib: Any, model: Any, run: Any) -> float:
        return float(self.loss(lib, model, self.val, run).item())


class Sine(Anchor):
    name = "sine"
    lr = 3e-3
    eval_every = 50  # an epoch of `elman train sine`
    max_steps = 4_000

    def __init__(self, quick: bool, seed: int) -> None:
        super().__init__(quick, seed)
        a = argparse.Namespace(
            seed=seed, series=2000, seq_len=40, horizon=5, noise=0.05, batch_size=32,
            dtype="float32",
        )  # fmt: skip
        self.task = SineTask(a)
        self.target = 4 * a.noise**2  # 0.01: elman reaches it near 1,500 steps, plateaus ~0.008
        if quick:
            self.max_steps = 150

    def build(self, lib: Any) -> Any:
        return rnn_linear(lib, 1, 32, 5, nonlinearity="tanh")

    def batch(self, step: int) -> tuple[np.ndarray, ...]:
        epoch, i = divmod(step, self.task.steps_per_epoch)
        return self.task.batch(epoch, i)

    def loss(self, lib: Any, model: Any, batch: tuple[np.ndarray, ...], run: Any) -> Any:
        x, y = batch
        return lib.nn.functional.mse_loss(model(lib.from_numpy(x)), lib.from_numpy(y))

    def validate(self, lib: Any, model: Any, run: Any) -> float:
        return float(self.loss(lib, model, self.task.validation(), run).item())


class Packed(Anchor):
    name = "packed"
    lr = 2e-3
    eval_every = 100
    max_steps = 10_000
    target = 0.95
    higher_is_better = True

    def __init__(self, quick: bool, seed: int) -> None:
        super().__init__(quick, seed)
        if quick:
            self.max_steps = 200
        self.val = self._make(np.random.default_rng([seed, 10**9]), 1000)

    def _make(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
        lengths = np.sort(rng.integers(10, 61, size=n))[::-1].copy()
        x = rng.standard_normal((n, 60, 4)).astype(np.float32)
        x[np.arange(60)[None, :] >= lengths[:, None]] = 0.0  # padding
        y = (x[:, :, 0].sum(1) > 0).astype(np.int64)
        return x, lengths, y

    def build(self, lib: Any) -> Any:
        return rnn_linear(lib, 4, 64, 2, nonlinearity="tanh", bidirectional=True)

    def batch(self, step: int) -> tuple[np.ndarray, ...]:
        return self._make(np.random.default_rng([self.seed, step]), 32)

    def _logits(self, lib: Any, model: Any, batch: tuple[np.ndarray, ...]) -> Any:
        x, lengths, _ = batch
        packed = lib.nn.utils.rnn.pack_padded_sequence(
            lib.from_numpy(x), lib.from_numpy(lengths), batch_first=True
        )
        return model(packed)

    def loss(self, lib: Any, model: Any, batch: tuple[np.ndarray, ...], run: Any) -> Any:
        logits = self._logits(lib, model, batch)
        return lib.nn.functional.cross_entropy(logits, lib.from_numpy(batch[2]))

    def validate(self, lib: Any, model: Any, run: Any) -> float:
        with lib.no_grad():
            pred = self._logits(lib, model, self.val).numpy().argmax(1)
        return float((pred == self.val[2]).mean())


class CharLM(Anchor):
    name = "charlm"
    lr = 2e-3
    eval_every = 200
    max_steps = 10_000
    V, B, W = 16, 32, 50  # symbols, streams, truncation window

    def __init__(self, quick: bool, seed: int) -> None:
        super().__init__(quick, seed)
        rng = np.random.default_rng([seed, 7])
        V = self.V
        probs = np.zeros((V, V, V))  # P(next | the two before): 3 successors per context
        for a in range(V):
            for b in range(V):
                succ = rng.choice(V, size=3, replace=False)
                probs[a, b, succ] = rng.dirichlet(np.ones(3))
        n = 40_000 if quick else 200_000
        text = np.zeros(n + 20_000, dtype=np.int64)
        text[:2] = rng.integers(0, V, 2)
        u = rng.random(len(text))
        cum = probs.cumsum(-1)
        for t in range(2, len(text)):
            text[t] = min(int(np.searchsorted(cum[text[t - 2], text[t - 1]], u[t])), V - 1)
        self.train, self.val = text[:n], text[n:]
        nll = -np.log(probs[self.val[:-2], self.val[1:-1], self.val[2:]])
        self.source_ce = float(nll.mean())
        self.target = self.source_ce + 0.05
        self.stream_len = (n - 1) // self.B
        if quick:
            self.eval_every, self.max_steps = 100, 200

    def config(self) -> dict[str, Any]:
        return super().config() | {"source_ce": self.source_ce}

    def build(self, lib: Any) -> Any:
        nn, V = lib.nn, self.V

        class LM(nn.Module):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__()
                self.embed = nn.Embedding(V, 16)
                self.rnn = nn.RNN(16, 128, batch_first=True)
                self.fc = nn.Linear(128, V)

            def forward(self, x: Any, h: Any) -> Any:
                out, h = self.rnn(self.embed(x), h)
                return self.fc(out), h

        return LM()

    def batch(self, step: int) -> tuple[np.ndarray, ...]:
        windows = self.stream_len // self.W
        start = (step % windows) * self.W
        idx = np.arange(self.B)[:, None] * self.stream_len + start + np.arange(self.W + 1)
        chunk = self.train[idx]
        return chunk[:, :-1], chunk[:, 1:], np.array(step % windows == 0)

    def loss(self, lib: Any, model: Any, batch: tuple[np.ndarray, ...], run: Any) -> Any:
        x, y, restart = batch
        h = None if restart or run.hidden is None else run.hidden.detach()
        logits, run.hidden = model(lib.from_numpy(x), h)
        return lib.nn.functional.cross_entropy(
            logits.reshape(-1, self.V), lib.from_numpy(y.reshape(-1))
        )

    def validate(self, lib: Any, model: Any, run: Any) -> float:
        n = (len(self.val) - 1) // 8
        idx = np.arange(8)[:, None] * n + np.arange(n + 1)
        chunk = self.val[idx]
        with lib.no_grad():
            logits, _ = model(lib.from_numpy(chunk[:, :-1].copy()), None)
            loss = lib.nn.functional.cross_entropy(
                logits.reshape(-1, self.V), lib.from_numpy(chunk[:, 1:].reshape(-1).copy())
            )
        return float(loss.item())


ANCHORS = {a.name: a for a in (Adding, Sine, Packed, CharLM)}


class Run:
    """One library's training run of an anchor, advanced a chunk (eval_every steps) at a time."""

    def __init__(self, name: str, lib: Any, model: Any, anchor: Anchor) -> None:
        self.name, self.lib, self.model, self.anchor = name, lib, model, anchor
        self.params = list(model.parameters())
        self.opt = lib.optim.Adam(self.params, lr=anchor.lr)
        self.steps, self.train_s, self.wall_s = 0, 0.0, 0.0
        self.history: list[tuple[int, float]] = []
        self.solved_at: int | None = None
        self.done = False
        self.hidden: Any = None

    def chunk(self) -> None:
        a, lib = self.anchor, self.lib
        clip = lib.nn.utils.clip_grad_norm_
        t0 = time.perf_counter()
        for _ in range(a.eval_every):
            loss = a.loss(lib, self.model, a.batch(self.steps), self)
            self.opt.zero_grad()
            loss.backward()
            clip(self.params, 1.0)
            self.opt.step()
            self.steps += 1
        t1 = time.perf_counter()
        metric = a.validate(lib, self.model, self)
        self.train_s += t1 - t0
        self.wall_s += time.perf_counter() - t0
        self.history.append((self.steps, metric))
        if not math.isfinite(metric) or a.solved(metric):
            self.solved_at = self.steps if math.isfinite(metric) else None
            self.done = True
        elif self.steps >= a.max_steps:
            self.done = True

    def report(self) -> dict[str, Any]:
        return {
            "steps_to_solve": self.solved_at,
            "steps": self.steps,
            "wall_s": self.wall_s,
            "train_s": self.train_s,
            "per_step_s": self.train_s / max(self.steps, 1),
            "final_metric": self.history[-1][1] if self.history else None,
            "history": self.history,
        }


def build_runs(anchor: Any, libs: list[tuple[str, Any]]) -> dict[str, Run]:
    """One Run per library: elman's model initialised by the anchor, its weights copied."""
    runs, state = {}, None
    for name, lib in libs:
        model = anchor.build(lib)
        if state is None:
            anchor.init(model)
            state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
        else:
            model.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in state.items()})
        runs[name] = Run(name, lib, model, anchor)
    return runs


def summary(res: dict[str, Any]) -> str:
    parts = [f"{res['anchor']}:"]
    for name in ("elman", "torch"):
        if name in res:
            r = res[name]
            solved = r["steps_to_solve"] if r["steps_to_solve"] is not None else "not solved"
            parts.append(
                f"{name} {solved} steps ({r['steps']} run), {r['wall_s']:.1f} s, "
                f"{r['per_step_s'] * 1e3:.2f} ms/step, metric {r['final_metric']:.4g};"
            )
    if "wall_ratio" in res:
        parts.append(
            f"torch/elman wall {res['wall_ratio']:.2f}, per step {res['per_step_ratio']:.2f}"
        )
    return " ".join(parts)
