"""More documented differences the fuzzer accepts (found after the NaN/inf and thread work
were merged): torch's file format, anomaly mode, optimizer options and float rounding. Each
is listed in docs/differences.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fuzz_allow import Allow, _has
from fuzz_core import Arr


def _f64(test: Any) -> Any:
    return lambda v: isinstance(v, Arr) and v.data.dtype == np.float64 and bool(test(v.data).any())


def _f32(test: Any) -> Any:
    return lambda v: isinstance(v, Arr) and v.data.dtype == np.float32 and bool(test(v.data).any())


def _overflows_squared(a: np.ndarray) -> np.ndarray:
    """Finite values whose square overflows float32 (|x| > 1.8e19)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(a) & (np.abs(a) > 1.8e19)


ALLOW_MORE = [
    Allow(
        "any",
        "any",
        "a damaged torch file is verified by elman and refused with a CheckpointError naming it "
        "(torch's zip reader fails with its own RuntimeError, or loads what it can)",
        targets=r"elman\.save\+load",
        when=lambda a: a[1] != "none",
    ),
    Allow(
        RuntimeError,
        "ok",
        "anomaly mode raises for an inf gradient too (torch only for NaN)",
        targets=r"autograd\.set_detect_anomaly",
        elman_msg=r"returned inf values",
    ),
    Allow(
        "ok",
        Exception,
        "elman.save writes NumPy scalars as Python numbers (torch pickles the NumPy object, "
        "which its weights_only load refuses)",
        targets=r"elman\.save\+load",
        when=_has(lambda v: isinstance(v, np.generic)),
    ),
    Allow(
        "ok",
        RuntimeError,
        "a bool hyperparameter is the number 0 or 1 (torch's update refuses a bool alpha)",
        targets=r"optim\.",
        torch_msg=r"Boolean alpha",
    ),
    Allow(
        RuntimeError,
        IndexError,
        "an empty padded batch is refused first (torch's enforce_sorted=False path sorts 2-D "
        "lengths before it looks)",
        targets=r"nn\.utils\.rnn\.pa",
        elman_msg=r"Cannot pack empty",
        torch_msg=r"index_select",
    ),
    Allow(
        "ok",
        "ok",
        "an overflowing float32 product next to an inf: BLAS's fused multiply-add order decides "
        "between inf and NaN (torch's and NumPy's BLAS differ)",
        targets=r"nn\.(functional\.linear|Linear)",
        detail=r"NaN positions differ",
        when=lambda a: _has(_f32(np.isinf))(a) and _has(_f32(_overflows_squared))(a),
    ),
    Allow(
        "ok",
        "ok",
        "an optimizer step on gradients of 1e30 cancels catastrophically; torch's fused "
        "multiply-add rounds differently (float64, which elman does not fuse)",
        targets=r"optim\.",
        detail=r"values differ",
        when=_has(_f64(lambda a: np.isfinite(a) & (np.abs(a) > 1e15))),
    ),
    Allow(
        TypeError,
        "any",
        "optimizer options whose default is a number must be numbers (checked when the group is "
        "added; torch fails when it first uses one, or never)",
        targets=r"optim\.",
        elman_msg=r"must be a number, got",
    ),
    Allow(
        "ok",
        "ok",
        "fused multiply-add rounding in a centered RMSprop's variance (g^2 - g^2 is 0 in "
        "elman, +-1 ulp in torch, whose square root is then NaN), float64 or huge gradients",
        targets=r"optim\.RMSprop",
        detail=r"NaN positions differ|inf positions differ|values differ",
        when=lambda a: (
            bool(a[4].get("centered"))
            and (float(a[4].get("alpha", 0.99)) < 1e-6 or a[1] == "float64")
        ),
    ),
    Allow(
        TypeError,
        "any",
        "a sequence that is not a tensor is refused before the others are looked at",
        targets=r"nn\.utils\.rnn\.",
        elman_msg=r"expected a Tensor, ndarray or list, got \w+",
    ),
    Allow(
        TypeError,
        RuntimeError,
        "a non-bool batch_first is reported before the lengths are matched to the batch "
        "(torch's enforce_sorted=False path indexes first)",
        targets=r"nn\.utils\.rnn\.pa",
        elman_msg=r"batch_first",
        torch_msg=r"INDICES element is out of DATA bounds|index_select",
    ),
    Allow(
        TypeError,
        IndexError,
        "embedding's flags are checked before the indices",
        targets=r"nn\.(functional\.embedding|Embedding)",
        elman_msg=r"must be bool",
    ),
    Allow(
        RuntimeError,
        "ok",
        "an empty shape whose byte strides overflow int64 is refused (NumPy's strides count "
        "bytes; torch's count elements)",
        elman_msg=r"NumPy's strides count bytes",
    ),
    Allow(
        "ok",
        TypeError,
        "a NumPy scalar converts into an integer or bool dtype as the same value in a 0-d array "
        "does (torch refuses NumPy float, complex and bool scalars there, and takes np.float64, "
        "Python floats and 0-d arrays)",
        targets=r"elman\.(tensor|as_tensor)",
        torch_msg=r"'numpy\.\w+' object cannot be interpreted as an integer",
    ),
]
