"""An ONNX ``RNN`` node as an ``nn.RNN`` of one layer, and its run.

ONNX: X (T, N, I) [layout 1: (N, T, I)], W (D, H, I), R (D, H, H), B (D, 2H) = [Wb, Rb],
sequence_lens (N,), initial_h (D, N, H); Y (T, D, N, H), Y_h (D, N, H). torch's layout is
the same gate for gate: ``weight_ih_l0{_reverse}`` = W[d], ``weight_hh`` = R[d],
``bias_ih`` = B[d, :H], ``bias_hh`` = B[d, H:].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..nn import RNN

__all__ = ["make_rnn", "run_rnn"]

_ACTS = {"Tanh": "tanh", "Relu": "relu"}


def make_rnn(node: Any, attrs: dict[str, Any], inits: dict[str, np.ndarray]) -> Any:
    """``(nn.RNN, initializer names used)`` for an RNN node; ValueError for what elman's
    RNN cannot be (another activation, clip, reverse-only, computed weights)."""
    where = f"ONNX RNN node {node.name!r}"
    direction = attrs.get("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise NotImplementedError(f"{where}: direction={direction!r} is not supported")
    D = 2 if direction == "bidirectional" else 1
    acts = attrs.get("activations", ["Tanh"] * D)
    if len(set(acts)) != 1 or acts[0] not in _ACTS:
        raise NotImplementedError(f"{where}: activations {acts} (elman runs Tanh or Relu)")
    for bad in ("clip", "activation_alpha", "activation_beta"):
        if bad in attrs:
            raise NotImplementedError(f"{where}: attribute {bad} is not supported")
    names = list(node.input) + [""] * 6
    w_name, r_name, b_name = names[1], names[2], names[3]
    for n in (w_name, r_name) + ((b_name,) if b_name else ()):
        if n not in inits:
            raise NotImplementedError(f"{where}: weight {n!r} is computed, not an initializer")
    W, R = inits[w_name], inits[r_name]
    H = attrs.get("hidden_size", W.shape[1] if W.ndim == 3 else 0)
    if W.ndim != 3 or W.shape[:2] != (D, H):
        raise ValueError(f"{where}: W {w_name!r} has shape {list(W.shape)}, expected [{D}, {H}, I]")
    if R.shape != (D, H, H):
        raise ValueError(
            f"{where}: R {r_name!r} has shape {list(R.shape)}, expected [{D}, {H}, {H}]"
        )
    B = inits.get(b_name) if b_name else None
    if B is not None and B.shape != (D, 2 * H):
        raise ValueError(
            f"{where}: B {b_name!r} has shape {list(B.shape)}, expected [{D}, {2 * H}]"
        )
    rnn = RNN(
        W.shape[2],
        H,
        1,
        _ACTS[acts[0]],
        bias=B is not None,
        bidirectional=D == 2,
        dtype=W.dtype,
    )
    for d, sfx in enumerate(["", "_reverse"][:D]):
        getattr(rnn, f"weight_ih_l0{sfx}")._data[...] = W[d]
        getattr(rnn, f"weight_hh_l0{sfx}")._data[...] = R[d]
        if B is not None:
            getattr(rnn, f"bias_ih_l0{sfx}")._data[...] = B[d, :H]
            getattr(rnn, f"bias_hh_l0{sfx}")._data[...] = B[d, H:]
    rnn.layout = int(attrs.get("layout", 0))
    rnn.reverse = direction == "reverse"
    return rnn, [n for n in (w_name, r_name, b_name) if n]


def _reversal(T: int, lengths: Any, N: int) -> tuple[np.ndarray, np.ndarray]:
    """The (T, N) index that reverses each sequence within its length (padding stays in
    place): time ``t`` of sequence ``n`` reads ``len[n] - 1 - t``. It is its own inverse."""
    lens = np.full(N, T, dtype=np.int64) if lengths is None else lengths
    t = np.arange(T)[:, None]  # (T, 1)
    rows = np.where(t < lens[None, :], lens[None, :] - 1 - t, t)  # (T, N)
    return rows, np.broadcast_to(np.arange(N)[None, :], (T, N))


def run_rnn(rnn: Any, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    inputs = inputs + [None] * (6 - len(inputs))
    x, lens, h0 = inputs[0], inputs[4], inputs[5]
    batch_major = getattr(rnn, "layout", 0) == 1
    if batch_major:
        x = x.permute(1, 0, 2)
        h0 = None if h0 is None else h0.permute(1, 0, 2)
    lengths = None if lens is None else lens._data.astype(np.int64)
    if lengths is not None and lengths.size and lengths.min() == 0:
        raise ValueError("ONNX RNN: a sequence length of 0 is not supported by elman")
    flip = None
    if getattr(rnn, "reverse", False):  # ONNX's reverse-only direction: run on the reversal
        flip = _reversal(x._data.shape[0], lengths, x._data.shape[1])
        x = x[flip]
    out, h_n = rnn(x, h0, lengths=lengths) if lengths is not None else rnn(x, h0)
    if flip is not None:
        out = out[flip]
    T, N = out._data.shape[:2]
    D = rnn.num_directions
    y = out.reshape(T, N, D, rnn.hidden_size).permute(0, 2, 1, 3)  # (T, D, N, H)
    if batch_major:
        return [y.permute(2, 0, 1, 3), h_n.permute(1, 0, 2)]
    return [y, h_n]
