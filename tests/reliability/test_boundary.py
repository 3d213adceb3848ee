"""The public boundary's known failure modes (issue 13, part 4), one test each: absurd sizes
are refused before anything is allocated or looped over, allocation failures are torch's
RuntimeError, integers beyond int64 and NumPy scalars get clear messages.

The fuzzer (test_fuzz_*.py) covers every entry point; these pin the cases the issue names.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import elman
from conftest import TORCH, requires_torch


def test_lengths_beyond_int64_are_a_value_error():
    x = elman.zeros(3, 2, 4)
    for lengths in ([10**20, 1], [-(10**20), 1], elman.tensor([3.0, 1e20])):
        with pytest.raises((ValueError, RuntimeError), match="int64"):
            elman.nn.utils.rnn.pack_padded_sequence(x, lengths)


@pytest.mark.parametrize(
    "make",
    [
        lambda: elman.nn.RNN(3, 10**12),
        lambda: elman.nn.RNN(10**12, 3),
        lambda: elman.nn.RNN(3, 2**62, bidirectional=True),
        lambda: elman.nn.RNNCell(10**12, 10),
        lambda: elman.nn.Linear(10**6, 10**7),
        lambda: elman.nn.Embedding(10**12, 10),
        lambda: elman.zeros(10**12),
        lambda: elman.ones(2**30, 2**30),
        lambda: elman.randn(10**13),
        lambda: elman.full((10**12,), 1.0),
        lambda: elman.arange(10**15),
    ],
)
def test_sizes_that_cannot_be_allocated_are_torchs_runtime_error(make):
    """torch: "DefaultCPUAllocator: can't allocate memory: you tried to allocate N bytes";
    elman names the bytes too, before allocating anything (NumPy said MemoryError)."""
    with pytest.raises(RuntimeError, match=r"can't allocate memory: you tried to allocate \d+"):
        make()


def test_absurd_num_layers_is_refused_before_its_loop():
    start = time.perf_counter()
    for n in (2**63, 2**40, 10**12):
        with pytest.raises(RuntimeError, match=r"parameters of RNN"):
            elman.nn.RNN(2, 4, num_layers=n)
    assert time.perf_counter() - start < 1.0  # (it built layers for hours)


def test_allocation_failures_at_forward_time_are_a_runtime_error():
    """A broadcast view costs nothing, the output of a layer on it cannot be allocated."""
    huge = elman.zeros(1, 1).expand(10**7, 1)  # (10**7, 1) view of one element
    with pytest.raises(RuntimeError, match="can't allocate memory"):
        elman.nn.Linear(1, 10**7)(huge)  # (10**7, 10**7) float32: 400 TB
    x = elman.zeros(1, 1, 1).expand(10**6, 10**6, 1)
    with pytest.raises(RuntimeError, match="can't allocate memory"):
        elman.nn.RNN(1, 1)(x)
    with pytest.raises(RuntimeError, match="can't allocate memory"):
        (huge @ huge.t()).sum()


@pytest.mark.parametrize("flag", ["bias", "batch_first", "bidirectional"])
def test_numpy_bools_are_taken_as_bools(flag):
    rnn = elman.nn.RNN(2, 4, **{flag: np.True_})
    assert getattr(rnn, flag) is True  # stored as a Python bool
    assert "bool" not in repr(type(getattr(rnn, flag))).replace("<class 'bool'>", "")


def test_a_refused_numpy_scalar_is_named_with_its_module():
    with pytest.raises(TypeError, match=r"got: numpy\.int64"):
        elman.nn.RNN(np.int64(3), 4)
    with pytest.raises(TypeError, match=r"got: numpy\.float32"):
        elman.nn.RNN(3, 4, bias=np.float32(1))


@requires_torch
def test_numpy_bool_bidirectional_builds_what_torch_builds():
    elman.manual_seed(3)
    TORCH.manual_seed(3)
    ours = elman.nn.RNN(2, 4, bidirectional=np.True_)
    theirs = TORCH.nn.RNN(2, 4, bidirectional=True)
    for (k, a), (k2, b) in zip(ours.state_dict().items(), theirs.state_dict().items(), strict=True):
        assert k == k2
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize(
    ("call", "exc", "text"),
    [
        (lambda: elman.zeros(0, 2**62), RuntimeError, "Stride calculation overflowed"),
        (lambda: elman.zeros(0, 2**62, 4), RuntimeError, "Stride calculation overflowed"),
        (lambda: elman.ones(2**40, 2**40), RuntimeError, "Storage size calculation overflowed"),
        (lambda: elman.ones(2**62, 4, 0), RuntimeError, "Storage size calculation overflowed"),
        (lambda: elman.arange(0, 5, 0), RuntimeError, "step must be nonzero"),
        (lambda: elman.arange(5, 0), RuntimeError, "inconsistent with step sign"),
        (lambda: elman.arange(float("nan")), RuntimeError, "unsupported range"),
        (lambda: elman.tensor([1, 2**70]), ValueError, "does not fit in int64"),
        (lambda: elman.tensor(["a"]), TypeError, "invalid data type 'str'"),
        (lambda: elman.tensor([None]), RuntimeError, "Could not infer dtype of NoneType"),
        (lambda: elman.ones(3) + elman.ones(4), RuntimeError, "must match the size of tensor b"),
        (lambda: elman.ones(2, 3) @ elman.ones(2, 3), RuntimeError, "cannot be multiplied"),
        (lambda: elman.ones(3)[10**20], IndexError, "out of bounds"),
        (lambda: elman.ones(3).sum(2**63), IndexError, "Dimension out of range"),
        (lambda: float(elman.ones(3)), ValueError, "only one element tensors"),
        (lambda: elman.cat([elman.ones(2), None]), TypeError, "expected Tensor as element 1"),
        (lambda: elman.nn.functional.relu(None), TypeError, "expected a Tensor"),
        (lambda: elman.nn.init.xavier_uniform_(elman.zeros(0, 0)), None, None),
        (
            lambda: elman.optim.lr_scheduler.StepLR(
                elman.optim.SGD([elman.nn.Parameter(elman.ones(1))]), step_size=0
            ),
            ValueError,
            "step_size must be greater than zero",
        ),
    ],
)
def test_bad_input_gets_torchs_type_and_a_clear_message(call, exc, text):
    """Each of these raised a NumPy ValueError, an OverflowError, a ZeroDivisionError or an
    AttributeError from deep inside (or computed something) before."""
    if exc is None:
        call()  # an empty tensor: nothing to initialise (torch divides by zero)
        return
    with pytest.raises(exc, match=text):
        call()
