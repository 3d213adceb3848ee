"""An RNN's parameters as one flat buffer, in torch's order (``RNN._flat_weights``).

Per (layer, direction) k: ``w_ih (H, In)``, ``w_hh (H, H)`` and, with bias, ``b_ih (H)``,
``b_hh (H)``; In is I for the first layer and D*H above. :class:`elman.nn.RNN` keeps its
parameters as views of such a buffer and the fused kernels read (and write gradients in)
exactly this layout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["flat_shapes", "flat_spans", "split_flat", "Span"]

Span = tuple[int, int, "tuple[int, ...] | None"]  # start, stop, shape (None: 1-D, no reshape)


def flat_shapes(I: int, H: int, num_layers: int, D: int, has_bias: bool) -> list[tuple[int, ...]]:
    """The parameter shapes in torch's order."""
    shapes: list[tuple[int, ...]] = []
    for k in range(num_layers * D):
        shapes += [(H, I if k < D else D * H), (H, H)] + ([(H,), (H,)] if has_bias else [])
    return shapes


def flat_spans(shapes: Sequence[tuple[int, ...]]) -> list[Span]:
    """Where each shape's piece lies in the flat buffer: consecutive, in order."""
    spans: list[Span] = []
    p = 0
    for shape in shapes:
        n = math.prod(shape)
        spans.append((p, p + n, shape if len(shape) != 1 else None))
        p += n
    return spans


def split_flat(buf: np.ndarray, spans: Sequence[Span]) -> list[np.ndarray]:
    """Views of the pieces of the 1-D ``buf`` that ``spans`` (:func:`flat_spans`) name.
    Runs on every backward of an RNN: the spans are computed once, 1-D pieces not reshaped."""
    return [buf[a:b] if shape is None else buf[a:b].reshape(shape) for a, b, shape in spans]
