"""The one draw torch's data utilities take from a generator to seed another."""

from __future__ import annotations

from typing import Any

from ... import random as _random


def generator_or_default(generator: Any) -> Any:
    """``generator``, or the global generator behind ``manual_seed`` when it is None."""
    return _random.default_generator if generator is None else generator


def draw_seed(generator: Any = None) -> int:
    """``torch.empty((), dtype=torch.int64).random_(generator=generator).item()``: one
    ``random64()`` draw reduced to ``[0, 2**63)``."""
    return int(generator_or_default(generator)._raw64(1)[0]) % 2**63
