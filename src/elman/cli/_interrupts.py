"""Signals that stop ``elman train`` cleanly: Ctrl-C (SIGINT) and SIGTERM."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from ._errors import EXIT_INTERRUPTED, EXIT_TERMINATED

__all__ = ["Interrupts"]


class Interrupts:
    """Ctrl-C (SIGINT) or SIGTERM (``kill``, ``docker stop``, a job scheduler) while
    training: the first one asks the loop to save and stop after the current step; a second
    one stops at once, except during a save (then it waits). The exit code says which:
    130 for SIGINT, 143 (128 + 15) for SIGTERM."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self.saving = False
        self.by: int = signal.SIGINT
        self._previous: dict[int, Any] = {}

    @property
    def exit_code(self) -> int:
        return EXIT_TERMINATED if self.by == signal.SIGTERM else EXIT_INTERRUPTED

    @property
    def word(self) -> str:
        return "terminated (SIGTERM)" if self.by == signal.SIGTERM else "interrupted"

    def __enter__(self) -> Interrupts:
        for signum in self.SIGNALS:
            previous = signal.getsignal(signum)
            self._previous[signum] = previous
            if previous is not signal.SIG_IGN:  # (a background job ignores SIGINT)
                signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested and not self.saving:
            raise KeyboardInterrupt
        if not self.requested:
            self.by = signum
        self.requested = True

    @contextmanager
    def save_window(self) -> Iterator[None]:
        self.saving = True
        try:
            yield
        finally:
            self.saving = False
