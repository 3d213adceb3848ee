"""The tracer: watches one forward call and records every elman op in a :class:`Graph`.

Values are named by identity: a tensor the graph computed is bound to its ONNX name
(and becomes a :class:`TracedTensor`, so its sizes are symbolic); a parameter of the
model becomes an initializer under its ``state_dict`` name; any other tensor an op meets
is a constant of the graph. Ops are translated by the emitters of ``_emit_ops`` (autograd
Functions) and ``_emit_rnn`` (modules written as one ONNX node, such as ``nn.RNN``).
"""

from __future__ import annotations

import contextlib
import os
import threading
import traceback
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..autograd import Tensor
from ._graph import Graph, onnx_dtype
from ._symbolic import ExportError, SymInt, TracedTensor

__all__ = ["Tracer"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Tracer:
    """Hooks called by ``Function.apply``, ``Module.__call__`` and the creation ops."""

    def __init__(self, graph: Graph, params: dict[int, tuple[str, Tensor]], paths: Any) -> None:
        self.g = graph
        self.params = params  # id(parameter or buffer) -> (state_dict name, tensor)
        self.paths = paths  # id(module) -> its name in the model
        self.current: type = object  # the Function being emitted
        self._depth = 0  # > 0 while a recorded op runs its own (unrecorded) insides
        self._thread = threading.get_ident()
        self._names: dict[int, str] = {}  # id(tensor) -> value name
        self._arrays: dict[int, str] = {}  # id(tensor._data) -> value name
        self._keep: list[Any] = []  # keeps ids unique while tracing
        self._shapes: dict[str, str] = {}  # value name -> its Shape node
        self._dims: dict[tuple[str, int], str] = {}
        self._packed: dict[int, tuple[str, str, bool]] = {}  # id(packed.data) -> see packed_info

    # ---- values -----------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """0 when ops are being recorded: in the tracing thread, outside a recorded op.
        Other threads never record (elman calls they make while a model is traced run as
        usual)."""
        return self._depth if threading.get_ident() == self._thread else 1

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Run elman code without recording it (the caller records the result)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    def bind(self, t: Any, name: str) -> None:
        self._names[id(t)] = name
        self._arrays[id(t._data)] = name
        self._keep.append(t)
        if type(t) is Tensor:
            t.__class__ = TracedTensor

    def is_traced(self, t: Any) -> bool:
        return id(t) in self._names

    def traced_array(self, a: Any) -> str | None:
        """The value name of an ndarray that is a traced tensor's data (an index)."""
        return self._arrays.get(id(a))

    def name_of(self, t: Any, like: Any = None) -> str:
        """The ONNX name of tensor ``t`` as an op input: traced, parameter or constant.

        ``like`` is a traced operand of the same op: a constant of exactly its shape is
        refused, since it would freeze something computed from the input's data (dropout
        in training mode draws such a mask).
        """
        if not isinstance(t, Tensor):
            t = Tensor(np.asarray(t))
        name = self._names.get(id(t))
        if name is not None:
            return name
        if id(t) in self.params:
            pname, p = self.params[id(t)]
            if pname not in self.g.initializers:
                self.g.add_initializer(pname, p._data)
            return pname
        if like is not None and t.ndim >= 1 and t._data.shape == like._data.shape:
            raise ExportError(
                f"a constant of the traced input's shape {tuple(t._data.shape)} would be frozen "
                "into the graph (a mask or values computed outside elman's ops, e.g. "
                f"dropout in training mode: call model.eval()){self.where()}"
            )
        return self.g.const(t._data)

    def cast(self, name: str, have: Any, want: Any) -> str:
        if np.dtype(have) == np.dtype(want):
            return name
        return self.g.node("Cast", [name], to=onnx_dtype(want))

    # ---- sizes ------------------------------------------------------------------------

    def shape_of(self, t: Any) -> str:
        x = self.name_of(t)
        if x not in self._shapes:
            self._shapes[x] = self.g.node("Shape", [x])
        return self._shapes[x]

    def dims(self, t: Any) -> list[int]:
        """The sizes of traced tensor ``t``, each a :class:`SymInt` read from its Shape."""
        x = self._names.get(id(t))
        if x is None or self.depth:
            return list(t._data.shape)
        return [SymInt(n, self._dim_maker(t, d)) for d, n in enumerate(t._data.shape)]

    def _dim_maker(self, t: Any, d: int) -> Any:
        def make(tr: Tracer) -> str:
            key = (tr.name_of(t), d)
            if key not in tr._dims:
                tr._dims[key] = tr.g.node("Gather", [tr.shape_of(t), tr.g.ints([d])], axis=0)
            return tr._dims[key]

        return make

    def sym(self, n: Any) -> str:
        """A 1-D int64 [1] value for a size: computed for a SymInt, else a constant."""
        if isinstance(n, SymInt):
            cached = getattr(n, "_name", None)
            if cached is None:
                cached = n._make(self)
                n._name = cached  # type: ignore[attr-defined]
            return cached
        if isinstance(n, Tensor):
            name = self.cast(self.name_of(n), n.dtype, np.int64)
            return self.g.node("Reshape", [name, self.g.ints([1])])
        return self.g.ints([int(n)])

    def shape_value(self, shape: Any) -> str:
        """A 1-D int64 shape from a tuple of ints and SymInts."""
        if not shape:
            return self.g.const(np.zeros(0, dtype=np.int64))
        if not any(isinstance(n, (SymInt, Tensor)) for n in shape):
            return self.g.ints(shape)
        return self.g.node("Concat", [self.sym(n) for n in shape], axis=0)

    # ---- packed sequences ---------------------------------------------------------------

    def packed_info(self, value: Any) -> tuple[str, str, bool] | None:
        """For a PackedSequence made in the traced call: (padded input, lengths (int64),
        batch_first) as graph values; None for anything else."""
        from ..nn.utils.rnn import PackedSequence

        if not isinstance(value, PackedSequence):
            return None
        info = self._packed.get(id(value.data))
        if info is None:
            raise ExportError(
                "a PackedSequence made outside the traced call cannot be exported: pass the "
                "padded batch and the lengths, and call pack_padded_sequence in forward"
                + self.where()
            )
        return info

    def bind_packed(self, packed: Any, padded_time_major: str, lengths: str) -> None:
        self._keep.append(packed)
        self._packed[id(packed.data)] = (padded_time_major, lengths, False)

    def pack_padded(
        self, pack: Any, input: Any, lengths: Any, batch_first: bool, enforce_sorted: bool
    ) -> Any:
        with self.quiet():
            packed = pack(input, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
        if not isinstance(lengths, Tensor) or not self.is_traced(lengths):
            raise ExportError(
                "pack_padded_sequence needs the lengths as a tensor input of the model "
                f"(here they are constants of the trace){self.where()}"
            )
        lens = self.cast(self.name_of(lengths), lengths.dtype, np.int64)
        self._keep.append(packed)
        self._packed[id(packed.data)] = (self.name_of(input), lens, bool(batch_first))
        return packed

    def pad_packed(
        self, pad: Any, sequence: Any, batch_first: bool, padding_value: float, total_length: Any
    ) -> Any:
        info = self.packed_info(sequence)
        with self.quiet():
            padded, lengths = pad(sequence, batch_first, padding_value, total_length)
        assert info is not None
        x, lens, was_batch_first = info
        g = self.g
        if was_batch_first:  # a pack of the input itself, padded again
            x = g.node("Transpose", [x], perm=[1, 0] + list(range(2, padded.ndim)))
        if padding_value != 0:
            raise ExportError(
                f"pad_packed_sequence(padding_value != 0) is not exportable{self.where()}"
            )
        stop = (
            g.node("ReduceMax", [lens], keepdims=1)
            if total_length is None
            else self.sym(total_length)
        )
        x = g.node("Slice", [x, g.ints([0]), stop, g.ints([0])])
        if batch_first:
            x = g.node("Transpose", [x], perm=[1, 0] + list(range(2, padded.ndim)))
        self.bind(padded, x)
        self.bind(lengths, g.node("Identity", [lens]))
        return padded, lengths

    # ---- where ------------------------------------------------------------------------

    def where(self) -> str:
        """`` (called at file:line in function)`` for the innermost frame outside elman."""
        for frame in reversed(traceback.extract_stack()):
            if not os.path.abspath(frame.filename).startswith(_PACKAGE + os.sep):
                return f" (called at {frame.filename}:{frame.lineno} in {frame.name})"
        return ""

    # ---- hooks --------------------------------------------------------------------------

    def function(
        self, cls: type, args: tuple[Any, ...], kwargs: dict[str, Any], results: Any
    ) -> None:
        if self.depth:
            return
        tensors = [a for a in args if isinstance(a, Tensor)]
        index_traced = any(self.traced_array(a) is not None for a in _index_arrays(args))
        if not any(self.is_traced(a) for a in tensors) and not index_traced:
            return  # constants and parameters only: the result is a constant of the graph
        from ._emit_ops import emitter_for

        emit = emitter_for(cls)
        if emit is None:
            raise ExportError(
                f"elman.onnx.export cannot express the op {cls.__name__} "
                f"({cls.backward_name or cls.__name__ + 'Backward0'}){self.where()}"
            )
        self.current = cls
        names = emit(self, args, kwargs, results)
        names = names if isinstance(names, list) else [names]
        for r, n in zip(results, names, strict=True):
            if n is not None:
                self.bind(r, n)

    def module(self, mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.depth:
            return mod.forward(*args, **kwargs)
        from ._emit_rnn import module_emitter_for

        emit = module_emitter_for(mod)
        if emit is None:
            return mod.forward(*args, **kwargs)
        return emit(self, mod, args, kwargs)

    def filled(self, t: Tensor, value: Any, shape: Any) -> None:
        """``zeros``/``ones``/``full`` of a size read from a traced tensor: ConstantOfShape."""
        if self.depth or not any(isinstance(n, SymInt) for n in shape):
            return
        fill = np.asarray([value], dtype=t.dtype)
        from onnx import numpy_helper

        out = self.g.node(
            "ConstantOfShape", [self.shape_value(shape)], value=numpy_helper.from_array(fill)
        )
        self.bind(t, out)

    def filled_like(self, out: Tensor, t: Any) -> None:
        if self.depth or not self.is_traced(t):
            return
        from onnx import numpy_helper

        fill = np.asarray([out._data.flat[0] if out._data.size else 0], dtype=out.dtype)
        name = self.g.node(
            "ConstantOfShape", [self.shape_of(t)], value=numpy_helper.from_array(fill)
        )
        self.bind(out, name)


def _index_arrays(args: tuple[Any, ...]) -> list[Any]:
    out = []
    for a in args:
        items = a if isinstance(a, tuple) else (a,)
        out.extend(i for i in items if isinstance(i, np.ndarray))
    return out
