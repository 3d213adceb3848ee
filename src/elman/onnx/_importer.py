"""``elman.onnx.load``: an ONNX model as an elman Module that runs its graph with autograd.

Float initializers become Parameters (nested under their dotted names, so ``fc.weight``
stays ``fc.weight``); each ``RNN`` node whose W, R, B are initializers becomes a real
``nn.RNN`` (one layer, torch's parameter names and layout: ``weight_ih_l0`` = W[0],
``bias_ih_l0`` = B[0, :H], ...). Integer initializers and the exporter's own constants
(``const_*``, ``ints_*``, ``scalar_*``) stay constants.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper

from ..autograd import Tensor
from ..nn import Module, Parameter
from ._import_ops import OPS
from ._import_ops2 import SUPPORTED

__all__ = ["load", "ONNXModule", "MIN_IMPORT_OPSET", "MAX_IMPORT_OPSET"]

MIN_IMPORT_OPSET, MAX_IMPORT_OPSET = 7, 23
_CONSTANT_NAME = re.compile(r"(const|ints|scalar)_\d+")


class _Holder(Module):
    """A namespace for parameters named ``a.b.c`` (no forward of its own)."""


def _segments(name: str) -> list[str]:
    parts = [p for p in re.split(r"[./]", name) if p]
    out = []
    for p in parts or ["value"]:
        p = re.sub(r"\W", "_", p)
        out.append("_" + p if p[0].isdigit() else p)
    return out


def _read(f: Any) -> onnx.ModelProto:
    if isinstance(f, onnx.ModelProto):
        return f
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read()
    elif isinstance(f, (bytes, bytearray)):
        data = bytes(f)
    else:
        data = f.read()
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as e:
        raise ValueError(f"not a readable ONNX model (truncated or corrupt file?): {e}") from None
    if not model.graph.node and not model.graph.output:
        raise ValueError("not a readable ONNX model: the file holds no graph")
    return model


def _short(e: Exception) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return " ".join(lines[:2])[:400] if lines else type(e).__name__


def _check(model: onnx.ModelProto) -> int:
    opset = None
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            opset = imp.version
        else:
            raise ValueError(f"ONNX operator domain {imp.domain!r} is not supported by elman")
    if opset is None or not MIN_IMPORT_OPSET <= opset <= MAX_IMPORT_OPSET:
        raise ValueError(
            f"ONNX opset {opset} is not supported: elman.onnx.load reads opsets "
            f"{MIN_IMPORT_OPSET} to {MAX_IMPORT_OPSET}"
        )
    try:
        onnx.checker.check_model(model)
        # strict shape inference: initializers of the wrong shape (a Gemm weight that does
        # not fit its input) fail here, before anything runs
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise ValueError(f"invalid ONNX model: {_short(e)}") from None
    missing = sorted({n.op_type for n in model.graph.node if n.op_type not in SUPPORTED})
    if missing:
        raise NotImplementedError(
            f"elman.onnx.load does not support the ONNX op(s) {', '.join(missing)} "
            f"(supported: {', '.join(SUPPORTED)})"
        )
    return opset


class ONNXModule(Module):
    """Runs an ONNX graph on elman Tensors; see :func:`load`.

    ``forward(*inputs, **named_inputs)`` takes the graph inputs in order (or by name) and
    returns the output, or a tuple of outputs.
    """

    def __init__(self, model: onnx.ModelProto) -> None:
        super().__init__()
        self.opset = _check(model)
        g = model.graph
        inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self._nodes = list(g.node)
        self._attrs = [{a.name: helper.get_attribute_value(a) for a in n.attribute} for n in g.node]
        for attrs in self._attrs:  # tensors (Constant, ConstantOfShape) as arrays
            for k, v in attrs.items():
                if isinstance(v, onnx.TensorProto):
                    attrs[k] = numpy_helper.to_array(v)
                elif isinstance(v, bytes):
                    attrs[k] = v.decode()
                elif isinstance(v, list) and v and isinstance(v[0], bytes):
                    attrs[k] = [s.decode() for s in v]
        self.input_names = [i.name for i in g.input if i.name not in inits]
        self.output_names = [o.name for o in g.output]
        self._rnn_paths: dict[int, str] = {}
        used_by_rnn: set[str] = set()
        for k, node in enumerate(self._nodes):
            if node.op_type == "RNN":
                used_by_rnn.update(self._make_rnn(k, node, inits))
        self._values: dict[str, str] = {}  # initializer -> parameter path
        self._consts: dict[str, Tensor] = {}
        for name, a in inits.items():
            if name in used_by_rnn and not self._used_elsewhere(name):
                continue
            if a.dtype.kind == "f" and not _CONSTANT_NAME.fullmatch(name):
                self._values[name] = self._place(name, Parameter(np.array(a)))
            else:
                self._consts[name] = Tensor(np.array(a))

    def _used_elsewhere(self, name: str) -> bool:
        return any(n.op_type != "RNN" and name in n.input for n in self._nodes)

    def _place(self, name: str, value: Any) -> str:
        """Register ``value`` under the dotted path of ``name``; returns the path used."""
        *mods, leaf = _segments(name)
        owner: Module = self
        for m in mods:
            child = owner._modules.get(m)
            if child is None:
                if m in owner._parameters or m in owner.__dict__:
                    m = m + "_"
                child = owner._modules.get(m) or _Holder()
                owner.add_module(m, child)
            owner = child
        while leaf in owner._parameters or leaf in owner._modules or leaf in owner.__dict__:
            leaf += "_"
        if isinstance(value, Module):
            owner.add_module(leaf, value)
        else:
            owner.register_parameter(leaf, value)
        return ".".join([*mods, leaf])

    def _make_rnn(self, k: int, node: Any, inits: dict[str, np.ndarray]) -> list[str]:
        from ._import_rnn import make_rnn

        rnn, used = make_rnn(node, self._attrs[k], inits)
        self._rnn_paths[k] = self._place(node.name or f"rnn_{k}", rnn)
        return used

    def _lookup(self, path: str) -> Any:
        obj: Any = self
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        from ._import_rnn import run_rnn

        if len(args) > len(self.input_names):
            raise TypeError(
                f"the ONNX model takes {len(self.input_names)} inputs "
                f"({', '.join(self.input_names)}), got {len(args)}"
            )
        env: dict[str, Any] = dict(self._consts)
        for name, path in self._values.items():
            env[name] = self._lookup(path)
        for name, value in zip(self.input_names, args, strict=False):
            env[name] = value
        env.update(kwargs)
        for name in self.input_names:
            if name not in env:
                raise TypeError(f"the ONNX model's input {name!r} was not given")
            v = env[name]
            env[name] = v if isinstance(v, Tensor) else Tensor(np.asarray(v))
        for k, node in enumerate(self._nodes):
            if node.op_type == "RNN":  # W, R, B live in the nn.RNN
                inputs = [
                    env[i] if i and j not in (1, 2, 3) else None for j, i in enumerate(node.input)
                ]
            else:
                inputs = [env[i] if i else None for i in node.input]
            if node.op_type == "RNN":
                outs = run_rnn(self._lookup(self._rnn_paths[k]), inputs, self._attrs[k])
            else:
                try:
                    outs = OPS[node.op_type](inputs, self._attrs[k], op_type=node.op_type)
                except NotImplementedError as e:
                    raise NotImplementedError(
                        f"ONNX node {node.name!r} ({node.op_type}): {e} is not supported"
                    ) from None
            for name, value in zip(node.output, outs, strict=False):
                if name:
                    env[name] = value
        outs = [env[n] for n in self.output_names]
        return outs[0] if len(outs) == 1 else tuple(outs)


def load(f: Any) -> ONNXModule:
    """Read an ONNX model (a path, bytes, a binary file or a ModelProto) as an elman Module.

    The module runs the graph with elman's autograd, so it can be fine-tuned; each ``RNN``
    node with initializer weights is a real ``nn.RNN`` in it. Ops: everything
    :func:`export` writes and what torch's exporter writes for RNN, Linear and Embedding
    models (see docs/onnx.md). Raises ValueError for an unreadable or invalid file or an
    unsupported opset, NotImplementedError listing the ops it cannot run.

    Example:
        >>> import elman, elman.onnx
        >>> proto = elman.onnx.export(elman.nn.RNN(3, 4).eval(), elman.randn(5, 2, 3))
        >>> model = elman.onnx.load(proto)
        >>> [name for name, _ in model.named_parameters()][:2]
        ['rnn.l0.weight_ih_l0', 'rnn.l0.weight_hh_l0']
        >>> model(elman.randn(7, 6, 3))[0].shape   # any length, any batch
        elman.Size([7, 6, 4])
    """
    from . import _import_ops2  # noqa: F401  (registers the rest of the ops)

    return ONNXModule(_read(f))
