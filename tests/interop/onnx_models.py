"""Random elman models for the ONNX tests and campaign: every RNN constructor option,
heads on all steps and on the last step, Embedding front ends, ``lengths=`` and packed
input, with and without h0, float32 and float64.

``spec(rng)`` draws a description (a dict, printable, JSON-able); ``build(spec)`` makes the
model (eval mode) and ``inputs(spec, N, T, rng)`` a batch for it as ``(args, feeds)``:
``args`` for the elman call/export, ``feeds`` the same arrays by ONNX input name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import elman
import elman.nn as nn
from elman.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

KINDS = ("rnn", "head_all", "head_last", "embed", "lengths", "packed", "cell")


def spec(rng: np.random.Generator, kind: str | None = None) -> dict[str, Any]:
    kind = kind or str(rng.choice(KINDS))
    L = int(rng.integers(1, 4))
    return {
        "kind": kind,
        "I": int(rng.integers(1, 6)),
        "H": int(rng.integers(1, 9)),
        "K": int(rng.integers(1, 4)),
        "V": int(rng.integers(5, 12)),
        "num_layers": L,
        "nonlinearity": str(rng.choice(["tanh", "relu"])),
        "bias": bool(rng.random() < 0.8),
        "batch_first": bool(rng.random() < 0.5),
        "bidirectional": bool(rng.random() < 0.5),
        "dropout": 0.3 if L > 1 and rng.random() < 0.3 else 0.0,
        "dtype": "float64" if rng.random() < 0.3 else "float32",
        "h0": str(rng.choice(["none", "input", "zeros"])),
        "seed": int(rng.integers(0, 2**31)),
    }


class Net(nn.Module):
    """One RNN with an optional Embedding in front and Linear head behind."""

    def __init__(self, s: dict[str, Any]) -> None:
        super().__init__()
        self.s = s
        dt = getattr(elman, s["dtype"])
        I = s["I"]
        if s["kind"] == "embed":
            self.emb = nn.Embedding(s["V"], I, dtype=dt)
        if s["kind"] == "cell":
            self.cell = nn.RNNCell(I, s["H"], s["bias"], s["nonlinearity"], dtype=dt)
        else:
            self.rnn = nn.RNN(
                I,
                s["H"],
                s["num_layers"],
                s["nonlinearity"],
                s["bias"],
                s["batch_first"],
                s["dropout"],
                s["bidirectional"],
                dtype=dt,
            )
        D = 2 if s["bidirectional"] else 1
        self.fc = nn.Linear(D * s["H"] if s["kind"] != "cell" else s["H"], s["K"], dtype=dt)

    def _h0(self, x: Any, h0: Any) -> Any:
        s = self.s
        if s["h0"] != "zeros":
            return h0
        D = 2 if s["bidirectional"] else 1
        batch = x.size(0) if s["batch_first"] else x.size(1)
        return elman.zeros(D * s["num_layers"], batch, s["H"], dtype=x.dtype)

    def forward(self, x: Any, h0: Any = None, lengths: Any = None) -> Any:
        s = self.s
        kind = s["kind"]
        if kind == "cell":  # a hand-written loop over time (unrolled at the traced length)
            h = h0 if s["h0"] == "input" else None
            outs = []
            for t in range(x.size(1)):
                h = self.cell(x[:, t], h)
                outs.append(h)
            return self.fc(elman.stack(outs, dim=1)), h
        if kind == "embed":
            x = self.emb(x)
        h0 = self._h0(x, h0)
        if kind == "lengths":
            out, h_n = self.rnn(x, h0, lengths=lengths)
            return self.fc(out), h_n
        if kind == "packed":
            packed = pack_padded_sequence(
                x, lengths, batch_first=s["batch_first"], enforce_sorted=False
            )
            out, h_n = self.rnn(packed, h0)
            padded, lens = pad_packed_sequence(out, batch_first=s["batch_first"])
            return self.fc(padded), h_n, lens
        out, h_n = self.rnn(x, h0)
        if kind == "rnn":
            return out, h_n
        if kind == "head_last":
            last = out[:, -1] if s["batch_first"] else out[-1]
            return self.fc(last).relu(), h_n
        return self.fc(out).tanh() * 2.0 - 1.0


def build(s: dict[str, Any]) -> Net:
    elman.manual_seed(s["seed"])
    return Net(s).eval()


def inputs(s: dict[str, Any], N: int, T: int, rng: np.random.Generator) -> tuple[Any, dict]:
    """``(args, feeds)``: the call's arguments (a tuple ending in a keyword dict) and the
    ONNX feeds by input name."""
    dt = np.dtype(s["dtype"])
    bf = s["batch_first"] or s["kind"] == "cell"
    shape = (N, T) if bf else (T, N)
    if s["kind"] == "embed":
        x = rng.integers(0, s["V"], size=shape).astype(np.int64)
    else:
        x = rng.standard_normal((*shape, s["I"])).astype(dt)
    _names, args = ["x"], [elman.from_numpy(x)]
    kw: dict[str, Any] = {}
    if s["h0"] == "input":
        D = 2 if s["bidirectional"] else 1
        layers = 1 if s["kind"] == "cell" else s["num_layers"]
        hshape = (N, s["H"]) if s["kind"] == "cell" else (D * layers, N, s["H"])
        kw["h0"] = elman.from_numpy(rng.standard_normal(hshape).astype(dt))
    if s["kind"] in ("lengths", "packed"):
        lens = rng.integers(1, T + 1, size=N).astype(np.int64)
        lens[rng.integers(0, N)] = T  # the longest fills the padded length
        kw["lengths"] = elman.from_numpy(lens)
    feeds = {"x": x, **{k: v.numpy() for k, v in kw.items()}}
    return (*args, kw), feeds


def input_names(s: dict[str, Any]) -> list[str]:
    names = ["x"]
    if s["h0"] == "input":
        names.append("h0")
    if s["kind"] in ("lengths", "packed"):
        names.append("lengths")
    return names


def scale(arrays: list[np.ndarray]) -> float:
    return max([1.0] + [float(np.max(np.abs(a))) for a in arrays if a.size])


def outputs_of(result: Any) -> list[np.ndarray]:
    items = result if isinstance(result, tuple) else (result,)
    return [t.detach().numpy() for t in items]


def check(s: dict[str, Any], rng: np.random.Generator, runtimes: tuple[str, ...]) -> dict:
    """Export ``s`` traced at one (N, T), run it at another in each runtime, and compare
    with elman. Returns the worst error relative to the outputs' scale per runtime and the
    count of RNN nodes."""
    import io

    import onnx

    import elman.onnx

    model = build(s)
    N0, T0 = int(rng.integers(2, 5)), int(rng.integers(2, 6))
    args, _ = inputs(s, N0, T0, rng)
    buf = io.BytesIO()
    proto = elman.onnx.export(model, args, buf, input_names=input_names(s))
    onnx.checker.check_model(proto, full_check=True)
    n_rnn = sum(1 for n in proto.graph.node if n.op_type == "RNN")
    N1 = N0 + int(rng.integers(1, 5))
    T1 = T0 if s["kind"] == "cell" else T0 + int(rng.integers(1, 6))
    args, feeds = inputs(s, N1, T1, rng)
    pos, kw = args[:-1], args[-1]
    want = outputs_of(model(*pos, **kw))
    sc = scale(want)
    errs = {}
    for runtime in runtimes:
        if runtime == "reference":  # onnx's own evaluator: Tanh only, no sequence_lens
            from onnx.reference import ReferenceEvaluator

            got = ReferenceEvaluator(proto).run(None, feeds)
        elif runtime == "onnxruntime":
            import onnxruntime as ort

            sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
            got = sess.run(None, feeds)
        else:
            loaded = elman.onnx.load(io.BytesIO(buf.getvalue()))
            got = outputs_of(loaded(*pos, **kw))
        assert len(got) == len(want)
        worst = 0.0
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape, (runtime, g.shape, w.shape)
            if w.dtype.kind == "f":
                worst = max(
                    worst, float(np.max(np.abs(g.astype(np.float64) - w))) if w.size else 0.0
                )
            else:
                assert np.array_equal(g, w)
        errs[runtime] = worst / sc
    return {"rnn_nodes": n_rnn, "errors": errs, "N": (N0, N1), "T": (T0, T1)}


def tolerance(s: dict[str, Any]) -> float:
    """The issue's bounds: float32 1e-5 x scale, float64 1e-10 x scale."""
    return 1e-10 if s["dtype"] == "float64" else 1e-5


def runtimes_for(s: dict[str, Any]) -> tuple[str, ...]:
    """onnxruntime for float32 (it has no float64 RNN kernel); onnx's ReferenceEvaluator
    where it applies (Tanh, no lengths); elman.onnx.load always."""
    out = ["elman"] if s["dtype"] == "float64" else ["onnxruntime", "elman"]
    if s["nonlinearity"] == "tanh" and s["kind"] not in ("lengths", "packed"):
        out.append("reference")
    return tuple(out)
