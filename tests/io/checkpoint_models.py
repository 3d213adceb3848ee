"""Shared by the checkpoint tests: a small model, bit-exact comparisons of weights and of
nested (optimizer) state, a stand-in optimizer with nested state.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import elman
from conftest import to_numpy


class Net(elman.nn.Module):
    def __init__(self, dtype: Any = np.float32) -> None:
        super().__init__()
        self.rnn = elman.nn.RNN(3, 5, num_layers=2, bidirectional=True, dtype=dtype)
        self.head = elman.nn.Linear(10, 2, dtype=dtype)


def weights_of(module: Any) -> dict[str, np.ndarray]:
    return {k: to_numpy(v) for k, v in module.state_dict().items()}


def assert_bit_equal(a: np.ndarray, b: np.ndarray, what: str = "") -> None:
    assert type(a) is type(b), f"{what}: {type(a)} != {type(b)}"
    assert a.dtype == b.dtype and a.shape == b.shape, (
        f"{what}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
    )
    assert a.tobytes() == b.tobytes(), f"{what}: values differ"


def assert_same_tree(got: Any, want: Any, where: str = "state") -> None:
    """Equal values and equal types all the way down (tuples stay tuples, int keys ints)."""
    assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, dict):
        assert list(got) == list(want), f"{where}: keys {list(got)} != {list(want)}"
        for k in want:
            assert type(next(g for g in got if g == k)) is type(k), f"{where}: key type of {k!r}"
            assert_same_tree(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), f"{where}: length"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same_tree(g, w, f"{where}[{i}]")
    elif isinstance(want, (np.ndarray, np.generic)):
        assert_bit_equal(np.asarray(got), np.asarray(want), where)
        assert type(got) is type(want), where
    elif isinstance(want, elman.Tensor):
        assert got.requires_grad == want.requires_grad, where
        assert_bit_equal(got.detach().numpy(), want.detach().numpy(), where)
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got), where
    else:
        assert got == want and repr(got) == repr(want), f"{where}: {got!r} != {want!r}"


class FakeOptimizer:
    """Holds any nested state; load_state_dict keeps what it is given."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def state_dict(self) -> Any:
        return self.state

    def load_state_dict(self, state: Any) -> None:
        self.state = state


def nested_state() -> dict[str, Any]:
    shared = np.arange(4, dtype=np.float64)
    return {
        "state": {
            0: {
                "step": 3,
                "exp_avg": np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
                "exp_avg_sq": np.array([1e-300, 5e-324, np.nan, -np.inf]),
                "shared": shared,
            },
            1: {
                "step": np.float32(2.5),
                "count": np.int64(-(2**62)),
                "flag": np.bool_(True),
                "momentum_buffer": None,
                "idx": np.array([-1, 2**40], dtype=np.int64),
                "t": elman.tensor([1.5, -2.0], requires_grad=True),
                "again": shared,
            },
        },
        "param_groups": [
            {
                "lr": 0.001,
                "betas": (0.9, 0.999),
                "eps": 1e-8,
                "amsgrad": False,
                "nesterov": True,
                "weight_decay": 0,
                "params": [0, 1],
                "name": "encoder",
                "maximize": None,
            },
        ],
        "__version__": 7,
        (1, "a"): ["tuple", "key"],
        "floats": [math.inf, -math.inf, math.nan, -0.0, 1 / 3, 2**70],
        "empty": {"d": {}, "l": [], "t": (), "a": np.zeros((0, 3), dtype=np.float32)},
        "scalar0d": np.array(4.25),
        "uint8": np.frombuffer(b"\x00\xff\x10", dtype=np.uint8).copy(),
    }
