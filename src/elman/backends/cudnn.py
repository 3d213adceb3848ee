"""``torch.backends.cudnn``: no cuDNN here; the flags scripts set are accepted and kept."""

from __future__ import annotations

__all__ = ["is_available", "enabled", "deterministic", "benchmark", "allow_tf32"]

enabled = True
deterministic = False
benchmark = False
allow_tf32 = True


def is_available() -> bool:
    return False
