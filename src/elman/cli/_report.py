"""Honest wording of a loss against a baseline's (lower is better for every task here)."""

from __future__ import annotations

import math

__all__ = ["versus"]


def versus(loss: float, baseline: float, name: str = "the baseline") -> str:
    """How ``loss`` compares with ``baseline``, e.g. ``18.9x better than the baseline (0.41)``.

    The ratio is always the larger over the smaller loss (>= 1), so "1.0x better" for a worse
    model or "0.1x worse" for a 10x worse one cannot be printed; within 1% is "about equal".
    """
    base = f"{name} ({baseline:.5g})"
    if not (math.isfinite(loss) and math.isfinite(baseline)):
        return f"not comparable with {base}"
    low, high = min(loss, baseline), max(loss, baseline)
    if loss == baseline or (low > 0 and high < 1.01 * low):
        return f"about equal to {base}"
    if loss < baseline:
        if loss <= 0:
            return f"better than {base}"
        return f"{baseline / loss:.3g}x better than {base}"
    if baseline <= 0:
        return f"worse than {base}"
    return f"{loss / baseline:.3g}x worse than {base}"
