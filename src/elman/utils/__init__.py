"""torch's ``torch.utils`` names that training scripts use: :mod:`elman.utils.data`."""

from . import data

__all__ = ["data"]
