"""elman.onnx.export: graphs that onnxruntime runs at other batch sizes and lengths than
the traced ones, with elman's numbers; and clear errors for what cannot be exported."""

from __future__ import annotations

import ast
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import elman
import elman.nn as nn
import elman.nn.functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
eonnx = pytest.importorskip("elman.onnx")


def _run(model: Any, example: tuple, tests: list[tuple], **kw: Any) -> Any:
    """Export at ``example``; for each test input compare onnxruntime with elman."""
    buf = io.BytesIO()
    proto = eonnx.export(model, example, buf, **kw)
    onnx.checker.check_model(proto, full_check=True)
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    for args in tests:
        with elman.no_grad():
            want = model(*args)
        want = want if isinstance(want, tuple) else (want,)
        got = sess.run(None, {n: a.numpy() for n, a in zip(names, args, strict=True)})
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-5)
    return proto


SEED = Path(__file__).resolve().parents[2] / "examples" / "seeds" / "seed003_simple_rnn.py"


def _seed_simple_rnn() -> Any:
    """The SimpleRNN class of the ported seed notebook, its source as it stands there."""
    source = SEED.read_text(encoding="utf-8")
    node = next(
        n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "SimpleRNN"
    )
    namespace: dict[str, Any] = {"elman": elman, "nn": nn}
    exec(ast.get_source_segment(source, node), namespace)  # noqa: S102
    return namespace["SimpleRNN"]


def test_seed_simple_rnn_has_a_dynamic_batch() -> None:
    """Traced at the seed's own N = 1, T = 10; run at batch 1, 7 and 64 (and other T)."""
    elman.manual_seed(0)
    model = _seed_simple_rnn()(n_inputs=3, n_hidden=5, n_outputs=2).eval()
    tests = [(elman.randn(n, t, 3),) for n, t in ((1, 10), (7, 3), (64, 25))]
    proto = _run(model, (elman.randn(1, 10, 3),), tests)
    assert [n.op_type for n in proto.graph.node].count("RNN") == 1
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and dims[1].dim_param and dims[2].dim_value == 3
    # the zeros(1, X.size(0), M) of the forward is computed from the input's shape
    assert "ConstantOfShape" in {n.op_type for n in proto.graph.node}


def test_static_axes_when_dynamic_axes_given() -> None:
    elman.manual_seed(0)
    model = _seed_simple_rnn()(3, 5, 2).eval()
    proto = _run(
        model,
        (elman.randn(2, 10, 3),),
        [(elman.randn(4, 10, 3),)],
        input_names=["X"],
        dynamic_axes={"X": {0: "batch"}},
    )
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 10


W = np.linspace(-1, 1, 5 * 4).reshape(5, 4).astype(np.float32)

OPS = {
    "arith": lambda x: ((x * 2 + 1) / 3 - x).tanh() ** 2,
    "rsub_neg": lambda x: -(1.0 - x).sigmoid(),
    "unary": lambda x: x.relu().exp().log() + x.abs().sqrt(),
    "sum_mean": lambda x: x.sum(1) + x.mean(-1, keepdim=True).sum(1),
    "sum_all": lambda x: x.sum() * x.mean(),
    "max_dim": lambda x: x.max(1).values + x.max(2, keepdim=True).indices.sum(1).float(),
    "max_all": lambda x: x.max() + x,
    "maximum": lambda x: elman.maximum(x, x * 0.5),
    "permute": lambda x: x.permute(2, 0, 1).transpose(1, 2),
    "reshape_sizes": lambda x: x.reshape(x.size(0), -1),
    "view_minus1": lambda x: x.view(-1, 5),
    "flatten": lambda x: x.flatten(1),
    "unsqueeze_squeeze": lambda x: x.unsqueeze(1).squeeze(1).unsqueeze(-1),
    "slices": lambda x: x[:, 1:, 2:4] + x[:, :-1, ::2][..., :2],
    "last_step": lambda x: x[:, -1],
    "first_of_batch": lambda x: x[0] * 1.0,
    "none_index": lambda x: x[:, None, -1],
    "cat_stack": lambda x: elman.cat([x, x * 2], 2).sum(2) + elman.stack([x, x], 3).sum((2, 3)),
    "matmul_const": lambda x: x @ elman.from_numpy(W),
    "softmax": lambda x: F.softmax(x, dim=-1) + F.log_softmax(x, dim=1),
    "expand": lambda x: x[:, :1].expand(-1, x.size(1), -1),
    "zeros_like": lambda x: elman.zeros_like(x) + elman.ones_like(x) + x,
    "zeros_sizes": lambda x: elman.zeros(x.size(0), 1, 5) + x,
    "compare_long": lambda x: (x > 0).long() + (x <= 0.5).long() * 2 + x.argmax(2, keepdim=True),
    "detach": lambda x: x.detach() * 3,
    "inplace": lambda x: _iadd(x),
    "losses": lambda x: F.mse_loss(x, x * 0.5) + F.l1_loss(x, x.tanh(), reduction="sum"),
}


def _iadd(x: Any) -> Any:
    y = x * 1.0
    y += 1.0
    y *= 2.0
    return y


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_runs_in_onnxruntime_at_other_sizes(name: str) -> None:
    fn = OPS[name]
    g = np.random.default_rng(0)
    make = lambda n, t: elman.from_numpy(g.standard_normal((n, t, 5)).astype(np.float32))  # noqa: E731
    _run(fn, (make(3, 4),), [(make(6, 7),), (make(1, 2),)])


def test_embedding_rnncell_and_linear() -> None:
    elman.manual_seed(1)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.cell = nn.RNNCell(4, 6, nonlinearity="relu")
            self.fc = nn.Linear(6, 2, bias=False)

        def forward(self, tokens: Any) -> Any:
            e = self.emb(tokens)  # (N, 4)
            h = self.cell(e)
            return self.fc(self.cell(e, h))

    model = Net().eval()
    g = np.random.default_rng(1)
    make = lambda n: elman.from_numpy(g.integers(0, 10, n))  # noqa: E731
    _run(model, (make(3),), [(make(8),), (make(1),)])


def test_rnn_node_per_layer_and_no_dropout_in_eval() -> None:
    elman.manual_seed(2)
    rnn = nn.RNN(3, 4, num_layers=3, dropout=0.5, bidirectional=True).eval()
    x = elman.randn(5, 2, 3)
    h0 = elman.randn(6, 2, 4)
    proto = _run(rnn, (x, h0), [(elman.randn(9, 4, 3), elman.randn(6, 4, 4))])
    rnns = [n for n in proto.graph.node if n.op_type == "RNN"]
    assert len(rnns) == 3
    assert all(a.s == b"bidirectional" for n in rnns for a in n.attribute if a.name == "direction")


def test_unbatched_rnn() -> None:
    elman.manual_seed(3)
    rnn = nn.RNN(2, 3, 2, nonlinearity="relu").eval()
    _run(rnn, (elman.randn(4, 2),), [(elman.randn(7, 2),)])


# ---- errors -------------------------------------------------------------------------------


def test_training_mode_dropout_is_refused() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.2))
    with pytest.raises(eonnx.ExportError, match=r"Dropout\(p=0.2\) in training mode"):
        eonnx.export(model, elman.randn(2, 3))
    eonnx.export(model.eval(), elman.randn(2, 3))  # eval: fine


def test_training_mode_rnn_dropout_is_refused() -> None:
    rnn = nn.RNN(3, 4, num_layers=2, dropout=0.3)
    with pytest.raises(eonnx.ExportError, match=r"RNN\(dropout=0.3\) in training mode"):
        eonnx.export(rnn, elman.randn(5, 2, 3))


def test_functional_dropout_in_training_is_refused() -> None:
    with pytest.raises(eonnx.ExportError, match="would be frozen"):
        eonnx.export(lambda x: F.dropout(x, 0.5, training=True), elman.randn(4, 3))


def test_unsupported_op_is_named_with_its_call_site() -> None:
    class Square(elman.autograd.Function):
        @staticmethod
        def forward(ctx: Any, a: Any) -> Any:
            return a * a

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g

    def fn(x: Any) -> Any:
        return Square.apply(x) + 1

    with pytest.raises(eonnx.ExportError, match=r"the op Square .*test_onnx_export.py:\d+ in fn"):
        eonnx.export(fn, elman.randn(2, 3))
    with pytest.raises(eonnx.ExportError, match="no label smoothing"):
        eonnx.export(
            lambda x: F.cross_entropy(x, x.argmax(1), label_smoothing=0.1), elman.randn(2, 3)
        )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy(reduction: str) -> None:
    w = elman.tensor([0.5, 1.0, 2.0, 1.5, 1.0])

    def fn(x: Any, t: Any) -> Any:
        a = F.cross_entropy(x[:, :, 0], t, reduction=reduction)  # (N, C)
        b = F.cross_entropy(x, t[:, None].expand(-1, x.size(2)), weight=w[:4], reduction=reduction)
        c = F.cross_entropy(x[0, :, 0], t[0], reduction=reduction, ignore_index=3)
        return a, b, c

    g = np.random.default_rng(0)

    def make(n: int, d: int) -> tuple:
        x = elman.from_numpy(g.standard_normal((n, 4, d)).astype(np.float32))
        return x, elman.from_numpy(g.integers(0, 4, n))

    _run(fn, make(3, 2), [make(5, 2), make(1, 2)])  # (the last axis is static by default)
    x, t = make(6, 2)
    buf = io.BytesIO()
    eonnx.export(fn, make(3, 2), buf)
    for got, want in zip(eonnx.load(buf.getvalue())(x, t), fn(x, t), strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


def test_reading_values_into_python_is_refused() -> None:
    def fn(x: Any) -> Any:
        return x * 2 if x.sum().item() > 0 else x

    with pytest.raises(eonnx.ExportError, match=r"Tensor.item\(\) reads a traced tensor"):
        eonnx.export(fn, elman.randn(2, 3))


def test_opset_range() -> None:
    with pytest.raises(ValueError, match="opset_version must be in"):
        eonnx.export(lambda x: x + 1, elman.randn(2), opset_version=9)
    for opset in (14, 18, 22):
        _run(lambda x: x.mean(1), (elman.randn(2, 3),), [(elman.randn(4, 3),)], opset_version=opset)


def test_import_elman_does_not_import_onnx() -> None:
    import subprocess
    import sys

    code = "import sys, elman; print('onnx' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "False"


def test_other_threads_are_not_recorded() -> None:
    """A thread using elman while a model is traced runs as usual and leaves the graph alone."""
    import threading

    rnn = nn.RNN(2, 3).eval()
    seen: list[Any] = []
    started, go_on = threading.Event(), threading.Event()

    def other() -> None:
        started.set()
        go_on.wait(30)
        out, _ = rnn(elman.randn(4, 2, 2))  # a module call and ops, during the trace
        seen.append(float((out * 2).sum().item()))

    worker = threading.Thread(target=other)
    worker.start()
    started.wait(30)

    def fn(x: Any) -> Any:
        go_on.set()
        worker.join(30)
        return x + 1

    proto = eonnx.export(fn, elman.randn(2, 3))
    assert len(seen) == 1
    assert [n.op_type for n in proto.graph.node] == ["Add", "Identity"]


def test_output_computed_outside_the_ops_is_refused() -> None:
    def fn(x: Any) -> Any:
        return elman.tensor(x) * 2  # a copy: the trace cannot follow it

    with pytest.raises(eonnx.ExportError, match="output 0 does not depend on the inputs"):
        eonnx.export(fn, elman.randn(2, 3))


def test_doctests() -> None:
    import doctest
    import importlib

    for name in ("elman.onnx.export", "elman.onnx._importer"):
        mod = importlib.import_module(name)  # (the package's `export` is the function)
        failed, attempted = doctest.testmod(mod, raise_on_error=False, verbose=False)
        assert attempted and not failed, mod.__name__
