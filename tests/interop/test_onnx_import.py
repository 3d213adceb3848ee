"""elman.onnx.load: torch's legacy-exporter files (golden files without torch, fresh ones
with it) give torch's outputs; exported elman models re-import and fine-tune like the
original; malformed files give clear errors."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import elman
import elman.nn as nn

onnx = pytest.importorskip("onnx")
eonnx = pytest.importorskip("elman.onnx")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLDEN = FIXTURES / "onnx"


def _maker() -> Any:
    spec = importlib.util.spec_from_file_location("make_onnx", FIXTURES / "make_onnx_fixtures.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


CASES = ("rnn_head", "embed_relu", "packed")


def _compare(model: Any, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
    got = model(*[elman.from_numpy(a) for a in inputs])
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(outputs)
    for g, w in zip(got, outputs, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), w, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("case", CASES)
def test_torch_legacy_golden_files_import(case: str) -> None:
    z = np.load(GOLDEN / "torch_golden.npz")
    inputs = [z[k] for k in sorted(z.files) if k.startswith(f"{case}/in")]
    outputs = [z[k] for k in sorted(z.files) if k.startswith(f"{case}/out")]
    model = eonnx.load(GOLDEN / f"torch_{case}.onnx")
    _compare(model, inputs, outputs)
    rnns = [m for m in model.modules() if isinstance(m, nn.RNN)]
    assert rnns and all("weight_ih_l0" in dict(m.named_parameters()) for m in rnns)


@pytest.mark.parametrize("case", CASES)
def test_torch_legacy_live(case: str, torch_or_skip: Any, tmp_path: Path) -> None:
    path = tmp_path / f"{case}.onnx"
    inputs, outputs = _maker().export(torch_or_skip, case, path)
    _compare(eonnx.load(path), inputs, outputs)


def _net(dtype: Any) -> Any:
    elman.manual_seed(5)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.RNN(3, 6, 2, batch_first=True, bidirectional=True, dtype=dtype)
            self.fc = nn.Linear(12, 1, dtype=dtype)

        def forward(self, x: Any) -> Any:
            out, _ = self.rnn(x)
            return self.fc(out[:, -1])

    return Net()


def test_imported_model_fine_tunes_like_the_original() -> None:
    _fine_tune()


def _fine_tune() -> Any:
    """20 SGD steps on the imported model equal 20 steps on the elman model (float64);
    returns (the tuned import, the .onnx bytes, an input)."""
    original = _net(elman.float64)
    buf = io.BytesIO()
    eonnx.export(original.eval(), elman.randn(2, 4, 3, dtype=elman.float64), buf)
    imported = eonnx.load(buf.getvalue())
    assert {n for n, _ in imported.named_parameters()} >= {"fc.weight", "fc.bias"}
    g = np.random.default_rng(0)
    data = [(g.standard_normal((4, 6, 3)), g.standard_normal((4, 1))) for _ in range(20)]
    losses = {}
    for name, model in (("original", original), ("imported", imported)):
        model.train()
        opt = elman.optim.SGD(model.parameters(), lr=0.05)
        seen = []
        for x, y in data:
            opt.zero_grad()
            loss = ((model(elman.from_numpy(x)) - elman.from_numpy(y)) ** 2).mean()
            loss.backward()
            opt.step()
            seen.append(loss.item())
        losses[name] = seen
    np.testing.assert_allclose(losses["imported"], losses["original"], rtol=1e-10, atol=1e-12)
    assert losses["original"][-1] < losses["original"][0]
    x = elman.from_numpy(g.standard_normal((3, 5, 3)))
    np.testing.assert_allclose(
        imported(x).detach().numpy(), original(x).detach().numpy(), rtol=1e-10, atol=1e-12
    )
    return imported, buf.getvalue(), x


def test_fine_tuned_import_saves_as_an_elman_checkpoint(tmp_path: Path) -> None:
    from elman.io import load_checkpoint, save_checkpoint

    tuned, onnx_bytes, x = _fine_tune()
    save_checkpoint(tmp_path / "ckpt", model=tuned)
    fresh = eonnx.load(onnx_bytes)  # the exported (untrained) weights
    assert not np.array_equal(fresh(x).detach().numpy(), tuned(x).detach().numpy())
    load_checkpoint(tmp_path / "ckpt", model=fresh, restore_rng=False)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), tuned(x).detach().numpy())


# ---- malformed files ------------------------------------------------------------------------


def _exported() -> bytes:
    buf = io.BytesIO()
    eonnx.export(_net(elman.float32).eval(), elman.randn(2, 4, 3), buf)
    return buf.getvalue()


def test_truncated_file() -> None:
    data = _exported()
    with pytest.raises(ValueError, match="truncated or corrupt"):
        eonnx.load(data[: len(data) // 2])


def test_not_onnx_at_all(tmp_path: Path) -> None:
    p = tmp_path / "x.onnx"
    p.write_bytes(b"\x00\x01 definitely not a protobuf \xff" * 3)
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        eonnx.load(p)


def test_wrong_initializer_shape() -> None:
    from onnx import numpy_helper

    m = onnx.load_from_string(_exported())
    for t in m.graph.initializer:
        if t.name == "rnn.R_l0":  # (2, 6, 6) -> (2, 6, 5)
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t)[:, :, :5], t.name))
    with pytest.raises(
        ValueError, match=r"R 'rnn.R_l0' has shape \[2, 6, 5\], expected \[2, 6, 6\]"
    ):
        eonnx.load(m)


def test_unknown_opset() -> None:
    m = onnx.load_from_string(_exported())
    m.opset_import[0].version = 99
    with pytest.raises(ValueError, match="opset 99 is not supported"):
        eonnx.load(m)


def test_unsupported_op_is_listed() -> None:
    from onnx import helper

    m = onnx.load_from_string(_exported())
    out = m.graph.output[0].name
    m.graph.node.append(helper.make_node("Celu", [out], ["celu_out"]))
    m.graph.node.append(helper.make_node("Erf", ["celu_out"], ["erf_out"]))
    m.graph.output[0].name = "erf_out"
    with pytest.raises(NotImplementedError, match=r"does not support the ONNX op\(s\) Celu, Erf"):
        eonnx.load(m)


def test_rnn_attributes_elman_cannot_run() -> None:
    m = onnx.load_from_string(_exported())
    node = next(n for n in m.graph.node if n.op_type == "RNN")
    node.attribute.append(onnx.helper.make_attribute("clip", 3.0))
    with pytest.raises(NotImplementedError, match="attribute clip is not supported"):
        eonnx.load(m)


@pytest.mark.parametrize("index", range(8))
def test_torch_legacy_random_rnns(index: int, torch_or_skip: Any, tmp_path: Path) -> None:
    """torch RNNs with random constructor options (and h0 or not), exported by torch's
    legacy exporter at one (N, T), import and give torch's outputs at another."""
    import warnings

    torch = torch_or_skip
    g = np.random.default_rng(index)
    L, bidir, bf = int(g.integers(1, 4)), bool(g.random() < 0.5), bool(g.random() < 0.5)
    D = 2 if bidir else 1
    torch.manual_seed(index)
    rnn = torch.nn.RNN(
        3, 4, L, nonlinearity=str(g.choice(["tanh", "relu"])), bias=bool(g.random() < 0.7),
        batch_first=bf, bidirectional=bidir,
    ).eval()  # fmt: skip
    with_h0 = bool(g.random() < 0.5)

    def make(N: int, T: int) -> tuple:
        x = torch.randn(*((N, T) if bf else (T, N)), 3)
        return (x, torch.randn(L * D, N, 4)) if with_h0 else (x,)

    names = ["x", "h0"][: 1 + with_h0]
    axes = {"x": {0: "a", 1: "b"}, "h0": {1: "n"}}
    path = tmp_path / "rnn.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            rnn, make(2, 3), str(path), dynamo=False, input_names=names,
            dynamic_axes={k: v for k, v in axes.items() if k in names},
        )  # fmt: skip
    args = make(5, 7)
    with torch.no_grad():
        want = [t.numpy() for t in rnn(*args)]
    model = eonnx.load(path)
    assert sum(isinstance(m, nn.RNN) for m in model.modules()) == L
    _compare(model, [a.numpy() for a in args], want)


def _rnn_model(direction: str, act: str, lengths: bool, h0: bool, layout: int = 0) -> Any:
    """A graph of one hand-built ONNX RNN node (as another framework would write it)."""
    from onnx import TensorProto, helper, numpy_helper

    g = np.random.default_rng(len(direction) + len(act) + 2 * lengths + 4 * h0)
    D, H, I = (2 if direction == "bidirectional" else 1), 3, 2
    W = g.standard_normal((D, H, I)).astype(np.float32)
    R = (0.5 * g.standard_normal((D, H, H))).astype(np.float32)
    B = g.standard_normal((D, 2 * H)).astype(np.float32)
    T, N = ("T", "N") if layout == 0 else ("N", "T")
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, N, I])]
    names = ["X", "W", "R", "B", "", ""]
    if lengths:
        inputs.append(helper.make_tensor_value_info("L", TensorProto.INT32, ["N"]))
        names[4] = "L"
    if h0:
        shape = [D, "N", H] if layout == 0 else ["N", D, H]
        inputs.append(helper.make_tensor_value_info("H0", TensorProto.FLOAT, shape))
        names[5] = "H0"
    attrs = {"layout": layout} if layout else {}
    node = helper.make_node(
        "RNN", names, ["Y", "Yh"], hidden_size=H, direction=direction, activations=[act] * D,
        **attrs,
    )  # fmt: skip
    y_shape = ["T", D, "N", H] if layout == 0 else ["N", "T", D, H]
    yh_shape = [D, "N", H] if layout == 0 else ["N", D, H]
    graph = helper.make_graph(
        [node], "g", inputs,
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, y_shape),
         helper.make_tensor_value_info("Yh", TensorProto.FLOAT, yh_shape)],
        [numpy_helper.from_array(a, n) for a, n in ((W, "W"), (R, "R"), (B, "B"))],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("act", ["Tanh", "Relu"])
@pytest.mark.parametrize("lengths", [False, True])
def test_onnx_rnn_node_matches_onnxruntime(direction: str, act: str, lengths: bool) -> None:
    ort = pytest.importorskip("onnxruntime")
    model = _rnn_model(direction, act, lengths, h0=True)
    g = np.random.default_rng(1)
    D = 2 if direction == "bidirectional" else 1
    feeds = {"X": g.standard_normal((6, 4, 2)).astype(np.float32)}
    if lengths:
        feeds["L"] = np.array([6, 2, 5, 1], np.int32)
    feeds["H0"] = g.standard_normal((D, 4, 3)).astype(np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, feeds)
    got = eonnx.load(model)(*[elman.from_numpy(v) for v in feeds.values()])
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=1e-5, atol=1e-6)


def test_onnx_rnn_layout_1_equals_layout_0() -> None:
    """onnxruntime refuses layout=1; elman runs it as the transposed layout-0 graph."""
    g = np.random.default_rng(2)
    x = g.standard_normal((6, 4, 2)).astype(np.float32)  # (T, N, I)
    lens = np.array([6, 2, 5, 1], np.int32)
    h0 = g.standard_normal((2, 4, 3)).astype(np.float32)
    y0, yh0 = eonnx.load(_rnn_model("bidirectional", "Tanh", True, True))(
        elman.from_numpy(x), elman.from_numpy(lens), elman.from_numpy(h0)
    )
    y1, yh1 = eonnx.load(_rnn_model("bidirectional", "Tanh", True, True, layout=1))(
        elman.from_numpy(x.transpose(1, 0, 2).copy()),
        elman.from_numpy(lens),
        elman.from_numpy(h0.transpose(1, 0, 2).copy()),
    )
    np.testing.assert_array_equal(y1.detach().numpy(), y0.detach().numpy().transpose(2, 0, 1, 3))
    np.testing.assert_array_equal(yh1.detach().numpy(), yh0.detach().numpy().transpose(1, 0, 2))


def test_wrong_linear_weight_shape() -> None:
    from onnx import numpy_helper

    m = onnx.load_from_string(_exported())
    for t in m.graph.initializer:
        if t.name == "fc.weight":  # (1, 12) -> (1, 11): no longer fits the RNN's output
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t)[:, :11], t.name))
    with pytest.raises(ValueError, match="invalid ONNX model: .*Gemm"):
        eonnx.load(m)
