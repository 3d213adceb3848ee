"""Shared test helpers: the torch oracle, tolerances, and weight/array conversions.

torch is the test oracle only. Tests that need it take the ``torch_or_skip`` fixture (or
the ``requires_torch`` marker); both skip when torch is not importable or when the
environment variable ``ELMAN_TEST_NO_TORCH=1`` is set, which simulates a torch-less install.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import elman

#: tests/ (on sys.path: conftest.py, the shared helper modules pt_*.py), and the committed
#: golden arrays made by torch with their generator scripts: tests in any directory under
#: tests/ find them here
TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"

# ---- the torch oracle -------------------------------------------------------------------


def _load_torch() -> Any:
    if os.environ.get("ELMAN_TEST_NO_TORCH", "") not in ("", "0"):
        return None
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return None
    # the oracle's tiny ops are ~30x slower with 2 threads on a busy 2-core machine
    torch.set_num_threads(1)
    return torch


TORCH = _load_torch()
HAVE_TORCH = TORCH is not None
requires_torch = pytest.mark.skipif(not HAVE_TORCH, reason="torch not available (test oracle)")


@pytest.fixture(scope="session")
def torch_or_skip() -> Any:
    """The torch module, or skip the test when it is not available."""
    if TORCH is None:
        pytest.skip("torch not available (test oracle)")
    return TORCH


# ---- tolerances ---------------------------------------------------------------------------

F64_TOL = {"rtol": 1e-9, "atol": 1e-12}
F32_TOL = {"rtol": 2e-4, "atol": 2e-5}

# worst |actual - expected| and relative error seen per dtype, printed after the run
MAX_ERR: dict[str, list[float]] = {}


def tol(dtype: Any) -> dict[str, float]:
    """The comparison tolerances for arrays of ``dtype``."""
    return F64_TOL if np.dtype(dtype) == np.float64 else F32_TOL


def to_numpy(value: Any) -> np.ndarray:
    """An ndarray copy of an elman Tensor, a torch tensor, an ndarray or None (-> None)."""
    if value is None:
        return None
    if isinstance(value, elman.Tensor):
        return np.array(value.detach()._data, copy=True)
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy().copy()
    return np.array(value, copy=True)


def _record(dtype: np.dtype, actual: np.ndarray, expected: np.ndarray) -> None:
    if actual.size == 0 or actual.shape != expected.shape:
        return
    diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    rel = diff / np.maximum(np.abs(expected.astype(np.float64)), tol(dtype)["atol"])
    worst = MAX_ERR.setdefault(str(dtype), [0.0, 0.0])
    worst[0] = max(worst[0], float(diff.max()))
    worst[1] = max(worst[1], float(rel.max()))


def assert_close(actual: Any, expected: Any, what: str = "", **override: float) -> None:
    """Compare two arrays (dtype, shape, values) with the tolerances of ``expected``'s dtype."""
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.dtype == e.dtype, f"{what}: dtype {a.dtype} != {e.dtype}"
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    _record(e.dtype, a, e)
    np.testing.assert_allclose(a, e, err_msg=what, **{**tol(e.dtype), **override})


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for dtype, (abs_err, rel_err) in sorted(MAX_ERR.items()):
        terminalreporter.write_line(
            f"elman numeric parity, {dtype}: max abs error {abs_err:.3g}, "
            f"max rel error {rel_err:.3g}"
        )


# ---- modules ------------------------------------------------------------------------------


@contextlib.contextmanager
def expect_dropout_warning(dropout: float, num_layers: int) -> Iterator[None]:
    """Construction warns (as torch does) when dropout > 0 with a single layer."""
    if dropout > 0 and num_layers == 1:
        with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater"):
            yield
    else:
        yield


def torch_state_dict(module: elman.nn.Module) -> dict[str, Any]:
    """An elman module's state_dict as torch tensors (copies)."""
    return {k: TORCH.from_numpy(to_numpy(v)) for k, v in module.state_dict().items()}


def copy_into_torch(module: elman.nn.Module, torch_module: Any) -> Any:
    """Load an elman module's weights into the torch module with the same structure."""
    torch_module.load_state_dict(torch_state_dict(module))
    return torch_module


def torch_rnn_like(rnn: elman.nn.RNN, dtype: Any) -> Any:
    """A torch.nn.RNN with ``rnn``'s configuration and weights, in ``rnn``'s mode."""
    torch = TORCH
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the 1-layer dropout warning
        module = torch.nn.RNN(
            rnn.input_size,
            rnn.hidden_size,
            num_layers=rnn.num_layers,
            nonlinearity=rnn.nonlinearity,
            bias=rnn.bias,
            batch_first=rnn.batch_first,
            dropout=rnn.dropout,
            bidirectional=rnn.bidirectional,
            dtype=torch.float64 if np.dtype(dtype) == np.float64 else torch.float32,
        )
    module.train(rnn.training)
    return copy_into_torch(rnn, module)


def torch_cell_like(cell: elman.nn.RNNCell, dtype: Any) -> Any:
    """A torch.nn.RNNCell with ``cell``'s configuration and weights."""
    torch = TORCH
    module = torch.nn.RNNCell(
        cell.input_size,
        cell.hidden_size,
        bias=cell.bias,
        nonlinearity=cell.nonlinearity,
        dtype=torch.float64 if np.dtype(dtype) == np.float64 else torch.float32,
    )
    return copy_into_torch(cell, module)


@pytest.fixture(autouse=True)
def _fp_errors_raise() -> Iterator[None]:
    """Floating-point overflow, invalid operations and division by zero fail the test."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        yield


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every test starts from the same global generator state, so runs are repeatable."""
    import elman

    elman.manual_seed(20261122)
    if TORCH:
        import torch

        torch.manual_seed(20261122)
