"""Fuzz targets: ``elman.nn.utils.rnn`` (packing and padding) and RNNs on packed input."""

from __future__ import annotations

from typing import Any

import numpy as np
from fuzz_core import DT, Arr, Lib
from fuzz_targets_nn import rnn_config
from fuzz_targets_tensor import call
from fuzz_values import (
    HUGE_INTS,
    INF,
    JUNK,
    NAN,
    NP_INTS,
    any_arrays,
    arrays,
    bool_arg,
    float_arg,
    float_arrays,
    int_arg,
    shapes,
    weighted,
)
from fuzz_verdict import Target
from hypothesis import strategies as st


@st.composite
def lengths_for(draw: Any, batch: int, total: int) -> Any:
    """Valid lengths (any order) most of the time; else the ways lengths go wrong."""
    good = [draw(st.integers(1, total)) for _ in range(batch)] if total else [0] * batch
    kind = draw(st.integers(0, 12))
    if kind == 1 and good:
        good[0] = draw(st.sampled_from([0, -1, total + 1] + HUGE_INTS))
    elif kind == 2:
        good = good[:-1] if good else [1]
    elif kind == 3:
        good = good + [1]
    elif kind == 4:
        return Arr(np.array(good, dtype=np.float64) + 0.5)
    elif kind == 5:
        return Arr(np.array([good, good], dtype=np.int64))
    elif kind == 6:
        return draw(st.sampled_from([None, "3", 3, [NAN], [INF], [[1]], np.int64(2)]))
    elif kind == 7:
        return [np.int64(n) for n in good]
    form = draw(st.sampled_from(["list", "list", "tensor", "ndarray", "tuple"]))
    if any(not -(2**63) <= n < 2**63 for n in good):
        form = "list"  # (no int64 array holds it)
    if form == "tensor":
        return Arr(np.array(good, dtype=np.int64))
    if form == "ndarray":
        return Arr(np.array(good, dtype=np.int64), form="ndarray")
    return tuple(good) if form == "tuple" else good


@st.composite
def padded_case(draw: Any) -> Any:
    T, N = draw(st.integers(0, 4)), draw(st.integers(0, 3))
    feat = draw(shapes(0, 2))
    batch_first = draw(bool_arg())
    shape = (N, T, *feat) if batch_first is True else (T, N, *feat)
    if draw(st.integers(0, 8)) == 0:
        shape = draw(shapes(0, 2))
    x = draw(float_arrays(shape, forms=("tensor",) * 6 + ("ndarray", "list")))
    lengths = draw(lengths_for(N, T))
    kw = draw(st.fixed_dictionaries({}, optional={"enforce_sorted": bool_arg()}))
    return x, lengths, batch_first, kw


def _pack(L: Lib, a: Any) -> Any:
    x, lengths, batch_first, kw = a
    return L.mod.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=batch_first, **kw)


def _pad_packed(L: Lib, a: Any) -> Any:
    x, lengths, batch_first, kw, pad_kw = a
    packed = L.mod.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first, False)
    return L.mod.nn.utils.rnn.pad_packed_sequence(packed, **pad_kw)


@st.composite
def seqs(draw: Any, equal_trailing: bool = False) -> Any:
    n = draw(st.integers(0, 4))
    trailing = draw(shapes(0, 2))
    dt = draw(st.sampled_from(["float32", "float64"]))
    out = []
    for _ in range(n):
        tr = trailing if equal_trailing or draw(st.integers(0, 4)) else draw(shapes(0, 2))
        length = draw(weighted((8, st.integers(1, 4)), (1, st.just(0))))
        if draw(st.integers(0, 12)) == 0:
            out.append(draw(weighted((3, arrays(())), (1, JUNK))))
            continue
        out.append(draw(arrays((length, *tr), st.sampled_from([dt, dt, dt, "int64"]))))
    return out


def _unpad(L: Lib, a: Any) -> Any:
    (x, lengths, batch_first), _ = a
    x = x.clone() if hasattr(x, "clone") else x  # torch's unpad transposes its input in place
    return L.mod.nn.utils.rnn.unpad_sequence(x, lengths, batch_first=batch_first)


@st.composite
def unpad_case(draw: Any) -> Any:
    T, N = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    batch_first = draw(st.booleans())
    x = draw(float_arrays((N, T, 2) if batch_first else (T, N, 2)))
    return (x, draw(lengths_for(N, T)), batch_first), {}


def _pack_sequence(L: Lib, a: Any) -> Any:
    (sequences,), kw = a
    return L.mod.nn.utils.rnn.pack_sequence(sequences, **kw)


def _unpack_sequence(L: Lib, a: Any) -> Any:
    (sequences,), kw = a
    packed = L.mod.nn.utils.rnn.pack_sequence(sequences, enforce_sorted=False)
    return L.mod.nn.utils.rnn.unpack_sequence(packed)


def _invert(L: Lib, a: Any) -> Any:
    (perm,), _ = a
    return L.mod.nn.utils.rnn.invert_permutation(perm)


PERMS = weighted(
    (
        5,
        st.integers(0, 5)
        .flatmap(lambda n: st.permutations(range(n)))
        .map(lambda p: Arr(np.array(p, dtype=np.int64))),
    ),
    (
        2,
        st.sampled_from(
            [
                Arr(np.array([0, 0])),
                Arr(np.array([1, 2])),
                Arr(np.array([[0]])),
                Arr(np.array([-1, 0])),
                Arr(np.array([0.0, 1.0])),
                None,
            ]
        ),
    ),
)


@st.composite
def packed_rnn_case(draw: Any) -> Any:
    cfg = draw(rnn_config())
    D = 2 if cfg["bidirectional"] else 1
    T, N = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    feat = cfg["input_size"] + (1 if draw(st.integers(0, 10)) == 0 else 0)
    dt = cfg["dtype"].name if draw(st.integers(0, 10)) else "float64"
    x = draw(arrays((T, N, feat), dt))
    lengths = [draw(st.integers(1, T)) for _ in range(N)]
    h = None
    if draw(st.booleans()):
        hN = N + (1 if draw(st.integers(0, 8)) == 0 else 0)
        h = draw(arrays((cfg["num_layers"] * D, hN, cfg["hidden_size"]), cfg["dtype"].name))
    cfg["batch_first"] = False
    how = draw(st.sampled_from(["packed", "packed", "lengths"]))
    return cfg, x, lengths, h, draw(st.booleans()), how


def _packed_rnn(L: Lib, a: Any) -> Any:
    """pack -> RNN -> pad; elman's ``forward(x, lengths=)`` is compared with torch's
    pack -> RNN -> pad."""
    cfg, x, lengths, h, training, how = a
    rnn = L.mod.nn.RNN(**cfg)
    rnn.train(training)
    L.leaves.extend(rnn.parameters())
    T = x.shape[0]
    if how == "lengths" and L.name == "elman":
        return rnn(x, h, lengths=lengths)
    packed = L.mod.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
    out, hn = rnn(packed, h)
    padded, _ = L.mod.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    return padded, hn


@st.composite
def hand_packed_case(draw: Any) -> Any:
    cfg = draw(rnn_config())
    cfg["batch_first"] = False
    bs = draw(st.lists(st.integers(0, 3), min_size=0, max_size=4))
    rows = sum(bs) + draw(st.sampled_from([0, 0, 0, 1, -1]))
    data = draw(arrays((max(rows, 0), cfg["input_size"]), cfg["dtype"].name))
    n = bs[0] if bs else 0
    srt = draw(
        st.none()
        | st.permutations(range(n)).map(lambda p: Arr(np.array(p, np.int64)))
        | st.just(Arr(np.zeros(n, np.int64)))
    )
    return cfg, data, Arr(np.array(bs, dtype=np.int64)), srt


def _hand_packed(L: Lib, a: Any) -> Any:
    cfg, data, bs, srt = a
    rnn = L.mod.nn.RNN(**cfg)
    packed = L.mod.nn.utils.rnn.PackedSequence(data, bs, srt)
    out, hn = rnn(packed)
    return out.data, hn


TARGETS = [
    Target("nn.utils.rnn.pack_padded_sequence", padded_case(), _pack),
    Target(
        "nn.utils.rnn.pad_packed_sequence",
        padded_case().flatmap(
            lambda c: st.fixed_dictionaries(
                {},
                optional={
                    "batch_first": bool_arg(),
                    "padding_value": float_arg(-1, 1),
                    "total_length": int_arg(0, 6),
                },
            ).map(lambda kw: (*c[:3], {}, kw))
        ),
        _pad_packed,
    ),
    Target(
        "nn.utils.rnn.pad_sequence",
        call(
            weighted((6, seqs()), (1, JUNK), (1, any_arrays(shapes(1, 3)))),
            batch_first=bool_arg(),
            padding_value=float_arg(-1, 1),
            padding_side=weighted(
                (5, st.sampled_from(["right", "left"])), (1, st.sampled_from(["top", None, 1]))
            ),
        ),
        lambda L, a: L.mod.nn.utils.rnn.pad_sequence(*a[0], **a[1]),
    ),
    Target("nn.utils.rnn.unpad_sequence", unpad_case(), _unpad),
    Target(
        "nn.utils.rnn.pack_sequence",
        call(seqs(equal_trailing=True), enforce_sorted=bool_arg()),
        _pack_sequence,
    ),
    Target("nn.utils.rnn.unpack_sequence", call(seqs(equal_trailing=True)), _unpack_sequence),
    Target("nn.utils.rnn.invert_permutation", call(PERMS), _invert),
    Target("nn.RNN.forward(packed)", packed_rnn_case(), _packed_rnn),
    Target("nn.utils.rnn.PackedSequence", hand_packed_case(), _hand_packed),
]

_ = (DT, NP_INTS)  # (spelled in repr'd cases)
