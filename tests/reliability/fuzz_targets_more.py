"""Fuzz targets: torch's file format (``elman.save``/``elman.load``), thread counts and
anomaly mode."""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from typing import Any

import numpy as np
from fuzz_core import Lib
from fuzz_targets_io import MUTATIONS, _mutate
from fuzz_targets_tensor import call
from fuzz_values import JUNK, NP_INTS, arrays, bool_arg, float_arrays, shapes, weighted
from fuzz_verdict import Target
from hypothesis import strategies as st

PT_VALUES = weighted(
    (
        6,
        arrays(
            shapes(0, 3, 0, 3),
            st.sampled_from(
                ["float32", "float64", "int64", "int32", "int8", "uint8", "bool", "float16"]
            ),
            rg=False,
            forms=("tensor",) * 4 + ("t",),
        ),
    ),
    (2, st.sampled_from([1, 2.5, "name", None, True, [1, 2], (3,), {"lr": 0.1}])),
    (1, st.sampled_from([object, print, np.float32(1), slice(1, 2)])),
)


@st.composite
def pt_case(draw: Any) -> Any:
    obj = draw(
        st.dictionaries(st.sampled_from(["w", "b", "state", "epoch", 3]), PT_VALUES, max_size=4)
    )
    if draw(st.integers(0, 5)) == 0:
        obj = {"outer": obj, "list": list(obj.values())}
    how = draw(weighted((5, st.just("none")), (2, MUTATIONS)))
    return obj, how, draw(st.integers(0, 2**31)), draw(st.sampled_from([None, True]))


def _pt_roundtrip(L: Lib, a: Any) -> Any:
    """save then load (torch's default weights_only=True), the file damaged in between."""
    obj, how, seed, weights_only = a
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "f.pt")
    try:
        L.mod.save(obj, path)
        _mutate(path, how, np.random.default_rng(seed))
        return L.mod.load(path, weights_only=weights_only)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _threads(L: Lib, a: Any) -> Any:
    (n,), _ = a
    before = L.mod.get_num_threads()
    try:
        L.mod.set_num_threads(n)
        return L.mod.get_num_threads() == (int(n) if n is not None else None)
    finally:
        L.mod.set_num_threads(before)


def _anomaly(L: Lib, a: Any) -> Any:
    """Backward through sqrt under anomaly mode: NaN where x < 0 (torch's RuntimeError names
    SqrtBackward0); the mode's switches are fuzzed too."""
    (x, mode), kw = a
    with L.mod.autograd.set_detect_anomaly(mode, **kw):
        y = x.sqrt() if hasattr(x, "sqrt") else x
        y.sum().backward()
    return x.grad


TARGETS = [
    Target("elman.save+load", pt_case(), _pt_roundtrip, extra=(OSError, pickle.UnpicklingError)),
    Target(
        "elman.set_num_threads",
        call(
            weighted(
                (6, st.integers(1, 4)),
                (2, st.sampled_from([0, -1, 2.0, True, None, "2", 2**63])),
                (1, NP_INTS),
            )
        ),
        _threads,
    ),
    Target(
        "autograd.set_detect_anomaly",
        call(float_arrays(shapes(1, 2), rg=True), bool_arg(), check_nan=bool_arg()),
        _anomaly,
    ),
]

_ = JUNK
