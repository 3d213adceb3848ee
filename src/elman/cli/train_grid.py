"""The shapes of ``elman bench --train``: the training grid, its parsing, and each shape's
FLOP/bandwidth bound for one training step against the machine's measured peak.

A training shape is an RNN stack (L steps, batch N, I inputs, H hidden, layers, uni- or
bidirectional, relu or tanh, a dense batch or a PackedSequence) with a head and a loss:

* ``last``: ``Linear(D·H, 1)`` on the last step (the final hidden state for packed input),
  MSE against one target per sequence (the adding problem's model);
* ``all``: ``Linear(D·H, I)`` on every step, MSE against a target per step (forecasting);
* ``lm``: an ``Embedding(V, I)`` in front and ``Linear(D·H, V)`` over the vocabulary on
  every step, cross-entropy against the next token (a character language model).

The issue's acceptance grid ("≥3× grid") is L ≥ 20 and N·H² ≤ 10⁷.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import UserError, os_reason

HEADS = ("last", "all", "lm")
DEFAULT_VOCAB = 96
GRID_NH2 = 10**7  # the "≥3× grid" of issue 20: L >= 20 and N·H² <= 10**7


@dataclasses.dataclass(frozen=True)
class TrainShape:
    """One training shape (see the module docstring)."""

    L: int
    N: int
    I: int  # noqa: E741 - torch's name for the input size
    H: int
    layers: int = 1
    bi: bool = False
    nonlinearity: str = "tanh"
    packed: bool = False
    head: str = "last"
    vocab: int = DEFAULT_VOCAB
    dtype: str = "float32"

    @property
    def D(self) -> int:
        return 2 if self.bi else 1

    @property
    def nh2(self) -> int:
        return self.N * self.H * self.H

    @property
    def in_3x_grid(self) -> bool:
        return self.L >= 20 and self.nh2 <= GRID_NH2

    @property
    def out_size(self) -> int:
        return {"last": 1, "all": self.I, "lm": self.vocab}[self.head]

    def label(self) -> str:
        extra = [self.nonlinearity]
        if self.bi:
            extra.insert(0, "bi")
        if self.packed:
            extra.append("packed")
        extra.append(f"lm={self.vocab}" if self.head == "lm" else self.head)
        extra.append("f64" if self.dtype == "float64" else "f32")
        return f"({self.L},{self.N},{self.I},{self.H},{self.layers}) " + " ".join(extra)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_train_shape(text: str, dtype: str = "") -> TrainShape:
    """``L,N,I,H,LAYERS[,bi][,relu|tanh][,packed][,last|all|lm[=V]][,f32|f64]``.

    Without f32/f64 the dtype is ``dtype`` ("" = not given: ``elman bench`` fills --dtype).
    """
    parts = [s.strip().lower() for s in text.split(",") if s.strip()]
    if len(parts) < 5:
        raise argparse.ArgumentTypeError(
            f"--train-shape wants L,N,I,H,LAYERS[,bi][,relu|tanh][,packed][,last|all|lm[=V]]"
            f"[,f32|f64], got {text!r}"
        )
    try:
        L, N, I, H, NL = (int(v) for v in parts[:5])  # noqa: E741
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--train-shape wants integers L,N,I,H,LAYERS first, got {text!r}"
        ) from None
    if min(L, N, I, H, NL) < 1:
        raise argparse.ArgumentTypeError(f"--train-shape wants positive sizes, got {text!r}")
    fields: dict[str, Any] = {"dtype": dtype}
    for word in parts[5:]:
        key, _, value = word.partition("=")
        if key in ("bi", "bidirectional"):
            fields["bi"] = True
        elif key in ("relu", "tanh"):
            fields["nonlinearity"] = key
        elif key == "packed":
            fields["packed"] = True
        elif key in ("last", "all"):
            fields["head"] = key
        elif key == "lm":
            fields["head"] = "lm"
            if value:
                if not value.isdigit() or int(value) < 2:
                    raise argparse.ArgumentTypeError(f"lm=V wants a vocabulary >= 2, got {word!r}")
                fields["vocab"] = int(value)
        elif key in ("f32", "float32", "f64", "float64"):
            fields["dtype"] = "float64" if "64" in key else "float32"
        else:
            raise argparse.ArgumentTypeError(
                f"--train-shape: unknown field {word!r} in {text!r} (bi, relu, tanh, packed, "
                "last, all, lm[=V], f32, f64)"
            )
    if fields.get("head") == "lm" and fields.get("packed"):
        raise argparse.ArgumentTypeError(f"--train-shape: lm runs dense batches, got {text!r}")
    return TrainShape(L, N, I, H, NL, **fields)


def _s(L: int, N: int, I: int, H: int, layers: int = 1, **kw: Any) -> TrainShape:  # noqa: E741
    return TrainShape(L, N, I, H, layers, **kw)


def _both(shapes: list[TrainShape]) -> list[TrainShape]:
    return [dataclasses.replace(s, dtype=d) for s in shapes for d in ("float32", "float64")]


# a few minutes on two cores: the anchors' shapes and one of each kind, f64 for four of them
_DEFAULT32 = [
    _s(100, 32, 2, 100, nonlinearity="relu"),  # the adding problem (IRNN recipe)
    _s(40, 32, 1, 32, head="all"),  # the sine task's size, a head on every step
    _s(200, 64, 8, 128, head="all"),
    _s(100, 32, 16, 128, 2),
    _s(100, 32, 16, 128, bi=True, packed=True),  # a packed bidirectional classifier
    _s(64, 32, 32, 256, head="lm"),  # a character language model
    _s(20, 128, 32, 256),
    _s(500, 8, 4, 64, nonlinearity="relu", head="all"),
    _s(100, 64, 32, 256, 2, head="all"),
    _s(100, 128, 64, 512),  # N·H² = 3.4e7: beyond the ≥3× grid
]
DEFAULT_GRID = _DEFAULT32 + [
    dataclasses.replace(_DEFAULT32[i], dtype="float64") for i in (0, 2, 4, 5)
]

_CENTRE = _s(100, 32, 16, 128)
FULL_GRID = _both(
    [_s(L, N, 16, H) for L, N, H in itertools.product((20, 100, 500), (8, 32, 256), (32, 128, 512))]
    + [
        dataclasses.replace(_CENTRE, **kw)
        for kw in (
            {"I": 1},
            {"I": 128},
            {"layers": 2},
            {"bi": True},
            {"nonlinearity": "relu"},
            {"packed": True},
            {"packed": True, "bi": True, "layers": 2},
            {"head": "all"},
            {"head": "all", "packed": True},
            {"head": "lm", "I": 32},
            {"head": "lm", "I": 32, "vocab": 256, "H": 256},
        )
    ]
    + [_s(100, 32, 2, 100, nonlinearity="relu"), _s(40, 32, 1, 32, head="all")]
)
GRIDS = {"default": DEFAULT_GRID, "full": FULL_GRID}


def verdict(entry: dict[str, Any]) -> str:
    """Issue 20's acceptance for one shape: 'met', 'met (bound)' or 'missed'."""
    if "ratio" not in entry:
        return "-"
    ratio = entry["ratio"]["step"]
    if not entry["in_3x_grid"]:
        return "met" if ratio >= 1.5 else "missed (1.5×)"
    if ratio >= 3:
        return "met"
    torch_s = statistics.median(entry["torch"]["step_s"])
    if torch_s / 3 < entry["bound"]["bound_s"]:  # 3× torch is faster than the machine allows
        elman_s = statistics.median(entry["elman"]["step_s"])
        return "met (bound)" if elman_s <= 1.5 * entry["bound"]["bound_s"] else "missed (bound)"
    return "missed (3×)"


# ---- the step's multiply-adds and bytes, and the machine's peak ----------------------------


def rows_of(shape: TrainShape) -> int:
    """Rows the recurrence computes: L·N dense; packed, the sum of the lengths (about half)."""
    return shape.L * shape.N if not shape.packed else (shape.L * shape.N + shape.N) // 2


def step_cost(shape: TrainShape, rows: int | None = None) -> dict[str, float]:
    """Multiply-adds and bytes of one training step (forward+backward, clip, Adam).

    Per layer and direction over R rows with input width I_l: forward R·(I_l·H + H²)
    (input projection, recurrence), backward R·(2H² + I_l·H) (dh through W_hh, dW_hh, dW_ih)
    plus R·I_l·H for dX when the layer's input needs a gradient (every layer but an input
    layer fed by data). Head: 3·rows·D·H·O (forward, dW, dX). Bytes, per row and
    layer-direction: the forward reads x, writes and re-reads the projection and writes h
    (3H + I_l); the backward reads dh and h, writes the pre-activation gradient and reads it
    for dW_ih and dX, reads x and writes dx (5H + 2·I_l); the head and loss read and write
    their rows three times; the parameters are read by forward and backward, their
    gradients written, then read twice and written once by clipping and read/written by
    Adam (p, g, m, v read, p, m, v written): 13 passes over P values. Element-wise work
    (activations, biases) is counted in bytes only.
    """
    R = rows_of(shape) if rows is None else rows
    H, D = shape.H, shape.D
    item = 8 if shape.dtype == "float64" else 4
    macs = 0.0
    elems = 0.0
    params = 0
    for layer in range(shape.layers):
        I_l = shape.I if layer == 0 else D * H
        needs_dx = layer > 0 or shape.head == "lm"
        macs += D * R * (3 * H * H + (3 if needs_dx else 2) * I_l * H)
        elems += D * R * (8 * H + 3 * I_l)
        params += D * (H * I_l + H * H + 2 * H)
    O = shape.out_size
    head_rows = shape.N if shape.head == "last" else R
    macs += 3 * head_rows * D * H * O
    elems += 3 * head_rows * (D * H + 2 * O)
    params += D * H * O + O
    if shape.head == "lm":
        elems += 2 * R * shape.I  # the embedding's gather and its gradient's scatter
        params += shape.vocab * shape.I
    elems += 13 * params
    return {"macs": macs, "bytes": elems * item, "params": params, "rows": R}


def step_bound(cost: dict[str, float], peak: dict[str, Any], dtype: str) -> dict[str, float]:
    """The step's time bound: max(2·MACs / peak FLOP/s, bytes / copy bandwidth)."""
    flop_s = 2 * cost["macs"] / (peak["gflops"][dtype] * 1e9)
    bytes_s = cost["bytes"] / (peak["bandwidth_gbs"] * 1e9)
    return {"flop_s": flop_s, "bytes_s": bytes_s, "bound_s": max(flop_s, bytes_s)}


def measure_peak(n: int = 2048, copy_mb: int = 256, repeat: int = 5) -> dict[str, Any]:
    """This machine's peak: a big GEMM per dtype (NumPy's BLAS, all its threads) and a large
    array copy (read + write counted), best of ``repeat``."""
    rng = np.random.default_rng(0)
    gflops = {}
    for dtype in ("float32", "float64"):
        a = rng.standard_normal((n, n)).astype(dtype)
        b = rng.standard_normal((n, n)).astype(dtype)
        c = np.empty((n, n), dtype)
        np.matmul(a, b, out=c)
        best = min(_timed(np.matmul, a, b, out=c) for _ in range(repeat))
        gflops[dtype] = 2 * n**3 / best / 1e9
    src = np.ones(copy_mb * 2**20 // 8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = min(_timed(np.copyto, dst, src) for _ in range(repeat))
    return {
        "gflops": gflops,
        "bandwidth_gbs": 2 * src.nbytes / best / 1e9,
        "how": f"best of {repeat}: ({n}x{n}) @ ({n}x{n}) np.matmul per dtype; "
        f"np.copyto of {copy_mb} MB (read + write counted)",
    }


def load_peak(path: Path) -> dict[str, Any]:
    """The ``peak`` of an earlier ``elman bench --train`` JSON."""
    try:
        peak = json.loads(path.read_text())["peak"]
        ok = all(peak["gflops"][d] > 0 for d in ("float32", "float64"))
        if not ok or not peak["bandwidth_gbs"] > 0:
            raise ValueError
    except OSError as exc:
        raise UserError(f"--peak-from {path}: {os_reason(exc)}") from None
    except (ValueError, KeyError, TypeError):
        raise UserError(
            f"--peak-from {path}: not the JSON of 'elman bench --train' (no positive "
            "peak.gflops.float32/float64 and peak.bandwidth_gbs)"
        ) from None
    return {**peak, "from": str(path)}


def _timed(fn: Any, *args: Any, **kwargs: Any) -> float:
    t = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t
