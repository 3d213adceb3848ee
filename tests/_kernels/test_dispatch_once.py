"""One dispatch decision per RNN call: :func:`elman._kernels.dispatch.choose` runs once for a
forward and its backward, on the fast lane and on the general path, dense and packed, for a
fused, a fused-forward and a layered variant; the backward reuses the forward's decision.

The lane remembers its decision with the call signature's plan: a repeated call of the same
signature takes no new decision (0), a new signature exactly one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import elman
from elman.nn import _rnn_packed
from elman.nn import rnn as rnn_module

pytestmark = pytest.mark.skipif(not elman._kernels.JIT, reason="the compiled kernels dispatch")

# (L, N, I, H, num_layers, bidirectional): fused both ways, fused forward + layered
# backward (T*layers*D > 2048), layered (H = 64, N = 4)
SHAPES = {
    "fused": (6, 3, 4, 5, 2, True),
    "fused-forward": (700, 2, 3, 4, 3, False),
    "layered": (20, 4, 8, 64, 2, False),
}


def decisions(run: Callable[[], Any]) -> int:
    """How many times ``choose`` (the decision) is entered while ``run()`` runs."""
    from elman._kernels import dispatch

    code = dispatch.choose.__code__
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event == "call" and frame.f_code is code:
            count += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return count


def _model(shape: tuple) -> tuple[Any, Any]:
    L, N, I, H, NL, bi = shape
    elman.manual_seed(0)
    rnn = elman.nn.RNN(I, H, num_layers=NL, bidirectional=bi)
    x = np.random.default_rng(0).standard_normal((L, N, I)).astype(np.float32)
    return rnn, x


def _call(rnn: Any, x: np.ndarray, packed: bool) -> Callable[[], Any]:
    def run() -> None:
        xt = elman.tensor(x, requires_grad=True)
        if packed:
            lengths = [x.shape[0]] + [max(1, x.shape[0] - 2)] * (x.shape[1] - 1)
            seq = elman.nn.utils.rnn.pack_padded_sequence(xt, lengths)
            out, hn = rnn(seq)
            out = out.data
        else:
            out, hn = rnn(xt)
        (out.sum() + hn.sum()).backward()

    return run


@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_lane_decides_once_per_call_signature(shape: str, packed: bool) -> None:
    rnn, x = _model(SHAPES[shape])
    assert decisions(_call(rnn, x, packed)) == 1  # forward and backward: one decision
    assert decisions(_call(rnn, x, packed)) == 0  # the plan holds it for this signature
    assert decisions(_call(rnn, x[:-1], packed)) == 1  # a new signature: one more


@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_general_path_decides_once_per_call(
    shape: str, packed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rnn_module, "fast_forward", lambda *args: None)
    monkeypatch.setattr(_rnn_packed, "fast_forward_packed", lambda *args: None)
    rnn, x = _model(SHAPES[shape])
    for _ in range(2):
        assert decisions(_call(rnn, x, packed)) == 1


def test_the_decision_reaches_the_kernels_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variant the lane chose is the one whose entry points run, forward and backward."""
    from elman._kernels import dispatch

    entered: list[str] = []
    for name in ("layered-dot", "fused-forward"):
        real = dispatch.VARIANTS[name]

        def spy(entry: Callable[..., Any], what: str) -> Callable[..., Any]:
            def run(variant: Any, *args: Any) -> Any:
                entered.append(f"{variant.name} {what}")
                return entry(variant, *args)

            return run

        spied = real._replace(backward=spy(real.backward, "backward"))
        if not real.fused:  # (a fused forward runs on the flat weights, not this entry)
            spied = spied._replace(forward=spy(real.forward, "forward"))
        monkeypatch.setitem(dispatch.VARIANTS, name, spied)
        dispatch.resolve.cache_clear()
        monkeypatch.setattr(dispatch, "FORCED", name)
        rnn, x = _model(SHAPES["layered"])
        _call(rnn, x, False)()
    dispatch.resolve.cache_clear()
    # layered-dot: both entries; fused-forward: the forward on the flat weights (the lane's
    # own fused call), the backward through the layered entry
    assert entered == ["layered-dot forward", "layered-dot backward", "fused-forward backward"]
