"""The harness of the RNN/RNNCell error tables: each row is one bad call, spelled once for both
libraries through a small adapter (``m.nn``, ``m.dt("float64")``, ``m.z(*shape, dtype=...)``).
elman must raise the row's exception type with the row's text. When torch is importable, the
same call runs in torch too:

* ``SAME`` rows: torch raises the same type; an exact text must equal torch's with torch's
  dtype names mapped to elman's (``torch.float64`` -> ``float64``, ``torch.`` -> ``elman.``),
  a pattern must be found in both texts. Warnings must match too.
* ``TorchDoes(...)`` rows are deliberate differences (docs/differences.md): they pin what
  torch does instead, so the list of differences stays true when torch changes.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import elman
from conftest import TORCH

E = SimpleNamespace(
    nn=elman.nn,
    dt=np.dtype,
    z=lambda *shape, dtype="float32": elman.from_numpy(np.zeros(shape, dtype)),
)
T = (
    None
    if TORCH is None
    else SimpleNamespace(
        nn=TORCH.nn,
        dt=lambda name: getattr(TORCH, name),
        z=lambda *shape, dtype="float32": TORCH.from_numpy(np.zeros(shape, dtype)),
    )
)

SAME = "same"


@dataclass(frozen=True)
class TorchDoes:
    """What torch does where elman deliberately differs: raises ``exc`` (None: succeeds)."""

    exc: type[BaseException] | None
    msg: str | None  # a pattern searched in torch's text
    note: str  # the difference, for docs/differences.md


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[Any], Any]
    exc: type[BaseException] | None  # None: elman succeeds
    msg: str | re.Pattern[str] | None = None  # exact text, or a pattern searched in it
    warns: str | None = None  # the UserWarning text (issued before the error, if any)
    torch: Any = SAME  # SAME, TorchDoes(...), or None (not comparable on every machine)


def _text_ok(text: str, expected: str | re.Pattern[str] | None) -> bool:
    if expected is None:
        return True
    if isinstance(expected, re.Pattern):
        return expected.search(text) is not None
    return text == expected


def _elman_names(text: str) -> str:
    """torch's message in elman's words: ``dtype (torch.float64)`` -> ``dtype (float64)``,
    ``input.to(torch.float32)`` -> ``input.to(elman.float32)``."""
    return re.sub(r"dtype \(torch\.(\w+)\)", r"dtype (\1)", text).replace("torch.", "elman.")


def _run_elman(case: Case) -> None:
    with contextlib.ExitStack() as stack:
        rec = stack.enter_context(pytest.warns(UserWarning)) if case.warns else None
        info = stack.enter_context(pytest.raises(case.exc)) if case.exc else None
        case.call(E)
    if rec is not None:
        assert [str(w.message) for w in rec] == [case.warns]
    if info is not None:
        assert type(info.value) is case.exc
        assert _text_ok(str(info.value), case.msg), str(info.value)


def _run_torch(call: Callable[[Any], Any]) -> tuple[BaseException | None, list[str]]:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            call(T)
        except Exception as exc:  # noqa: BLE001 - the oracle's outcome, whatever it is
            return exc, [str(w.message) for w in rec]
    return None, [str(w.message) for w in rec]


def _compare_torch(case: Case) -> None:
    if TORCH is None or case.torch is None:
        return
    exc, warned = _run_torch(case.call)
    if case.torch == SAME:
        assert type(exc) is case.exc if case.exc else exc is None, repr(exc)
        if exc is not None and isinstance(case.msg, str):
            assert _elman_names(str(exc)) == case.msg
        elif exc is not None:
            assert _text_ok(str(exc), case.msg), str(exc)
        assert warned == ([case.warns] if case.warns else [])
    else:
        expect = case.torch
        assert (type(exc) is expect.exc) if expect.exc else exc is None, repr(exc)
        if exc is not None and expect.msg is not None:
            assert re.search(expect.msg, str(exc)), str(exc)


def _check(case: Case) -> None:
    _run_elman(case)
    _compare_torch(case)


def _pat(text: str) -> re.Pattern[str]:
    return re.compile(re.escape(text))


DROPOUT_RANGE = (
    "dropout should be a number in range [0, 1] representing the probability of an element "
    "being zeroed"
)


def _dropout_warning(dropout: Any, num_layers: Any = 1) -> str:
    return (
        "dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
        f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}"
    )


PROJ = "proj_size argument is only supported for LSTM, not RNN or GRU"
BOOL_SIZES = "bool sizes are rejected (torch takes True as 1)"
BIDI = "bidirectional is validated as a bool (torch accepts anything and fails in forward)"
F32_F64 = "elman builds float32 and float64 modules only"
NOT_CPU = "device other than cpu is rejected with a ValueError"
NUM_LAYERS = "num_layers of a non-int type gets a clear TypeError naming num_layers"


HX_DTYPE = "hx of another dtype than the weights gets a clear message"
ARRAYS = "ndarrays and lists are accepted as input and hx"
UNBATCHED_HX = "unbatched hx shape errors state shapes as the user gave them"


def _mat_dtypes(got: str, want: str) -> str:
    return f"mat1 and mat2 must have the same dtype, but got {got} and {want}"


def _input_dtype(got: str, want: str, model: bool = True) -> str:
    text = (
        f"RNN input dtype ({got}) does not match weight dtype ({want}). "
        f"Convert input: input.to(elman.{want})"
    )
    return text + (f", or convert model: model.to(elman.{got})" if model else "")
