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

__all__ = ["flat_shapes", "split_flat"]


def flat_shapes(I: int, H: int, num_layers: int, D: int, has_bias: bool) -> list[tuple[int, ...]]:
    """The parameter shapes in torch's order."""
    shapes: list[tuple[int, ...]] = []
    for k in range(num_layers * D):
        shapes += [(H, I if k < D else D * H), (H, H)] + ([(H,), (H,)] if has_bias else [])
    return shapes


def split_flat(buf: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    """Views of consecutive pieces of the 1-D ``buf``, one per shape."""
    views, p = [], 0
    for shape in shapes:
        n = math.prod(shape)
        views.append(buf[p : p + n].reshape(shape))
        p += n
    return views
