"""The error raised for checkpoints and weights files that cannot be trusted."""

from __future__ import annotations

__all__ = ["CheckpointError"]


class CheckpointError(ValueError):
    """A checkpoint or weights file is damaged, altered, incomplete or of an unknown format.

    The message names the offending file and says what is wrong with it. Subclasses
    :class:`ValueError`, so ``except ValueError`` catches it too.
    """
