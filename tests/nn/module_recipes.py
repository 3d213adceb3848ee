"""Module tests' recipes: every model is built twice from one recipe, once with ``elman.nn``
and once with ``torch.nn`` (when torch is importable), through the adapters ``E`` and ``T``;
:func:`_structure` lists a model's names, shapes and values for comparing the two.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

import elman
from conftest import TORCH, to_numpy

E = SimpleNamespace(
    nn=elman.nn,
    dt=np.dtype,
    t=lambda a: elman.tensor(np.asarray(a)),
)
T = (
    None
    if TORCH is None
    else SimpleNamespace(
        nn=TORCH.nn,
        dt=lambda name: getattr(TORCH, name),
        t=lambda a: TORCH.from_numpy(np.array(a)),
    )
)
LIBS = [E] if T is None else [E, T]


def _param(m: Any, *shape: int) -> Any:
    return m.nn.Parameter(m.t(np.arange(np.prod(shape), dtype=np.float32).reshape(shape)))


# ---- recipes: each returns a fresh model of the given library -----------------------------


def simple_rnn(m: Any) -> Any:
    class SimpleRNN(m.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = m.nn.RNN(3, 5, batch_first=True)
            self.fc = m.nn.Linear(5, 2)

        def forward(self, x: Any) -> Any:
            out, _ = self.rnn(x)
            return self.fc(out[:, -1])

    return SimpleRNN()


def deep(m: Any) -> Any:
    """Parameters, children and a None child interleaved; a nested stack; a relu RNN."""

    class Block(m.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = _param(m, 2)
            self.cell = m.nn.RNNCell(2, 3, bias=False, nonlinearity="relu")
            self.proj = m.nn.Linear(3, 2, bias=False)

    class Deep(m.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = m.nn.Linear(4, 2)
            self.gain = _param(m, 3)
            self.body = Block()
            self.register_parameter("absent", None)
            self.register_module("hole", None)
            self.rnn = m.nn.RNN(2, 4, 2, nonlinearity="relu", bidirectional=True)
            self.offset = _param(m, 1)

    return Deep()


def tied(m: Any) -> Any:
    """One module under two names, and one Parameter in two modules."""

    class Tied(m.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = m.nn.Linear(2, 2)
            self.b = self.a
            self.c = m.nn.Linear(2, 3)
            self.c.weight = self.a.weight
            self.d = m.nn.Linear(3, 2, bias=False)

    return Tied()


RECIPES = [simple_rnn, deep, tied]


def _both(recipe: Callable[[Any], Any]) -> tuple[Any, Any]:
    return recipe(E), (None if T is None else recipe(T))


def _structure(model: Any) -> dict[str, Any]:
    """Everything name-shaped that Module traversal exposes."""
    names = lambda pairs: [name for name, _ in pairs]  # noqa: E731
    return {
        "named_parameters": names(model.named_parameters()),
        "local_parameters": names(model.named_parameters(recurse=False)),
        "prefixed": names(model.named_parameters(prefix="model")),
        "named_modules": names(model.named_modules()),
        "named_children": names(model.named_children()),
        "modules": [type(x).__name__ for x in model.modules()],
        "children": [type(x).__name__ for x in model.children()],
        "state_dict": {k: tuple(v.shape) for k, v in model.state_dict().items()},
        "state_dict_order": list(model.state_dict()),
        "n_parameters": len(list(model.parameters())),
    }


def _values(model: Any) -> dict[str, np.ndarray]:
    return {k: to_numpy(v) for k, v in model.state_dict().items()}
