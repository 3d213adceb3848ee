"""onnxruntime as a peer of ``elman bench`` (inference only): the ONNX graph elman's own
exporter writes for the case's model (one ``RNN`` node per layer, docs/onnx.md), run by an
onnxruntime CPU session on the same input.

Packed cases export ``rnn(x, lengths=lengths)`` (the lengths become every layer's
``sequence_lens``) and feed the padded input and the lengths. onnxruntime has no backward
and no float64 ``RNN`` kernel: those cells are skipped with the reason in the JSON. The
command reaches onnx and onnxruntime only through :mod:`elman.onnx`, imported here when
``--against onnxruntime`` asks for it.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from .bench_peers import Peer
from .bench_timing import Case, Contestant, packed_rows

__all__ = ["OnnxPeer", "make_peer", "onnx_outputs"]

NO_FB = "onnxruntime runs inference only (no backward)"
NO_FLOAT64 = "onnxruntime has no float64 RNN kernel"


def make_peer() -> OnnxPeer:
    return OnnxPeer()


class OnnxPeer(Peer):
    name = "onnxruntime"

    def __init__(self) -> None:
        import elman.onnx  # noqa: F401  (needs onnx; fails here, not mid-run)

    def versions(self) -> dict[str, Any]:
        import onnxruntime

        return {"onnxruntime": onnxruntime.__version__}

    def runner(self, case: Case) -> tuple[Any, tuple[np.ndarray, ...]]:
        """``(run, feeds)``: onnxruntime's session on the exported model and its inputs."""
        import elman
        import elman.onnx
        from elman.onnx._tools import onnxruntime_runner

        model = case.model.eval()
        x = elman.from_numpy(case.x)
        buf = io.BytesIO()
        if case.lengths is None:
            elman.onnx.export(model, x, buf, input_names=["x"], output_names=["y", "h_n"])
            feeds: tuple[np.ndarray, ...] = (case.x,)
        else:
            lengths = case.lengths.astype(np.int64)
            elman.onnx.export(
                model,
                (x, {"lengths": elman.from_numpy(lengths)}),
                buf,
                input_names=["x", "lengths"],
                output_names=["y", "h_n"],
            )
            feeds = (case.x, lengths)
        return onnxruntime_runner(buf.getvalue()), feeds

    def contestant(self, case: Case) -> Contestant:
        if case.dtype != "float32":
            return Contestant("onnxruntime", None, None, {"fwd": NO_FLOAT64, "fb": NO_FB})
        run, feeds = self.runner(case)

        def fwd() -> None:
            run(*feeds)

        return Contestant("onnxruntime", fwd, None, {"fb": NO_FB})


def onnx_outputs(case: Case) -> np.ndarray:
    """The exported graph's output as onnxruntime computes it (packed rows or (L, N, D*H))."""
    run, feeds = OnnxPeer().runner(case)
    y = run(*feeds)[0]
    if case.lengths is not None:
        y = y[packed_rows(case.lengths, y.shape[0])]
    return np.asarray(y)
