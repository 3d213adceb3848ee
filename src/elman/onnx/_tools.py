"""What the ``elman`` command needs from ONNX files: a description of one (``elman
inspect``) and an onnxruntime session (``--runtime onnxruntime``), so that the command
never imports onnx or onnxruntime itself."""

from __future__ import annotations

import collections
import os
from typing import Any

import numpy as np
import onnx
from onnx import helper

from ._importer import _read

__all__ = ["describe", "metadata", "set_metadata", "onnxruntime_runner", "save"]


def _shape(value_info: Any) -> list[Any]:
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_param or (d.dim_value if d.HasField("dim_value") else "?") for d in dims]


def _dtype(value_info: Any) -> str:
    return str(helper.tensor_dtype_to_np_dtype(value_info.type.tensor_type.elem_type))


def describe(f: Any) -> dict[str, Any]:
    """Inputs, outputs, opset, op counts, RNN nodes, parameters and metadata of a model."""
    m = _read(f)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    rnns = []
    for n in g.node:
        if n.op_type != "RNN":
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        w = inits.get(n.input[1]) if len(n.input) > 1 else None
        rnns.append(
            {
                "name": n.name,
                "direction": (attrs.get("direction") or b"forward").decode(),
                "hidden_size": attrs.get("hidden_size"),
                "input_size": int(w.dims[2]) if w is not None and len(w.dims) == 3 else None,
                "activations": [a.decode() for a in attrs.get("activations", [])] or ["Tanh"],
                "sequence_lens": len(n.input) > 4 and bool(n.input[4]),
                "initial_h": len(n.input) > 5 and bool(n.input[5]),
                "layout": attrs.get("layout", 0),
            }
        )
    opsets = {imp.domain or "ai.onnx": imp.version for imp in m.opset_import}
    return {
        "format": "onnx",
        "ir_version": m.ir_version,
        "opsets": opsets,
        "producer": f"{m.producer_name} {m.producer_version}".strip(),
        "inputs": [
            {"name": i.name, "dtype": _dtype(i), "shape": _shape(i)}
            for i in g.input
            if i.name not in inits
        ],
        "outputs": [{"name": o.name, "dtype": _dtype(o), "shape": _shape(o)} for o in g.output],
        "ops": dict(collections.Counter(n.op_type for n in g.node).most_common()),
        "rnn_nodes": rnns,
        "initializers": len(inits),
        "parameters": int(sum(int(np.prod(t.dims, dtype=np.int64)) for t in inits.values())),
        "metadata": {p.key: p.value for p in m.metadata_props},
    }


def metadata(f: Any) -> dict[str, str]:
    return {p.key: p.value for p in _read(f).metadata_props}


def set_metadata(model: onnx.ModelProto, values: dict[str, str]) -> None:
    helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props}, **values})


def save(model: onnx.ModelProto) -> bytes:
    return model.SerializeToString()  # type: ignore[no-any-return]


def onnxruntime_runner(f: Any) -> Any:
    """``run(feeds) -> [outputs]`` with onnxruntime's CPU provider."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ImportError(
            'onnxruntime is not installed: pip install "elman[onnx]" (or use the elman runtime)'
        ) from None
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read()
    else:
        data = f if isinstance(f, bytes) else _read(f).SerializeToString()
    options = ort.SessionOptions()
    options.log_severity_level = 3  # no warnings on stderr
    try:
        sess = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types, as one clear error
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "RNN" in text and "implementation" in text:
            text += " (onnxruntime has no float64 RNN kernel: export a float32 model)"
        raise ValueError(f"onnxruntime cannot run this model: {text}") from None
    names = [i.name for i in sess.get_inputs()]

    def run(*arrays: np.ndarray) -> list[np.ndarray]:
        return sess.run(None, dict(zip(names, arrays, strict=False)))  # type: ignore[no-any-return]

    return run
