"""Every kernel implementation against the slow, obviously correct NumPy references.

Every kernel test is parametrised over the implementations found in ``elman._kernels``:
the NumPy reference ``rnn_ref``, the names the package exports (which a compiled twin
replaces), and any other submodule exporting the same names (the ``*_compiled`` twins),
so a compiled twin slots in. A layer is also checked against an RNNCell stepped by hand
and against autograd of elman's ops, and a packed run against one dense run per sequence.
"""

from __future__ import annotations

import importlib
import itertools
import pkgutil
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import elman
import elman._kernels as exported
from conftest import assert_close, to_numpy
from elman._kernels import packing_ref, random_ref, rnn_ref, stack_ref


def implementations() -> dict[str, ModuleType]:
    """Every kernel module: the references, the exported names, and compiled twins."""
    impls = {
        "rnn_ref": rnn_ref,
        "stack_ref": stack_ref,
        "packing_ref": packing_ref,
        "random_ref": random_ref,
        "exported": exported,
    }
    for info in pkgutil.iter_modules(exported.__path__):
        if info.name in impls:
            continue
        try:
            module = importlib.import_module(f"elman._kernels.{info.name}")
        except ImportError:  # a compiled twin whose compiler is not installed
            continue
        if any(hasattr(module, name) for name in exported.__all__):
            impls[info.name] = module
    return impls


IMPLS = implementations()


def having(*names: str) -> list[str]:
    """The implementations that provide every one of ``names``."""
    return [k for k in sorted(IMPLS) if all(hasattr(IMPLS[k], n) for n in names)]


def rnd(rng: np.random.Generator, *shape: int, dtype: str = "float64") -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


def kernel_args(name: str, dtype: str, seed: int = 0) -> tuple[Any, ...]:
    """Arguments for each exported kernel, from a fixed seed (L=5, N=3, Hin=4, H=6)."""
    rng = np.random.default_rng(seed)
    L, N, Hin, H = 5, 3, 4, 6
    x, h0 = rnd(rng, L, N, Hin, dtype=dtype), rnd(rng, N, H, dtype=dtype)
    w = (rnd(rng, H, Hin, dtype=dtype) * 0.5, rnd(rng, H, H, dtype=dtype) * 0.4)
    b = (rnd(rng, H, dtype=dtype), rnd(rng, H, dtype=dtype))
    out, _ = rnn_ref.layer_forward(x, h0, *w, *b, True, False)
    g_out, g_hn = rnd(rng, L, N, H, dtype=dtype), rnd(rng, N, H, dtype=dtype)
    sizes = np.array([3, 3, 2, 1, 1], dtype=np.int64)
    xp, gp = (
        rnd(rng, int(sizes.sum()), Hin, dtype=dtype),
        rnd(rng, int(sizes.sum()), H, dtype=dtype),
    )
    outp, _ = rnn_ref.packed_layer_forward(xp, sizes, h0, *w, *b, False, True)
    # a 2-layer bidirectional stack with dropout masks, over the same packed batch
    stack_w = [
        (rnd(rng, H, Hin if k < 2 else 2 * H, dtype=dtype) * 0.4, rnd(rng, H, H, dtype=dtype) * 0.4)
        + (rnd(rng, H, dtype=dtype), rnd(rng, H, dtype=dtype))
        for k in range(4)
    ]
    stack_h0 = rnd(rng, 4, N, H, dtype=dtype)
    masks = [(rng.random((int(sizes.sum()), 2 * H)) > 0.3).astype(dtype) / np.asarray(0.7, dtype)]
    outs, _ = stack_ref.stack_forward(xp, sizes, stack_h0, stack_w, 2, False, masks)
    stack_g_hn = rnd(rng, 4, N, H, dtype=dtype)
    g_stack = rnd(rng, int(sizes.sum()), 2 * H, dtype=dtype)
    return {
        "stack_forward": (xp, sizes, stack_h0, stack_w, 2, False, masks),
        "stack_backward": (
            xp,
            sizes,
            stack_h0,
            stack_w,
            2,
            False,
            masks,
            outs,
            g_stack,
            stack_g_hn,
        ),
        "layer_forward": (x, h0, *w, *b, True, False),
        "layer_backward": (x, h0, *w, out, g_out, g_hn, True, False),
        "packed_layer_forward": (xp, sizes, h0, *w, *b, False, True),
        "packed_layer_backward": (xp, sizes, h0, *w, outp, gp, g_hn, False, True),
        "cell_forward": (x[0], h0, *w, *b, False),
        "cell_backward": (x[0], h0, *w, out[0], g_hn, False),
        # the packing index maps (integer-valued: dtype plays no part)
        "batch_sizes_of": (np.array([5, 3, 3, 1], dtype=np.int64),),
        "packed_rows": (sizes, np.array([2, 0, 1], dtype=np.int64), 6, dtype == "float64"),
        # a scaled dropout mask from raw 32-bit draws (one of the dtype: 1 / (1 - p))
        "bernoulli_values": (
            rng.integers(0, 2**32, size=2 * 1000, dtype=np.uint64),
            0.7,
            np.dtype(dtype).type(1) / np.dtype(dtype).type(0.7),
        ),
    }[name]


def as_tuple(result: Any) -> tuple[np.ndarray, ...]:
    """Every array of a kernel's result, nested lists and tuples flattened in order."""
    if isinstance(result, (tuple, list)):
        return tuple(a for item in result for a in as_tuple(item))
    return (result,)


def reference(name: str) -> Any:
    for module in (rnn_ref, packing_ref, random_ref):
        if hasattr(module, name):
            return getattr(module, name)
    return getattr(stack_ref, name)


PAIRS = [
    (impl, name)
    for impl in sorted(IMPLS)
    for name in exported.__all__
    if hasattr(IMPLS[impl], name)
]


@pytest.mark.parametrize("impl, name", PAIRS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_implementation_agrees_with_the_reference(impl: str, name: str, dtype: str) -> None:
    args = kernel_args(name, dtype)
    expected = as_tuple(reference(name)(*args))
    actual = as_tuple(getattr(IMPLS[impl], name)(*args))
    assert len(actual) == len(expected)
    for k, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert_close(a, e, f"{impl}.{name}[{k}]")


def test_exported_names_are_the_reference_or_a_twin() -> None:
    for name in exported.__all__:
        fn = getattr(exported, name)
        assert fn is reference(name) or any(
            fn is getattr(m, name, None) for k, m in IMPLS.items() if k != "exported"
        ), name


def cell_step(cell: elman.nn.RNNCell) -> tuple[Callable[[Any, Any], Any], Any]:
    """The module itself; its bias_ih (or None) is where the bias gradient lands."""
    return cell, cell.bias_ih


def ops_step(cell: elman.nn.RNNCell) -> tuple[Callable[[Any, Any], Any], Any]:
    """One step from elementary autograd ops, in torch's association order.

    Without bias, zero biases that require grad stand in, so db is checked in every case.
    """
    H = cell.hidden_size
    b_ih, b_hh = cell.bias_ih, cell.bias_hh
    if b_ih is None:
        b_ih, b_hh = (elman.zeros(H, dtype="float64", requires_grad=True) for _ in range(2))

    def step(x: Any, h: Any) -> Any:
        z = (h @ cell.weight_hh.T + b_hh) + (x @ cell.weight_ih.T + b_ih)
        return z.relu() if cell.nonlinearity == "relu" else z.tanh()

    return step, b_ih


STEPPERS = {"RNNCell": cell_step, "ops": ops_step}


HAND = list(itertools.product(("tanh", "relu"), (True, False), (False, True), sorted(STEPPERS)))


HAND_IDS = [f"{nl}-{'bias' if b else 'nobias'}-{'rev' if r else 'fwd'}-{s}" for nl, b, r, s in HAND]


def hand_case(nl: str, bias: bool, reverse: bool, stepper: str) -> dict[str, Any]:
    """Run an RNNCell by hand over L=6 steps; the per-step states and all autograd grads."""
    rng = np.random.default_rng(5)
    L, N, Hin, H = 6, 3, 4, 5
    cell = elman.nn.RNNCell(Hin, H, bias=bias, nonlinearity=nl, dtype="float64")
    x = elman.tensor(rnd(rng, L, N, Hin), requires_grad=True)
    h0 = elman.tensor(rnd(rng, N, H), requires_grad=True)
    g_out, g_hn = rnd(rng, L, N, H), rnd(rng, N, H)
    step, bias = STEPPERS[stepper](cell)
    h, states = h0, [None] * L
    for t in reversed(range(L)) if reverse else range(L):
        h = states[t] = step(x[t], h)
    loss = (h * elman.tensor(g_hn)).sum()
    for t in range(L):
        loss = loss + (states[t] * elman.tensor(g_out[t])).sum()
    loss.backward()
    weights = [to_numpy(w) for w in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    return {
        "args": (to_numpy(x), to_numpy(h0), *weights),
        "g": (g_out, g_hn),
        "states": np.stack([to_numpy(s) for s in states]),
        "grads": [to_numpy(t.grad) for t in (x, h0, cell.weight_ih, cell.weight_hh)]
        + [None if bias is None else to_numpy(bias.grad)],
    }


EXACT = {"rtol": 0.0, "atol": 1e-12}


@pytest.mark.parametrize("impl", having("layer_forward"))
@pytest.mark.parametrize("nl,bias,reverse,stepper", HAND, ids=HAND_IDS)
def test_layer_forward_equals_cell_stepped_by_hand(
    impl: str, nl: str, bias: bool, reverse: bool, stepper: str
) -> None:
    case = hand_case(nl, bias, reverse, stepper)
    out, hn = IMPLS[impl].layer_forward(*case["args"], reverse, nl == "relu")
    for t in range(len(out)):
        assert_close(out[t], case["states"][t], f"step {t}", **EXACT)
    assert_close(hn, case["states"][0 if reverse else -1], "h_n", **EXACT)


@pytest.mark.parametrize("impl", having("layer_backward"))
@pytest.mark.parametrize("nl,bias,reverse,stepper", HAND, ids=HAND_IDS)
def test_layer_backward_equals_autograd_by_hand(
    impl: str, nl: str, bias: bool, reverse: bool, stepper: str
) -> None:
    case = hand_case(nl, bias, reverse, stepper)
    x, h0, w_ih, w_hh, *_ = case["args"]
    out = case["states"]
    grads = IMPLS[impl].layer_backward(x, h0, w_ih, w_hh, out, *case["g"], reverse, nl == "relu")
    for name, a, e in zip(("dx", "dh0", "dW_ih", "dW_hh", "db"), grads, case["grads"], strict=True):
        if e is not None:  # the RNNCell stepper without bias has no bias gradient to compare
            assert_close(a, e, name, **EXACT)


@pytest.mark.parametrize("impl", having("packed_layer_forward", "layer_forward"))
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
@pytest.mark.parametrize("nl", ["tanh", "relu"])
def test_packed_kernels_equal_one_dense_run_per_sequence(impl: str, reverse: bool, nl: str) -> None:
    kernels, relu = IMPLS[impl], nl == "relu"
    rng = np.random.default_rng(9)
    lengths, Hin, H = [5, 3, 3, 1], 2, 4
    sizes = np.array([sum(n > t for n in lengths) for t in range(5)], dtype=np.int64)
    seqs = [rnd(rng, n, Hin) for n in lengths]
    xp = np.concatenate([np.stack([s[t] for s in seqs if len(s) > t]) for t in range(5)])
    h0, w_ih, w_hh, b_ih, b_hh = rnd(rng, 4, H), rnd(rng, H, Hin), rnd(rng, H, H), *rnd(rng, 2, H)
    g_out, g_hn = rnd(rng, len(xp), H), rnd(rng, 4, H)
    out, hn = kernels.packed_layer_forward(xp, sizes, h0, w_ih, w_hh, b_ih, b_hh, reverse, relu)
    dx, dh0, *dw = kernels.packed_layer_backward(
        xp, sizes, h0, w_ih, w_hh, out, g_out, g_hn, reverse, relu
    )
    rows = [np.cumsum(np.r_[0, sizes])[:n] + i for i, n in enumerate(lengths)]  # packed rows
    total = [np.zeros_like(w) for w in dw]
    for i, (seq, r) in enumerate(zip(seqs, rows, strict=True)):
        args = (seq[:, None], h0[i : i + 1], w_ih, w_hh)
        o, h = kernels.layer_forward(*args, b_ih, b_hh, reverse, relu)
        assert_close(out[r], o[:, 0], f"out of sequence {i}", **EXACT)
        assert_close(hn[i], h[0], f"h_n of sequence {i}", **EXACT)
        gx, gh, *gw = kernels.layer_backward(
            *args, o, g_out[r][:, None], g_hn[i : i + 1], reverse, relu
        )
        assert_close(dx[r], gx[:, 0], f"dx of sequence {i}", **EXACT)
        assert_close(dh0[i], gh[0], f"dh0 of sequence {i}", **EXACT)
        total = [a + b for a, b in zip(total, gw, strict=True)]
    for name, a, e in zip(("dW_ih", "dW_hh", "db"), dw, total, strict=True):
        assert_close(a, e, name, **EXACT)
