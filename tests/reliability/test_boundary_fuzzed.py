"""What the differential fuzzer found at the public boundary after the NaN/inf and thread
work were merged, one test each (see docs/reliability.md, "Fuzzing the public boundary").
Each failed before its fix: a different exception type, no exception, or other numbers
than torch's.
"""

from __future__ import annotations

import numpy as np
import pytest

import elman
from conftest import requires_torch


@pytest.mark.parametrize(
    ("call", "exc", "text"),
    [
        (lambda: elman.zeros(3).__setitem__(0, 1e300), RuntimeError, "without overflow"),
        (lambda: elman.zeros(5).reshape(1, -5), RuntimeError, "invalid shape dimension -5"),
        (lambda: elman.zeros(4).view(-1, -1), RuntimeError, "only one dimension can be inferred"),
        (lambda: elman.zeros(3) < 1j, NotImplementedError, "not implemented for complex"),
        (lambda: elman.zeros(3) >= elman.zeros(3) * 1j, NotImplementedError, "complex"),
        (lambda: elman.zeros(3)["a"], TypeError, "valid indices"),
        (lambda: elman.zeros(3)[["a"]], TypeError, "valid indices"),
        (lambda: elman.zeros(())["a"], IndexError, "too many indices for tensor of dimension 0"),
        (lambda: elman.zeros(3)[0, "a"], IndexError, "too many indices for tensor of dimension 1"),
        (
            lambda: elman.zeros(()).__setitem__("a", 1.0),
            IndexError,
            "too many indices for tensor of dimension 0",
        ),
        (lambda: elman.arange(0.5, 5.7, 0.5, dtype=np.int64), ValueError, "step must be nonzero"),
        (
            lambda: elman.nn.functional.cross_entropy(
                elman.zeros(2, 3), elman.tensor([0, 1]), label_smoothing="0.1"
            ),
            TypeError,
            "'label_smoothing' must be float, not str",
        ),
        (
            lambda: elman.optim.SGD([elman.nn.Parameter(elman.zeros(2))], dampening="0.1"),
            TypeError,
            "dampening must be a number, got str",
        ),
        (lambda: elman.autograd.set_detect_anomaly(1), TypeError, "'enabled' must be bool"),
        (
            lambda: elman.autograd.set_detect_anomaly(True, check_nan="yes"),
            TypeError,
            "'check_nan' must be bool",
        ),
        (
            lambda: elman.nn.utils.rnn.pad_sequence([], padding_side=1),
            TypeError,
            "'padding_side' \\(position 4\\) must be str, not int",
        ),
        (
            lambda: elman.nn.utils.rnn.pad_sequence([], batch_first=1),
            TypeError,
            "'batch_first' must be bool",
        ),
    ],
)
def test_fuzzed_bad_input_gets_torchs_type(call, exc, text):
    with pytest.raises(exc, match=text):
        call()


def test_arange_int64_with_float_bounds_truncates_them_first():
    # torch's int64 path: int(start), int(end), int(step) -> arange(0, 5, 1)
    got = elman.arange(0.5, 5.7, 1.5, dtype=np.int64)
    assert got.dtype == np.int64 and got.tolist() == [0, 1, 2, 3, 4]


def test_float32_power_with_a_tiny_exponent_is_computed_in_double():
    # NumPy rounds 1e-50 to float32's 0 first: (-0.6) ** 0 = 1; torch gives NaN
    got = elman.tensor([-0.6, 0.5, 0.0], dtype=np.float32) ** 1e-50
    np.testing.assert_array_equal(got.numpy(), np.array([np.nan, 1.0, 0.0], np.float32))


@requires_torch
def test_number_over_tensor_has_torchs_gradient_at_zero_and_inf():
    import torch

    values = [0.0, float("inf"), -0.0, 2.0, -float("inf")]
    ours = elman.tensor(values, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        (3.0 / ours).sum().backward()
    (3.0 / theirs).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@requires_torch
@pytest.mark.parametrize("make", ["SGD", "RMSprop", "Adagrad"])
def test_float32_updates_fuse_the_last_multiply_add_as_torch(make):
    """torch's kernels fuse ``add(alpha=)``/``addcmul``'s last step (one rounding): over 20
    steps SGD's parameters are bitwise torch's (60% of elements were before)."""
    import torch

    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(200).astype(np.float32)
    grads = rng.standard_normal((20, 200)).astype(np.float32)
    ours, theirs = elman.nn.Parameter(elman.tensor(w0)), torch.nn.Parameter(torch.tensor(w0))
    kw = {"lr": 0.0123, "momentum": 0.9} if make == "SGD" else {"lr": 0.0123}
    opt_e = getattr(elman.optim, make)([ours], **kw)
    opt_t = getattr(torch.optim, make)([theirs], **kw, foreach=False)
    for g in grads:
        ours.grad, theirs.grad = elman.tensor(g), torch.tensor(g)
        opt_e.step()
        opt_t.step()
    same = float(np.mean(ours.detach().numpy() == theirs.detach().numpy()))
    assert same >= {"SGD": 1.0, "RMSprop": 0.6, "Adagrad": 0.8}[make], same


def test_huge_gradient_does_not_turn_centered_rmsprop_into_nan():
    # (g * 1e30)^2 overflows float32: the unfused update computed inf - inf = NaN
    w = elman.nn.Parameter(elman.ones(3))
    opt = elman.optim.RMSprop([w], lr=0.01, centered=True)
    w.grad = elman.tensor([1e30, -1e30, 1.0])
    opt.step()
    assert not np.isnan(w.detach().numpy()).any()


@requires_torch
def test_float16_gradients_are_clipped_in_float32_as_torch():
    """A coefficient below float16's range (1e-40) is not rounded to 0 first: inf * coef
    stays inf (it was NaN), finite gradients round once."""
    import torch

    g = [float("inf"), 1.0, 3.0e4, -2.5]
    for max_norm, total in ((1e-40, 1.0), (0.3, 7.0)):
        ours = elman.nn.Parameter(elman.zeros(4, dtype=np.float16))
        theirs = torch.nn.Parameter(torch.zeros(4, dtype=torch.float16))
        ours.grad = elman.tensor(g, dtype=np.float16)
        theirs.grad = torch.tensor(g, dtype=torch.float16)
        elman.nn.utils.clip_grads_with_norm_([ours], max_norm, elman.tensor(total))
        torch.nn.utils.clip_grads_with_norm_([theirs], max_norm, torch.tensor(total))
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@requires_torch
def test_float32_power_backward_keeps_the_exponent_in_double():
    """p - 1 = -1.000000000086 is not an odd integer: (-0.) ** (p - 1) is +inf and
    (-2.) ** (p - 1) NaN, as torch's; NumPy rounded it to float32's -1."""
    import torch

    values, p = [-0.0, 0.0, -2.0, 2.0], -8.60467152213735e-11
    ours = elman.tensor(values, dtype=np.float32, requires_grad=True)
    theirs = torch.tensor(values, dtype=torch.float32, requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        (ours**p).sum().backward()
    (theirs**p).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@requires_torch
def test_embedding_max_norm_with_nan_norm_type_on_one_wide_rows():
    """torch's norm of a one-element row is |x| even for p = nan, so max_norm=0 zeroes it."""
    import torch

    for lib in (elman, torch):
        lib.manual_seed(0)
    ours = elman.nn.Embedding(2, 1, max_norm=0.0, norm_type=float("nan"), dtype=np.float64)
    theirs = torch.nn.Embedding(2, 1, max_norm=0.0, norm_type=float("nan"), dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.detach().numpy().copy()))
    got, want = ours(elman.tensor([0, 1])), theirs(torch.tensor([0, 1]))
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())


@requires_torch
@pytest.mark.parametrize("shape", [(4, 2, 3), (2, 2, 2, 3)])
def test_linear_with_a_1d_weight_and_a_0d_bias_on_3d_input_is_matmul_plus_bias(shape):
    """torch computes matmul(x, w) + b there (its addmm path needs a 1-D bias); elman
    refused it with the addmm path's error."""
    import torch

    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(shape), rng.standard_normal(3), np.array(0.3)
    ours = [elman.tensor(v, requires_grad=True) for v in (x, w, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    got, want = elman.nn.functional.linear(*ours), torch.nn.functional.linear(*theirs)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    for a, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-12)
