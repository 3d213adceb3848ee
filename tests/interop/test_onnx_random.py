"""The acceptance check on random models, quick edition (30 models; the campaign script
campaign_onnx.py runs hundreds): every model exports, passes the full checker, has one
ONNX RNN node per layer, and gives elman's outputs at another batch size and length than
traced — in onnxruntime (float32; onnxruntime has no float64 RNN kernel) and re-imported
through elman.onnx.load (float32 and float64)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("elman.onnx")

import onnx_models as M  # noqa: E402

QUICK = 30


@pytest.mark.parametrize("index", range(QUICK))
def test_random_model(index: int) -> None:
    rng = np.random.default_rng(1000 + index)
    s = M.spec(rng, kind=M.KINDS[index % len(M.KINDS)])
    runtimes = M.runtimes_for(s)
    r = M.check(s, rng, runtimes)
    assert r["rnn_nodes"] == (0 if s["kind"] == "cell" else s["num_layers"]), s
    for runtime, err in r["errors"].items():
        assert err <= M.tolerance(s), (runtime, err, s)
