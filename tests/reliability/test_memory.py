"""Memory: a forward without a graph needs its output plus O(N*H), whatever the length;
training needs O(L*N*H) with the constant of docs/reliability.md (Memory).

The peak-RSS checks run each call in a fresh process (memory_harness.py: the kernel's
high-water mark reset after a warm-up call). The rest checks, in this process, that a
forward without a graph gives exactly the numbers of one with a graph (every kernel
variant, blocks of rows forced small) and that an output holds no other layer's memory.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from memory_harness import can_reset_peak, run_case

import elman
from elman import _kernels
from elman.nn.utils.rnn import pack_padded_sequence

MiB = 1 << 20

needs_peak = pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or not _kernels.JIT
    or os.environ.get("ELMAN_DISABLE_JIT") == "1"
    or not can_reset_peak(),
    reason="peak RSS reset (/proc/self/clear_refs) and the compiled kernels needed",
)


def slack(record: dict) -> int:
    """What the bar allows beyond the output: the int64 row offset of each step that the
    recurrence kernels walk (and batch_sizes), the buffer's B rows beyond the output and a
    block of the re-laid-out input (each at most blocked_forward.BLOCK_ELEMENTS elements), and
    2 MiB of allocator noise."""
    block = (1 << 20) * np.dtype(record["dtype"]).itemsize
    return 16 * record["T"] + 2 * block + 2 * MiB


# (I, H, layers, N, steps): the dispatcher's default variant, fused and layered
INFERENCE = {
    "fused-1e6-steps": (2, 16, 2, 1, 1_000_000),
    "layered-2e5-steps": (1, 64, 2, 1, 200_000),
}


@needs_peak
@pytest.mark.parametrize("name", sorted(INFERENCE))
def test_no_grad_inference_needs_its_output_and_a_constant(name: str) -> None:
    """10^6 steps through 2 batch-first layers under no_grad: the peak RSS grows by the
    output plus a few MiB (before: every layer's output and a copy of the input)."""
    I, H, layers, N, T = INFERENCE[name]
    case = dict(I=I, H=H, layers=layers, bi=False, N=N, T=T, layout="batch")
    r = run_case({**case, "dtype": "float32", "mode": "infer", "variant": ""}, timeout=300)
    allowed = r["out_bytes"] + slack(r)
    assert r["growth"] <= allowed, (
        f"{name}: peak grew {r['growth'] / MiB:.1f} MiB for a {r['out_bytes'] / MiB:.1f} MiB "
        f"output (allowed {allowed / MiB:.1f}); {r}"
    )
    assert r["kept"] <= r["out_bytes"] + slack(r), f"the output holds too much: {r}"


@needs_peak
def test_training_peak_is_linear_with_the_documented_constant() -> None:
    """Forward with a graph + backward of 3 layers: at most (layers + 3) arrays of the
    output's size (the saved outputs, the output's gradient, one layer's incoming gradient
    and its delta) with 5% to spare; before, a spent gradient was still held (layers + 4)."""
    case = dict(I=1, H=16, layers=3, bi=False, N=1, T=400_000, layout="time")
    r = run_case({**case, "dtype": "float32", "mode": "train", "variant": ""}, timeout=300)
    unit = r["lndh_bytes"] // case["layers"]  # one (T, D*H) array
    allowed = 1.05 * (case["layers"] + 3) * unit + 4 * MiB
    assert r["growth"] <= allowed, (
        f"training peak grew {r['growth'] / unit:.2f} arrays of {unit / MiB:.1f} MiB "
        f"(allowed {allowed / unit:.2f}); {r}"
    )


# ---- in this process: the numbers, and what an output holds ----------------------------


def _owner(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _model(H: int, layers: int, bi: bool, batch_first: bool, dtype: str) -> elman.nn.RNN:
    elman.manual_seed(1)
    return elman.nn.RNN(3, H, layers, bidirectional=bi, batch_first=batch_first, dtype=dtype)


LAYOUTS = ["time", "batch", "unbatched", "packed"]


def _input(layout: str, L: int, N: int, dtype: str) -> object:
    rng = np.random.default_rng(2)
    shape = {"time": (L, N, 3), "batch": (N, L, 3), "unbatched": (L, 3), "packed": (L, N, 3)}
    x = elman.tensor(rng.standard_normal(shape[layout]).astype(dtype))
    if layout == "packed":
        return pack_padded_sequence(x, np.linspace(L, 1, N).astype(np.int64))
    return x


def _data(out: object) -> np.ndarray:
    return (out.data if hasattr(out, "batch_sizes") else out).detach().numpy()


def _block_bytes(a: np.ndarray) -> int:
    from elman._kernels.blocked_forward import BLOCK_ELEMENTS

    return BLOCK_ELEMENTS * a.itemsize


def test_small_fused_stack_without_a_graph_keeps_at_most_a_block_more() -> None:
    """Under one block, the fused forward without a graph runs as with one (the lean
    row-at-a-time projection costs up to +40% on long tiny-H stacks): the output may sit in
    a buffer of every layer, at most one block more than itself."""
    rnn = _model(8, 3, False, False, "float32")
    with elman.no_grad():
        data = _data(rnn(_input("time", 2000, 4, "float32"))[0])
    assert 3 * data.nbytes <= _block_bytes(data) + data.nbytes
    assert data.nbytes < _owner(data).nbytes <= data.nbytes + _block_bytes(data)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("H, bi", [(8, False), (8, True), (40, False), (40, True)])
def test_no_grad_forward_equals_the_graph_forward(layout: str, H: int, bi: bool) -> None:
    """Bit for bit, through the fast lane (fused for H = 8, layered for H = 40)."""
    rnn = _model(H, 3, bi, layout == "batch", "float32")
    x = _input(layout, 30, 4, "float32")
    out, hn = rnn(x)
    with elman.no_grad():
        out0, hn0 = rnn(x)
    np.testing.assert_array_equal(_data(out0), _data(out))
    np.testing.assert_array_equal(hn0.numpy(), hn.detach().numpy())


@pytest.mark.parametrize("layout", ["batch", "packed"])
@pytest.mark.parametrize("H, bi", [(8, False), (8, True), (40, False), (40, True)])
def test_no_grad_output_holds_no_other_layer(layout: str, H: int, bi: bool) -> None:
    """The output's memory: its own (the fused path) or a block more (the layered path's
    buffer), never every layer's (before: 3 layers, three outputs' worth)."""
    rnn = _model(H, 3, bi, layout == "batch", "float32")
    steps = (8000 if layout == "packed" else 4000) * (10 if H == 8 else 1)
    with elman.no_grad():
        data = _data(rnn(_input(layout, steps, 4, "float32"))[0])
    # the variant the dispatcher chose (the rules table picks by measurement: fused or not)
    plans = [plan for plan in rnn._fast_plans.values() if plan is not None]
    assert plans  # the fast lane ran
    fused = all(plan.fused for plan in plans)
    if fused:  # fused, every layer together over a block: one (T, D*H) array
        assert 3 * data.nbytes > _block_bytes(data)  # (the lean path is taken)
        assert _owner(data).nbytes == data.nbytes
    else:
        assert 3 * data.nbytes > data.nbytes + _block_bytes(data)  # (the check can fail)
        assert _owner(data).nbytes <= data.nbytes + _block_bytes(data)


def test_general_path_no_grad_equals_graph_forward() -> None:
    """A replaced parameter sends calls through the general path (RNNFunction)."""
    rnn = _model(40, 3, True, True, "float64")
    rnn.weight_hh_l0 = elman.nn.Parameter(rnn.weight_hh_l0.detach().numpy().copy())
    x = _input("batch", 4000, 3, "float64")
    out, hn = rnn(x)
    with elman.no_grad():
        out0, hn0 = rnn(x)
    np.testing.assert_array_equal(out0.numpy(), out.detach().numpy())
    np.testing.assert_array_equal(hn0.numpy(), hn.detach().numpy())
    data = out0.numpy()
    assert _owner(data).nbytes <= data.nbytes + _block_bytes(data)
