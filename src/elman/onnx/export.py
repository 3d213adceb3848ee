"""``elman.onnx.export``: trace one forward call and write the ONNX model."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper

from .._version import __version__
from ..autograd import Tensor, no_grad
from ..autograd.trace_hook import HOOK
from ..nn import Module
from ..nn.utils.rnn import PackedSequence
from ._graph import Graph, onnx_dtype
from ._symbolic import ExportError
from ._tracer import Tracer

__all__ = ["export", "MIN_OPSET", "MAX_OPSET", "IR_VERSION"]

MIN_OPSET, MAX_OPSET = 14, 22  # 14: RNN with layout; 22: the newest RNN
IR_VERSION = 10  # what onnxruntime >= 1.20 reads


def _split_args(args: Any) -> tuple[list[Any], dict[str, Any]]:
    """torch's convention: a tensor, or a tuple of positional args whose last element may
    be a dict of keyword args."""
    if not isinstance(args, tuple):
        return [args], {}
    if args and isinstance(args[-1], Mapping):
        return list(args[:-1]), dict(args[-1])
    return list(args), {}


def _as_tensor(value: Any) -> Tensor | None:
    if isinstance(value, Tensor):
        return Tensor._wrap(value._data)  # a fresh tensor on the same data: never the user's
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
        return Tensor._wrap(np.asarray(value, dtype=np.int64))  # lengths given as a list
    return None


def _flatten_outputs(out: Any) -> list[Any]:
    if isinstance(out, PackedSequence):
        raise ExportError(
            "the model returns a PackedSequence: return pad_packed_sequence(...)[0] instead"
        )
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten_outputs(o)]
    if isinstance(out, Tensor):
        return [out]
    raise ExportError(f"the model returned a {type(out).__name__}; export needs tensors")


def _dims(
    name: str, t: Tensor, dynamic: Mapping[str, Any] | None, default_dynamic: bool
) -> list[Any]:
    shape = list(t._data.shape)
    if dynamic is None:
        if not default_dynamic:
            return shape
        # default: every axis dynamic but the features (the last) of a float input
        keep_last = t.dtype.kind == "f" and len(shape) >= 2
        return [
            n if keep_last and k == len(shape) - 1 else f"{name}_dim{k}"
            for k, n in enumerate(shape)
        ]
    axes = dynamic.get(name)
    if axes is None:
        return shape
    named = axes if isinstance(axes, Mapping) else {a: f"{name}_dim{a}" for a in axes}
    return [named.get(k, n) for k, n in enumerate(shape)]


def _output_dims(name: str, t: Tensor, dynamic: Mapping[str, Any] | None) -> list[Any]:
    """An output's sizes: the labels ``dynamic_axes`` gives it, else left to inference."""
    axes = (dynamic or {}).get(name)
    if axes is None:
        return [None] * t.ndim
    named = axes if isinstance(axes, Mapping) else {a: f"{name}_dim{a}" for a in axes}
    return [named.get(k) for k in range(t.ndim)]


def _infer_output_dims(m: onnx.ModelProto) -> None:
    """Name the outputs' sizes where ONNX's shape inference can (``y: [x_dim0, 5]``);
    sizes it cannot follow stay unnamed."""
    try:
        inferred = onnx.shape_inference.infer_shapes(m)
    except Exception:  # inference is a nicety here; the checker below has the last word
        return
    for out, inf in zip(m.graph.output, inferred.graph.output, strict=True):
        dims = inf.type.tensor_type.shape.dim
        if len(dims) == len(out.type.tensor_type.shape.dim):
            for d, e in zip(out.type.tensor_type.shape.dim, dims, strict=True):
                if d.dim_param:  # a label from dynamic_axes
                    continue
                if e.HasField("dim_value"):
                    d.dim_value = e.dim_value
                elif e.dim_param and not e.dim_param.startswith("unk__"):
                    d.dim_param = e.dim_param


def export(
    model: Any,
    args: Any,
    f: Any = None,
    *,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_axes: Mapping[str, Any] | None = None,
    opset_version: int = 17,
    check: bool = True,
) -> onnx.ModelProto:
    """Trace ``model(*args)`` once and write it as an ONNX model to ``f``.

    Args:
        model: an elman ``Module`` (put it in eval mode) or a function of tensors.
        args: the example input: a tensor, or a tuple of positional arguments whose last
            element may be a dict of keyword arguments (``(x, {"lengths": lens})``).
        f: a path or a binary file object; None writes nothing (the model is returned).
        input_names, output_names: graph names (default ``input_0``..., ``output_0``...).
        dynamic_axes: ``{name: [axes]}`` or ``{name: {axis: "label"}}``, as torch's. When
            omitted every axis of every input is dynamic except the last (features) of a
            float input: any batch and any length.
        opset_version: ONNX opset, 14 to 22 (default 17, torch's).
        check: run ``onnx.checker.check_model(full_check=True)`` on the result.

    Returns:
        the ``onnx.ModelProto`` written.

    Example:
        >>> import elman, elman.onnx
        >>> rnn = elman.nn.RNN(3, 4, num_layers=2).eval()
        >>> proto = elman.onnx.export(rnn, elman.randn(5, 2, 3))
        >>> [n.op_type for n in proto.graph.node].count("RNN")
        2
    """
    if not MIN_OPSET <= int(opset_version) <= MAX_OPSET:
        raise ValueError(
            f"opset_version must be in [{MIN_OPSET}, {MAX_OPSET}], got {opset_version}"
        )
    if HOOK.tracer is not None:
        raise RuntimeError("elman.onnx.export is already tracing (nested or concurrent export)")
    pos, kw = _split_args(args)
    params: dict[int, tuple[str, Tensor]] = {}
    paths: dict[int, str] = {}
    if isinstance(model, Module):
        for pname, p in model.named_parameters():
            params[id(p)] = (pname, p)
        for bname, b in model.named_buffers():
            params[id(b)] = (bname, b)
        paths = {id(m): name for name, m in model.named_modules()}
    graph = Graph(int(opset_version))
    tracer = Tracer(graph, params, paths)
    inputs: list[tuple[str, Tensor]] = []
    names = list(input_names or [])

    def take(value: Any, default: str) -> Any:
        t = _as_tensor(value)
        if t is None:
            return value
        name = names[len(inputs)] if len(inputs) < len(names) else default
        inputs.append((name, t))
        tracer.bind(t, name)
        return t

    targs = [take(a, f"input_{i}") for i, a in enumerate(pos)]
    tkw = {k: take(v, k) for k, v in kw.items()}
    HOOK.tracer = tracer
    try:
        with no_grad():
            out = model(*targs, **tkw)
        outputs = _flatten_outputs(out)
        onames = list(output_names or [])
        out_names = [onames[i] if i < len(onames) else f"output_{i}" for i in range(len(outputs))]
        for k, (t, oname) in enumerate(zip(outputs, out_names, strict=True)):
            if not tracer.is_traced(t) and id(t) not in params:
                raise ExportError(
                    f"output {k} does not depend on the inputs as the trace saw them: it was "
                    "computed outside elman's ops (a copy such as elman.tensor(x), NumPy on "
                    "the data) or from constants only, and would be frozen into the graph"
                )
            graph.nodes.append(helper.make_node("Identity", [tracer.name_of(t)], [oname]))
    finally:
        HOOK.tracer = None
    graph.prune(out_names)
    given = dynamic_axes is not None
    in_info = [
        helper.make_tensor_value_info(
            n, onnx_dtype(t.dtype), _dims(n, t, dynamic_axes if given else None, True)
        )
        for n, t in inputs
    ]
    out_info = [
        helper.make_tensor_value_info(
            n,
            onnx_dtype(t.dtype),
            _output_dims(n, t, dynamic_axes),
        )
        for n, t in zip(out_names, outputs, strict=True)
    ]
    g = helper.make_graph(
        graph.nodes, "elman", in_info, out_info, initializer=graph.initializer_protos()
    )
    m = helper.make_model(
        g,
        opset_imports=[helper.make_opsetid("", int(opset_version))],
        producer_name="elman",
        producer_version=__version__,
    )
    m.ir_version = IR_VERSION
    _infer_output_dims(m)
    if check:
        onnx.checker.check_model(m, full_check=True)
    if f is not None:
        data = m.SerializeToString()
        if isinstance(f, (str, os.PathLike)):
            with open(f, "wb") as fh:
                fh.write(data)
        else:
            f.write(data)
    return m
