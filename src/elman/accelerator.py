"""``torch.accelerator``: there is none in elman (CPU only)."""

from __future__ import annotations

__all__ = ["is_available", "current_accelerator", "device_count"]


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False) -> None:
    """None: no accelerator, so scripts fall back to ``torch.device("cpu")``."""
    return None


def device_count() -> int:
    return 0
