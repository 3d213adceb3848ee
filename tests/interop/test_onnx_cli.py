"""``elman export`` for every ``elman train`` task, and ``elman predict``/``evaluate``/
``inspect`` on the .onnx file: the same numbers from the checkpoint, from the .onnx through
elman, and through onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from elman.cli.main import main

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

TRAIN = {
    "sine": ["--series", "64", "--seq-len", "12"],
    "adding": ["--seq-len", "10", "--eval-every", "5"],
    "text": ["--seq-len", "8", "--embed-size", "4"],
}


def _run(capsys: Any, *args: str) -> str:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: Any) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("onnx_cli")
    (base / "corpus.txt").write_text("the cat sat on the mat. " * 40, encoding="utf-8")
    out = {}
    for task, flags in TRAIN.items():
        extra = ["--data", str(base / "corpus.txt")] if task == "text" else []
        run = base / task
        code = main(
            ["train", task, *flags, *extra, "--epochs", "1", "--hidden-size", "6",
             "--num-layers", "2", "--no-progress", "--out", str(run)]
        )  # fmt: skip
        assert code == 0
        out[task] = run
    return out


@pytest.mark.parametrize("task", ["sine", "adding"])
def test_predict_same_from_checkpoint_onnx_and_onnxruntime(
    task: str, runs: dict[str, Path], tmp_path: Path, capsys: Any
) -> None:
    onnx_file = tmp_path / "m.onnx"
    said = _run(capsys, "export", runs[task] / "best", onnx_file)
    assert "2 RNN node(s)" in said
    g = np.random.default_rng(0)
    if task == "sine":
        x = g.standard_normal((7, 15)).astype(np.float32)  # another length than trained
    else:
        x = np.stack([g.random((7, 14)), np.eye(14)[g.integers(0, 14, 7)]], -1)
    np.save(tmp_path / "x.npy", x)
    preds = {}
    for name, source, flags in (
        ("checkpoint", runs[task] / "best", []),
        ("elman", onnx_file, ["--runtime", "elman"]),
        ("onnxruntime", onnx_file, ["--runtime", "onnxruntime"]),
    ):
        out = tmp_path / f"{name}.npy"
        _run(capsys, "predict", source, "--input", tmp_path / "x.npy", "--output", out, *flags)
        preds[name] = np.load(out)
    assert preds["checkpoint"].shape[0] == 7
    np.testing.assert_array_equal(preds["elman"], preds["checkpoint"])
    np.testing.assert_allclose(preds["onnxruntime"], preds["checkpoint"], rtol=1e-5, atol=1e-6)


def test_text_evaluate_same_three_ways(runs: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    onnx_file = tmp_path / "t.onnx"
    _run(capsys, "export", runs["text"] / "best", onnx_file)
    text = tmp_path / "eval.txt"
    text.write_text("the mat sat on the cat.", encoding="utf-8")
    said = [
        _run(capsys, "evaluate", src, "--input", text, *flags).split()[1]
        for src, flags in (
            (runs["text"] / "best", []),
            (onnx_file, ["--runtime", "elman"]),
            (onnx_file, ["--runtime", "onnxruntime"]),
        )
    ]
    assert said[0] == said[1]
    assert abs(float(said[2]) - float(said[0])) < 1e-4


def test_inspect_onnx(runs: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    onnx_file = tmp_path / "s.onnx"
    _run(capsys, "export", runs["sine"] / "best", onnx_file)
    said = _run(capsys, "inspect", onnx_file)
    assert "input  x: float32 [x_dim0, x_dim1, 1]" in said
    assert "RNN rnn.l0: forward, input 1, hidden 6, Tanh" in said
    assert "RNN rnn.l1: forward, input 6, hidden 6, Tanh" in said


def test_cli_errors(runs: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx at all")
    np.save(tmp_path / "x.npy", np.zeros((2, 5), np.float32))
    code = main(["predict", str(bad), "--input", str(tmp_path / "x.npy"), "--output",
                 str(tmp_path / "y.npy")])  # fmt: skip
    assert code == 1 and "not a readable ONNX model" in capsys.readouterr().err
    code = main(["export", str(runs["sine"] / "best"), str(tmp_path / "m.txt")])
    assert code == 1 and "must end in .onnx" in capsys.readouterr().err
    code = main(["predict", str(runs["sine"] / "best"), "--input", str(tmp_path / "x.npy"),
                 "--output", str(tmp_path / "y.npy"), "--runtime", "onnxruntime"])  # fmt: skip
    assert code == 1 and "runs .onnx files" in capsys.readouterr().err


def test_float64_model_in_onnxruntime_is_a_clear_error(tmp_path: Path, capsys: Any) -> None:
    import json

    import elman
    import elman.onnx
    from elman.cli.tasks import SequenceModel
    from elman.onnx._tools import set_metadata

    config = {"task": "sine", "hidden_size": 3, "num_layers": 1, "nonlinearity": "tanh",
              "dtype": "float64", "input_size": 1, "output_size": 2}  # fmt: skip
    model = SequenceModel(config).eval()
    proto = elman.onnx.export(
        model, elman.zeros(2, 3, 1, dtype=elman.float64), None, input_names=["x"]
    )
    set_metadata(proto, {"elman.config": json.dumps(config)})
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    np.save(tmp_path / "x.npy", np.zeros((2, 4), np.float64))
    args = ["predict", str(tmp_path / "m.onnx"), "--input", str(tmp_path / "x.npy"),
            "--output", str(tmp_path / "y.npy")]  # fmt: skip
    assert main([*args, "--runtime", "onnxruntime"]) == 1
    assert "no float64 RNN kernel" in capsys.readouterr().err
    assert main(args) == 0  # elman runs it
