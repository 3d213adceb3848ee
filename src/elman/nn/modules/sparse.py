"""torch.nn.modules.sparse: Embedding (re-exported from elman.nn)."""

from ..layers import Embedding

__all__ = ["Embedding"]
