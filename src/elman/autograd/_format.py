"""``repr`` of a Tensor laid out the way torch prints it.

torch's printing rules (``torch/_tensor_str.py``) with its default print options: four
decimals, scientific notation when magnitudes span more than 10^3 (or exceed 10^8, or fall
below 10^-4), integral floats printed as ``1.``, rows wrapped at 80 characters and tensors
of more than 1,000 elements summarised with ``...`` and three items at each edge.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["format_tensor"]

PRECISION = 4
LINEWIDTH = 80
THRESHOLD = 1000
EDGEITEMS = 3


class _Formatter:
    """Chooses one width and one notation for every element, so columns line up."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.width = max(self.width, len(f"{v}"))
            return
        # Zeros and non-finite values print the same in every mode, so they do not vote.
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size == 0:
            return
        mags = np.abs(finite)
        lo, hi = float(mags.min()), float(mags.max())
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        spread = hi / lo > 1000.0 or hi > 1.0e8
        self.sci_mode = spread if self.int_mode else spread or lo < 1.0e-4
        for v in finite.tolist():
            if self.sci_mode:
                n = len(f"{v:.{PRECISION}e}")
            elif self.int_mode:
                n = len(f"{v:.0f}") + 1  # the trailing "." that marks a float
            else:
                n = len(f"{v:.{PRECISION}f}")
            self.width = max(self.width, n)

    def format(self, v: Any) -> str:
        if not self.floating:
            text = f"{v}"
        elif self.sci_mode:
            text = f"{v:{self.width}.{PRECISION}e}"
        elif self.int_mode:
            text = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            text = f"{v:.{PRECISION}f}"
        return text.rjust(self.width)


def _summarized(a: np.ndarray) -> np.ndarray:
    """Only the elements that will be shown, so the formatter's width ignores the rest."""
    if a.ndim == 0 or a.shape[0] <= 2 * EDGEITEMS:
        rows = list(a) if a.ndim > 1 else [a]
    else:
        rows = list(a[:EDGEITEMS]) + list(a[-EDGEITEMS:])
    if a.ndim <= 1:
        return np.concatenate([np.ravel(r) for r in rows])
    return np.stack([_summarized(r) for r in rows])


def _vector(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))  # 2 for ", "
    if summarize and a.shape[0] > 2 * EDGEITEMS:
        items = [fmt.format(v) for v in a[:EDGEITEMS].tolist()] + [" ..."]
        items += [fmt.format(v) for v in a[-EDGEITEMS:].tolist()]
    else:
        items = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    n = a.shape[0]
    if summarize and n > 2 * EDGEITEMS:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(EDGEITEMS)] + ["..."]
        rows += [_nested(a[i], indent + 1, summarize, fmt) for i in range(n - EDGEITEMS, n)]
    else:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(n)]
    # A blank line between blocks of 3-D and higher tensors, as torch does.
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _add_suffixes(body: str, suffixes: list[str], indent: int) -> str:
    parts = [body]
    last_line = len(body) - body.rfind("\n") + 1
    for s in suffixes:
        if last_line + len(s) + 2 > LINEWIDTH:
            parts.append(",\n" + " " * indent + s)
            last_line = indent + len(s)
        else:
            parts.append(", " + s)
            last_line += len(s) + 2
    return "".join(parts) + ")"


def format_tensor(a: np.ndarray, default_dtype: np.dtype, suffixes: list[str]) -> str:
    """``tensor(<values>, <suffixes>)`` for ``a``; a ``dtype=`` suffix is added when needed.

    Args:
        a: the values.
        default_dtype: the floating dtype that goes without saying (float32).
        suffixes: autograd notes such as ``requires_grad=True``, printed last.
    """
    prefix = "tensor("
    indent = len(prefix)
    extra: list[str] = []
    if a.size == 0:
        if a.ndim != 1:
            extra.append(f"size={tuple(a.shape)}")
        if a.dtype != default_dtype:  # nothing to infer an integer dtype from
            extra.append(f"dtype={a.dtype}")
        body = "[]"
    else:
        if a.dtype not in (default_dtype, np.dtype(np.int64), np.dtype(bool)):
            extra.append(f"dtype={a.dtype}")
        summarize = a.size > THRESHOLD
        shown = _summarized(a) if summarize else a
        if shown.dtype.kind == "f" and shown.dtype.itemsize < 4:  # float16: format in float32
            shown, a = shown.astype(np.float32), a.astype(np.float32)
        body = _nested(a, indent, summarize, _Formatter(shown))
    return prefix + _add_suffixes(body, extra + suffixes, indent)
