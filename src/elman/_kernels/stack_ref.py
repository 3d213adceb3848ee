r"""NumPy reference of a whole multi-layer (optionally bidirectional) Elman RNN over packed data.

The stack composes :mod:`rnn_ref`'s one-layer kernels exactly as torch composes its layers:
layer ``l`` reads the previous layer's output (the directions concatenated, forward first),
multiplied by a dropout mask between layers when one is given; ``h_n[l * D + d]`` is each
sequence's final state of layer ``l``, direction ``d`` (before dropout).

Shapes: T = sum(batch_sizes) packed rows; L = len(batch_sizes) steps; N = batch_sizes[0];
I = input features; H = hidden size; D = 1 or 2 directions; NL = layers.

``weights`` lists one ``(w_ih, w_hh, b_ih, b_hh)`` per (layer, direction) in torch's order
(``b_ih``/``b_hh`` None without bias); ``masks`` lists NL - 1 arrays (T, D*H) already scaled by
1/(1-p), or is None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .rnn_ref import packed_layer_backward, packed_layer_forward

__all__ = ["stack_forward", "stack_backward", "layer_input", "Stack", "Weights"]

Weights = Sequence[tuple[np.ndarray, np.ndarray, Any, Any]]


class Stack(NamedTuple):
    """The arguments every stack kernel takes, grouped (the compiled stacks pass them on
    as one): x (T, I) rows or (L, N, I) time-major, sizes (L,) int64 batch_sizes, h0
    (NL*D, N, H), weights, num_layers, relu, masks (see the module docstring)."""

    x: np.ndarray
    sizes: np.ndarray
    h0: np.ndarray
    weights: Weights
    num_layers: int
    relu: bool
    masks: Sequence[np.ndarray] | None


def stack_forward(
    x: np.ndarray,
    batch_sizes: np.ndarray,
    h0: np.ndarray,
    weights: Weights,
    num_layers: int,
    relu: bool,
    masks: Sequence[np.ndarray] | None,
    keep: bool = True,
    variant: Any = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Run every layer and direction.

    Args:
        x: (T, I) packed input, or (L, N, I) dense time-major (any strides)
        batch_sizes: (L,) int64, non-increasing
        h0: (NL*D, N, H)
        weights: per (layer, direction) ``(w_ih, w_hh, b_ih, b_hh)`` (module docstring)
        num_layers: NL
        relu: relu instead of tanh
        masks: NL - 1 dropout masks (T, D*H), or None (module docstring)
        keep: False for a forward no backward follows: only the last layer's output is
            returned (each layer's is dropped once the next has read it)
        variant: the compiled twin's choice of kernels (the reference has one way: unread)

    Returns:
        outs: NL arrays (T, D*H), each layer's output before dropout (the last one is the
        RNN's output; ``keep=False``: that one only); h_n: (NL*D, N, H).
    """
    x = x.reshape(-1, x.shape[-1])  # (T, I) rows
    D = len(weights) // num_layers
    H = h0.shape[-1]
    outs: list[np.ndarray] = []
    h_n = np.empty_like(h0)
    layer_in = x
    for layer in range(num_layers):
        out = np.empty((x.shape[0], D * H), dtype=x.dtype)  # (T, D*H)
        for d in range(D):
            k = layer * D + d
            w_ih, w_hh, b_ih, b_hh = weights[k]
            o, hn = packed_layer_forward(
                layer_in, batch_sizes, h0[k], w_ih, w_hh, b_ih, b_hh, d == 1, relu
            )
            out[:, d * H : (d + 1) * H] = o
            h_n[k] = hn
        if not keep:
            outs.clear()
        outs.append(out)
        layer_in = out if masks is None or layer == num_layers - 1 else out * masks[layer]
    return outs, h_n


def layer_input(x: np.ndarray, outs: Sequence[np.ndarray], masks: Any, layer: int) -> np.ndarray:
    """What layer ``layer`` consumed: x, or the layer below's output times its dropout mask."""
    if layer == 0:
        return x
    return outs[layer - 1] if masks is None else outs[layer - 1] * masks[layer - 1]


def stack_backward(
    x: np.ndarray,
    batch_sizes: np.ndarray,
    h0: np.ndarray,
    weights: Weights,
    num_layers: int,
    relu: bool,
    masks: Sequence[np.ndarray] | None,
    outs: Sequence[np.ndarray],
    g_out: np.ndarray,
    g_hn: np.ndarray,
    variant: Any = None,
    need_dx: bool = True,
    need_dh0: bool = True,
) -> tuple[Any, Any, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """BPTT through every layer and direction, last layer first.

    Args:
        x: (T, I) rows, as given to the forward
        batch_sizes: as given to the forward
        h0: as given to the forward
        weights: as given to the forward
        num_layers: as given to the forward
        relu: as given to the forward
        masks: as given to the forward
        outs: the forward's per-layer outputs
        g_out: (T, D*H) gradient of the last layer's output
        g_hn: (NL*D, N, H) gradient of h_n
        variant: as given to the forward (unread)
        need_dx: False when no gradient of x is wanted: dx is then None (the compiled
            twin skips its product)
        need_dh0: False when no gradient of h0 is wanted: dh0 is then None (the compiled
            twin's layered backward skips the products that make only dh0)

    Returns:
        dx (T, I) or None; dh0 (NL*D, N, H) or None; per (layer, direction)
        ``(dW_ih, dW_hh, db)`` where db is the gradient of b_ih and of b_hh alike.
    """
    D = len(weights) // num_layers
    H = h0.shape[-1]
    dh0 = np.empty_like(h0)
    grads: list[Any] = [None] * len(weights)
    g_layer = g_out
    for layer in reversed(range(num_layers)):
        layer_in = layer_input(x, outs, masks, layer)
        g_in = np.zeros_like(layer_in)  # (T, I or D*H): summed over directions
        for d in range(D):
            k = layer * D + d
            w_ih, w_hh, _, _ = weights[k]
            dx, dh, dw_ih, dw_hh, db = packed_layer_backward(
                layer_in,
                batch_sizes,
                h0[k],
                w_ih,
                w_hh,
                outs[layer][:, d * H : (d + 1) * H],
                g_layer[:, d * H : (d + 1) * H],
                g_hn[k],
                d == 1,
                relu,
            )
            g_in += dx
            dh0[k] = dh
            grads[k] = (dw_ih, dw_hh, db)
        g_layer = g_in if layer == 0 or masks is None else g_in * masks[layer - 1]
    return g_layer if need_dx else None, dh0 if need_dh0 else None, grads
