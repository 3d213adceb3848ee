"""torch.nn.modules.module: Module (re-exported from elman.nn)."""

from ..module import Module

__all__ = ["Module"]
