"""torch.nn.modules.loss: MSELoss, L1Loss and CrossEntropyLoss (re-exported from elman.nn)."""

from ..loss import CrossEntropyLoss, L1Loss, MSELoss

__all__ = ["MSELoss", "L1Loss", "CrossEntropyLoss"]
