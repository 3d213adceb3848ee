"""torch.nn.modules.dropout: Dropout (re-exported from elman.nn)."""

from ..layers import Dropout

__all__ = ["Dropout"]
