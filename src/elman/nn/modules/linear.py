"""torch.nn.modules.linear: Linear and Identity (re-exported from elman.nn)."""

from ..layers import Identity
from ..linear import Linear

__all__ = ["Linear", "Identity"]
