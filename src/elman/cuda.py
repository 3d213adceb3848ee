"""``torch.cuda`` for a CPU-only library: scripts ask before they use a GPU, and the answers
here send them down their CPU path. Seeding functions do nothing (no CUDA generator), as in
torch without a GPU; anything that would need a GPU raises one clear error."""

from __future__ import annotations

from typing import Any

__all__ = [
    "is_available",
    "device_count",
    "manual_seed",
    "manual_seed_all",
    "seed",
    "seed_all",
    "synchronize",
    "empty_cache",
    "current_device",
    "is_initialized",
]


def is_available() -> bool:
    """False: elman runs on the CPU only."""
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Nothing to seed (torch too ignores it when CUDA is unavailable)."""


def manual_seed_all(seed: int) -> None:
    """Nothing to seed (torch too ignores it when CUDA is unavailable)."""


def seed() -> None:
    pass


def seed_all() -> None:
    pass


def synchronize(device: Any = None) -> None:
    pass


def empty_cache() -> None:
    pass


def current_device() -> int:
    raise RuntimeError("elman runs on the CPU only: there is no CUDA device")
