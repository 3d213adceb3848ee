"""Modules written as a whole: ``nn.RNN`` as one ONNX ``RNN`` node per layer,
``nn.Embedding`` as a Gather, ``nn.Dropout`` as the identity (eval mode only).

For ``nn.RNN`` (input (L, N, I), or (N, L, I) batch-first, or (L, I) unbatched):
- X is transposed to ONNX's time-major layout (onnxruntime refuses ``layout=1``);
- layer k is ``RNN(X, W, R, B, sequence_lens, initial_h)`` with W = the stacked
  ``weight_ih_l{k}[_reverse]`` (D, H, I), R the ``weight_hh`` (D, H, H), B = [b_ih, b_hh]
  per direction (D, 2H), ``initial_h`` = h0[k*D:(k+1)*D], ``sequence_lens`` = the
  ``lengths=`` (int32);
- its Y (L, D, N, H) becomes the next layer's input (L, N, D*H) by Transpose + Reshape;
- h_n is the Concat of the layers' Y_h.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import TensorProto

from ..nn import RNN, Dropout, Embedding
from ._symbolic import ExportError

__all__ = ["module_emitter_for"]


def module_emitter_for(mod: Any) -> Any:
    if isinstance(mod, RNN):
        return emit_rnn
    if isinstance(mod, Dropout):
        return _dropout
    if isinstance(mod, Embedding):
        return _embedding
    return None


def _dropout(tr: Any, mod: Any, args: Any, kwargs: Any) -> Any:
    if mod.training and mod.p > 0:
        raise ExportError(
            f"Dropout(p={mod.p}) in training mode cannot be exported (its mask is random "
            f"per call): call model.eval() before elman.onnx.export{tr.where()}"
        )
    return mod.forward(*args, **kwargs)


def _embedding(tr: Any, mod: Any, args: Any, kwargs: Any) -> Any:
    if mod.max_norm is not None:
        raise ExportError(
            "Embedding(max_norm=...) renormalises its weight in place on every call, which "
            f"a graph cannot do: export a copy without max_norm{tr.where()}"
        )
    (indices,) = args
    with tr.quiet():
        out = mod.forward(indices)
    if not tr.is_traced(indices):
        return out  # constant indices: a constant result
    idx = tr.cast(tr.name_of(indices), indices.dtype, np.int64)
    tr.bind(out, tr.g.node("Gather", [tr.name_of(mod.weight), idx], axis=0))
    return out


def _layer_weights(tr: Any, rnn: Any, layer: int, path: str) -> list[str]:
    """Initializers W, R, B of one layer (both directions stacked), made once per RNN."""
    D = rnn.num_directions
    sfx = ["", "_reverse"][:D]
    names = [f"{path}.W_l{layer}", f"{path}.R_l{layer}", f"{path}.B_l{layer}"]
    g = tr.g
    if names[0] not in g.initializers:

        def stack(kind: str) -> np.ndarray:
            return np.stack([getattr(rnn, f"{kind}_l{layer}{s}")._data for s in sfx])

        g.add_initializer(names[0], stack("weight_ih"))
        g.add_initializer(names[1], stack("weight_hh"))
        if rnn.bias:
            g.add_initializer(
                names[2], np.concatenate([stack("bias_ih"), stack("bias_hh")], axis=1)
            )
    return names if rnn.bias else names[:2] + [""]


def emit_rnn(tr: Any, rnn: Any, args: Any, kwargs: Any) -> Any:
    input = args[0] if args else kwargs.get("input")
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    lengths = kwargs.get("lengths")
    if rnn.training and rnn.dropout > 0 and rnn.num_layers > 1:
        raise ExportError(
            f"RNN(dropout={rnn.dropout}) in training mode cannot be exported (its inter-layer "
            f"dropout mask is random per call): call model.eval() first{tr.where()}"
        )
    packed = tr.packed_info(input)
    with tr.quiet():
        out, h_n = rnn.forward(*args, **kwargs)
    if packed is None and not tr.is_traced(input):
        return out, h_n  # a constant input: constant results
    if packed is not None:
        x_name, lens, batch_first = packed
        unbatched = False
    else:
        x_name, unbatched, batch_first = tr.name_of(input), input.ndim == 2, rnn.batch_first
        lens = None
        if lengths is not None:
            lens = tr.cast(tr.name_of(lengths), np.asarray(lengths).dtype, np.int64)
    g = tr.g
    path = tr.paths.get(id(rnn), "rnn") or "rnn"
    x = x_name
    if unbatched:
        x = g.node("Unsqueeze", [x, g.ints([1])])
    elif batch_first:
        x = g.node("Transpose", [x], perm=[1, 0, 2])
    seq = "" if lens is None else g.node("Cast", [lens], to=TensorProto.INT32)
    h0 = None
    if hx is not None:
        h0 = tr.name_of(hx)
        if unbatched:
            h0 = g.node("Unsqueeze", [h0, g.ints([1])])
    D = rnn.num_directions
    act = "Relu" if rnn.nonlinearity == "relu" else "Tanh"
    yhs = []
    for layer in range(rnn.num_layers):
        init = ""
        if h0 is not None:
            bounds = [g.ints([layer * D]), g.ints([(layer + 1) * D]), g.ints([0])]
            init = g.node("Slice", [h0, *bounds])
        y, yh = g.node(
            "RNN",
            [x, *_layer_weights(tr, rnn, layer, path), seq, init],
            outputs=2,
            name=f"{path}.l{layer}",
            hidden_size=rnn.hidden_size,
            direction="bidirectional" if D == 2 else "forward",
            activations=[act] * D,
        )
        yhs.append(yh)
        y = g.node("Transpose", [y], perm=[0, 2, 1, 3])  # (L, N, D, H)
        x = g.node("Reshape", [y, g.ints([0, 0, -1])])  # (L, N, D*H)
    hn = yhs[0] if len(yhs) == 1 else g.node("Concat", yhs, axis=0)
    if packed is not None:
        tr.bind_packed(out, x, lens)
    else:
        if unbatched:
            x = g.node("Squeeze", [x, g.ints([1])])
        elif batch_first:
            x = g.node("Transpose", [x], perm=[1, 0, 2])
        tr.bind(out, x)
    if unbatched:
        hn = g.node("Squeeze", [hn, g.ints([1])])
    tr.bind(h_n, hn)
    return out, h_n
