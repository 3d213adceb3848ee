"""torch.nn.modules.container: Sequential (re-exported from elman.nn)."""

from ..layers import Sequential

__all__ = ["Sequential"]
