"""A backward without the input's gradient (``need_dx=False``): dx is None, every other
gradient is the one of the full backward, for every variant and the reference; and the
fast lane asks for it when the input needs no gradient (the parameters' gradients agree
with torch's; a float64 gradcheck through the input still runs the full backward)."""

from __future__ import annotations

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from kernel_cases import CASES, VARIANTS, compare, flat, make_case  # noqa: E402

import elman  # noqa: E402
from elman._kernels import dispatch, stack_compiled, stack_ref  # noqa: E402


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("variant", VARIANTS)
def test_without_dx_the_rest_is_unchanged(variant: str, case: str) -> None:
    v = dispatch.variant(variant)
    args, grads = make_case(case, "float64")
    outs, _ = stack_ref.stack_forward(*args)
    dx, dh0, per_k = stack_ref.stack_backward(*args, outs, *grads)
    ref_none = stack_ref.stack_backward(*args, outs, *grads, need_dx=False)
    got = stack_compiled.stack_backward(*args, outs, *grads, variant=v, need_dx=False)
    assert ref_none[0] is None
    if not v.fused_backward:  # (the fused loop computes dx with the rest and returns it)
        assert got[0] is None
    compare(got[1:], (dh0, per_k), f"{variant} without dx")
    compare(ref_none[1:], (dh0, per_k), "reference without dx")
    assert len(flat(per_k)) > 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fast_lane_without_input_grad_matches_torch(dtype: str) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = torch.nn.RNN(3, 70, num_layers=2, dtype=getattr(torch, dtype))
    ours = elman.nn.RNN(3, 70, num_layers=2, dtype=getattr(elman, dtype))
    state = {k: elman.from_numpy(v.detach().numpy()) for k, v in ref.state_dict().items()}
    ours.load_state_dict(state)
    x = np.random.default_rng(2).standard_normal((40, 16, 3)).astype(dtype)
    (ref(torch.from_numpy(x))[0] ** 2).sum().backward()
    xe = elman.from_numpy(x)
    (ours(xe)[0] ** 2).sum().backward()
    assert xe.grad is None
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == "float64" else dict(rtol=1e-4, atol=1e-4)
    for (name, p), q in zip(ours.named_parameters(), ref.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), err_msg=name, **tol)


def test_gradcheck_through_the_input_still_runs_the_full_backward() -> None:
    rnn = elman.nn.RNN(2, 65, dtype=elman.float64)
    x = elman.from_numpy(np.random.default_rng(1).standard_normal((12, 9, 2)))
    x.requires_grad_(True)
    assert elman.autograd.gradcheck(lambda x: rnn(x)[0], (x,))
