"""NumPy references for the fuzz targets, used when torch is not installed.

Each takes a target's abstract case and gives the value elman must produce (normalised as
the core normalises results), or None when the case is outside what the reference covers
(integer inputs, training-mode dropout); the verdict then checks only elman's exception
types. The references are the plain formulas, written independently of elman's code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from fuzz_core import DT, Arr

import elman


def _array(v: Any) -> np.ndarray:
    return v.data if isinstance(v, Arr) else np.asarray(v)


def _floats(*vs: Any) -> bool:
    """Floating tensors or arrays (a list becomes the default dtype: not covered)."""
    return all(isinstance(v, Arr) and v.data.dtype.kind == "f" and v.form != "list" for v in vs)


def _unary(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Any], Any]:
    def ref(a: Any) -> Any:
        (x, *_), kw = a
        if kw or not _floats(x):
            return None
        with np.errstate(all="ignore"):
            return ("T", np.asarray(fn(x.data)).astype(x.data.dtype))

    return ref


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable[[Any], Any]:
    def ref(a: Any) -> Any:
        (x, y), _ = a
        if not _floats(x, y) or x.data.dtype != y.data.dtype:
            return None
        with np.errstate(all="ignore"):
            return ("T", np.asarray(fn(x.data, y.data)))

    return ref


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _dtype(v: Any) -> Any:
    return np.dtype(v.name).type if isinstance(v, DT) else v


def _weights(make: Callable[[], Any]) -> dict[str, np.ndarray]:
    """The module's parameters as the scenario built them (same seed, same draws)."""
    elman.manual_seed(0)
    return {k: v.numpy().astype(np.float64) for k, v in make().state_dict().items()}


def rnn_forward(a: Any) -> Any:
    """h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), layer after layer, both directions."""
    cfg, x, h, training = a
    if cfg.get("dropout", 0) and training:
        return None
    w = _weights(lambda: elman.nn.RNN(**{k: _dtype(v) for k, v in cfg.items()}))
    X = _array(x).astype(np.float64)
    unbatched = X.ndim == 2
    if unbatched:
        X = X[:, None]
    elif cfg["batch_first"]:
        X = X.transpose(1, 0, 2)
    L, N, _ = X.shape
    D, H = 2 if cfg["bidirectional"] else 1, cfg["hidden_size"]
    H0 = np.zeros((cfg["num_layers"] * D, N, H)) if h is None else _array(h).astype(np.float64)
    if h is not None and unbatched:
        H0 = H0[:, None]
    act = np.tanh if cfg["nonlinearity"] == "tanh" else (lambda z: np.maximum(z, 0))
    hn, inp = [], X
    with np.errstate(all="ignore"):
        for layer in range(cfg["num_layers"]):
            outs = []
            for d in range(D):
                sfx = f"l{layer}" + ("_reverse" if d else "")
                state = H0[layer * D + d]
                out = np.zeros((L, N, H))
                for t in range(L) if d == 0 else range(L - 1, -1, -1):
                    z = inp[t] @ w["weight_ih_" + sfx].T + state @ w["weight_hh_" + sfx].T
                    if cfg["bias"]:
                        z = z + w["bias_ih_" + sfx] + w["bias_hh_" + sfx]
                    state = out[t] = act(z)
                outs.append(out)
                hn.append(state)
            inp = np.concatenate(outs, axis=-1)
    out, hn_arr = inp, np.stack(hn)
    if unbatched:
        out, hn_arr = out[:, 0], hn_arr[:, 0]
    elif cfg["batch_first"]:
        out = out.transpose(1, 0, 2)
    dt = cfg["dtype"].name
    return (("T", out.astype(dt)), ("T", hn_arr.astype(dt)))


def linear_forward(a: Any) -> Any:
    sizes, cfg, x = a
    w = _weights(lambda: elman.nn.Linear(*sizes, **{k: _dtype(v) for k, v in cfg.items()}))
    y = _array(x).astype(np.float64) @ w["weight"].T + w.get("bias", 0.0)
    return ("T", y.astype(cfg["dtype"].name))


def _loss(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Any], Any]:
    def ref(a: Any) -> Any:
        (x, t), kw = a
        red = kw.get("reduction", "mean")
        if not _floats(x, t) or x.data.dtype != t.data.dtype or red not in ("mean", "sum"):
            return None
        with np.errstate(all="ignore"):
            e = fn(x.data.astype(np.float64) - t.data.astype(np.float64))
            v = e.mean() if red == "mean" else e.sum()
        return ("T", np.asarray(v, dtype=x.data.dtype))

    return ref


def _softmax(log: bool) -> Callable[[Any], Any]:
    def ref(a: Any) -> Any:
        (x, dim), kw = a
        if kw or not _floats(x) or not isinstance(dim, int) or isinstance(dim, bool):
            return None
        d = x.data.astype(np.float64)
        if d.ndim == 0 or not -d.ndim <= dim < d.ndim:
            return None
        with np.errstate(all="ignore"):
            s = d - d.max(axis=dim, keepdims=True)
            lse = np.log(np.exp(s).sum(axis=dim, keepdims=True))
            return ("T", (s - lse if log else np.exp(s - lse)).astype(x.data.dtype))

    return ref


REFERENCES: dict[str, Callable[[Any], Any]] = {
    "elman.tanh": _unary(np.tanh),
    "elman.relu": _unary(lambda x: np.where((x > 0) | np.isnan(x), x, 0)),  # NaN stays NaN
    "elman.sigmoid": _unary(_sigmoid),
    "elman.exp": _unary(np.exp),
    "elman.log": _unary(np.log),
    "Tensor.__add__": _binary(np.add),
    "Tensor.__sub__": _binary(np.subtract),
    "Tensor.__mul__": _binary(np.multiply),
    "nn.RNN.forward": rnn_forward,
    "nn.Linear.forward": linear_forward,
    "nn.functional.mse_loss": _loss(np.square),
    "nn.functional.l1_loss": _loss(np.abs),
    "nn.functional.softmax": _softmax(False),
    "nn.functional.log_softmax": _softmax(True),
}
