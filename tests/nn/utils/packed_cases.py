"""Shared by the packed-sequence tests: random configurations, the helper that runs
pack -> RNN -> pad (or ``lengths=``) forward and backward and compares every number, the
torch oracle's utils, the messages both libraries give, and small builders for error rows.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import elman
from conftest import (
    FIXTURES,
    TORCH,
    assert_close,
    to_numpy,
)
from elman.nn.utils import rnn as U

GOLDEN = FIXTURES / "packed_golden.npz"
TU = None if TORCH is None else TORCH.nn.utils.rnn  # torch's utils, the oracle

SORTED_MSG = (
    "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You "
    "can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep "
    "this requirement if you do not need ONNX exportability."
)
LEN0_MSG = (
    "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0"
)


def _lib_utils(lib: Any) -> Any:
    return U if lib is elman else TU


@pytest.fixture(autouse=True)
def _fixed_weights() -> None:
    """elman's global generator starts from a random seed, as torch's: fix the weights."""
    elman.manual_seed(0)


# ---- configurations -----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    input_size: int
    hidden_size: int
    num_layers: int
    nonlinearity: str
    bias: bool
    batch_first: bool
    bidirectional: bool
    dtype: str
    T: int
    lengths: tuple[int, ...]
    enforce_sorted: bool
    with_hx: bool

    def __str__(self) -> str:
        flags = [
            self.nonlinearity,
            "bias" if self.bias else "nobias",
            "bf" if self.batch_first else "tm",
            "bi" if self.bidirectional else "uni",
            "sorted" if self.enforce_sorted else "unsorted",
            "hx" if self.with_hx else "nohx",
        ]
        lens = "_".join(map(str, self.lengths))
        sizes = f"I{self.input_size}H{self.hidden_size}x{self.num_layers}-T{self.T}-len{lens}"
        return f"{sizes}-{'-'.join(flags)}-{self.dtype[5:]}"

    def module_kwargs(self) -> dict[str, Any]:
        names = ("num_layers", "nonlinearity", "bias", "batch_first", "bidirectional")
        return {n: getattr(self, n) for n in names}


def draw_case(
    rng: np.random.Generator, layers: int, nl: str, bias: bool, bf: bool, bi: bool, dtype: str
) -> Case:
    T = int(rng.choice([1, 2, 3, 5, 7]))
    N = int(rng.choice([1, 2, 3, 4, 6]))
    lengths = rng.integers(1, T + 1, size=N)
    if rng.random() < 0.5:
        lengths[rng.integers(N)] = T  # half the cases fill T, the others may stop short
    sort = bool(rng.random() < 0.4)
    if sort:
        lengths = np.sort(lengths)[::-1]
    return Case(
        input_size=int(rng.integers(1, 5)),
        hidden_size=int(rng.choice([1, 2, 3, 5])),
        num_layers=layers,
        nonlinearity=nl,
        bias=bias,
        batch_first=bf,
        bidirectional=bi,
        dtype=dtype,
        T=T,
        lengths=tuple(int(n) for n in lengths),
        enforce_sorted=sort,
        with_hx=bool(rng.random() < 0.6),
    )


def live_cases(seed: int = 31, extra: int = 32) -> list[Case]:
    """Every combination of the boolean/enum arguments once, plus ``extra`` random ones."""
    rng = np.random.default_rng(seed)
    grid = itertools.product(
        (1, 2, 3),
        ("tanh", "relu"),
        (True, False),
        (True, False),
        (True, False),
        ("float32", "float64"),
    )
    cases = [draw_case(rng, *g) for g in grid]
    for _ in range(extra):
        flags = [bool(b) for b in rng.random(3) < 0.5]
        g = (
            int(rng.integers(1, 4)),
            str(rng.choice(["tanh", "relu"])),
            *flags,
            str(rng.choice(["float32", "float64"])),
        )
        cases.append(draw_case(rng, *g))
    return cases


LIVE = live_cases()


def make_data(case: Case, seed: int) -> dict[str, Any]:
    """Padded input (noise in the padding too), hx, lengths and cotangents for ``case``."""
    rng = np.random.default_rng(seed)
    N, D = len(case.lengths), 2 if case.bidirectional else 1
    x_shape = (N, case.T, case.input_size) if case.batch_first else (case.T, N, case.input_size)
    h_shape = (case.num_layers * D, N, case.hidden_size)

    def draw(shape: tuple[int, ...]) -> np.ndarray:
        return rng.standard_normal(shape).astype(case.dtype)

    return {
        "x": draw(x_shape),
        "hx": draw(h_shape) if case.with_hx else None,
        "gy": draw((*x_shape[:-1], D * case.hidden_size)),
        "gh": draw(h_shape),
        "lengths": np.array(case.lengths, dtype=np.int64),
    }


# ---- one helper runs pack -> RNN -> pad (or lengths=) forward and backward ---------------


def run_packed(
    lib: Any,
    rnn: Any,
    data: dict[str, Any],
    *,
    batch_first: bool,
    enforce_sorted: bool,
    T: int,
    via: str = "packed",
    seed: int | None = None,
) -> dict[str, np.ndarray]:
    """Every number worth comparing; ``via='lengths'`` uses elman's ``lengths=`` keyword."""
    u = _lib_utils(lib)
    x = lib.tensor(data["x"], requires_grad=True)
    hx = None if data.get("hx") is None else lib.tensor(data["hx"], requires_grad=True)
    result: dict[str, Any] = {}
    if seed is not None:
        lib.manual_seed(seed)  # training-mode dropout masks: the same stream in both
    if via == "lengths":
        out, hn = rnn(x, hx, lengths=data["lengths"])
    else:
        packed = u.pack_padded_sequence(
            x, data["lengths"], batch_first=batch_first, enforce_sorted=enforce_sorted
        )
        packed_out, hn = rnn(packed, hx)
        out, out_lengths = u.pad_packed_sequence(
            packed_out, batch_first=batch_first, total_length=T
        )
        result.update(
            {
                "packed/data": packed.data,
                "packed/batch_sizes": packed.batch_sizes,
                "packed_out/data": packed_out.data,
                "out_lengths": out_lengths,
            }
        )
        if packed.sorted_indices is not None:
            result["packed/sorted_indices"] = packed.sorted_indices
            result["packed/unsorted_indices"] = packed.unsorted_indices
        for key in ("batch_sizes", "sorted_indices", "unsorted_indices"):  # kept as is
            assert np.array_equal(
                to_numpy(getattr(packed_out, key)), to_numpy(getattr(packed, key))
            ), key
    loss = (out * lib.tensor(data["gy"])).sum() + (hn * lib.tensor(data["gh"])).sum()
    loss.backward()
    result.update({"out": out, "hn": hn, "grad/x": x.grad})
    if hx is not None:
        result["grad/hx"] = hx.grad
    for name, p in rnn.named_parameters():
        result[f"grad/{name}"] = p.grad
    return {k: to_numpy(v) for k, v in result.items()}


EXACT = ("packed/", "out_lengths")  # gathers and integers: bitwise equal
PACKED_ONLY = ("packed/", "packed_out/", "out_lengths")


def compare(
    actual: dict[str, np.ndarray], expected: dict[str, np.ndarray], label: str, via: str = "packed"
) -> None:
    if via == "lengths":
        expected = {k: v for k, v in expected.items() if not k.startswith(PACKED_ONLY)}
    assert sorted(actual) == sorted(expected), label
    for key, want in expected.items():
        assert actual[key] is not None, f"{label}: elman gave no {key}"
        if key.startswith(EXACT):
            assert actual[key].dtype == want.dtype, f"{label}: {key}"
            np.testing.assert_array_equal(actual[key], want, err_msg=f"{label}: {key}")
        else:
            assert_close(actual[key], want, f"{label} via {via}: {key}")


def build_rnn(case: Case) -> elman.nn.RNN:
    return elman.nn.RNN(case.input_size, case.hidden_size, dtype=case.dtype, **case.module_kwargs())


# ---- errors -------------------------------------------------------------------------------


def _rnn(lib: Any) -> Any:
    return lib.nn.RNN(3, 4, 2, bidirectional=True)


def _packed_input(lib: Any, enforce_sorted: bool = False) -> Any:
    x = lib.tensor(np.zeros((5, 3, 3), np.float32))
    lengths = [5, 4, 2] if enforce_sorted else [5, 2, 4]
    return _lib_utils(lib).pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)


def _hand_packed(lib: Any, batch_sizes: list[int], *indices: list[int]) -> Any:
    data = lib.tensor(np.zeros((4, 3), np.float32))
    return _lib_utils(lib).PackedSequence(
        data, lib.tensor(batch_sizes), *(lib.tensor(i) for i in indices)
    )


def _zeros(lib: Any, *shape: int, dtype: Any = np.float32) -> Any:
    return lib.tensor(np.zeros(shape, dtype=dtype))
