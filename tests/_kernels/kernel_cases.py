"""Shared by the compiled-kernel tests: the cases (small shapes, so that the tests reuse a
handful of compiled signatures, one per kernel and dtype, which numba caches on disk), and
the ONE helper that compares a kernel's results with the NumPy reference's (the
``*_ref`` modules: the slow, obviously correct versions the kernels must agree with).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from conftest import assert_close  # noqa: E402
from elman._kernels import dispatch  # noqa: E402

VARIANTS = sorted(dispatch.VARIANTS)


DTYPES = ["float32", "float64"]


# (L, N, I, H, num_layers, D, batch_sizes or None for dense, relu, bias, masks)
CASES = {
    "dense-1layer-tanh": (6, 3, 4, 5, 1, 1, None, False, True, False),
    "packed-shrinking-relu": (5, 4, 3, 6, 1, 1, [4, 3, 3, 1, 1], True, True, False),
    "bi-2layers-masks": (5, 3, 4, 6, 2, 2, [3, 3, 2, 1, 1], False, True, True),
    "3layers-relu-nobias-masks": (4, 2, 3, 5, 3, 1, None, True, False, True),
    "bi-3layers-packed": (4, 3, 2, 4, 3, 2, [3, 2, 2, 1], False, True, False),
    "L1": (1, 3, 4, 5, 2, 2, None, False, True, False),
    "N0": (3, 0, 4, 5, 2, 2, None, False, True, False),
    "L0": (0, 2, 4, 5, 1, 2, None, False, True, False),
    "wide-input-5000": (3, 2, 5000, 4, 1, 1, None, False, True, False),
    # one input feature: the projection is a compiled outer product (not NumPy's matmul)
    "one-feature-bi-packed": (7, 4, 1, 6, 2, 2, [4, 4, 3, 2, 2, 1, 1], False, True, False),
    # one step of one sequence: the weight gradients are outer products (compiled)
    "one-step-one-sequence-bi": (1, 1, 5, 6, 2, 2, None, False, True, False),
    "H-not-multiple-of-16": (4, 3, 5, 37, 1, 2, [3, 3, 2, 2], False, True, False),
    # one step of one sequence, W_hh wide enough for the lone first step apart by default
    "lone-step-wide-bi": (1, 1, 5, 96, 2, 2, None, False, True, False),
    "split-sized": (3, 3, 6, 40, 2, 1, None, False, True, True),
    # several chunks of the layer wavefront (43 steps each for N=3), packed, dropout between
    "wave-chunks-packed": (100, 3, 5, 20, 2, 1, [3] * 50 + [2] * 30 + [1] * 20, False, True, True),
}


def make_case(name: str, dtype: str, seed: int = 0) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    L, N, I, H, NL, D, sizes, relu, bias, with_masks = CASES[name]
    rng = np.random.default_rng(seed)
    sizes = np.array(sizes if sizes is not None else [N] * L, dtype=np.int64)
    T, N = int(sizes.sum()), (int(sizes[0]) if L else N)

    def rnd(*shape: int, scale: float = 1.0) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(dtype)

    weights = []
    for k in range(NL * D):
        w = (rnd(H, I if k < D else D * H, scale=0.5), rnd(H, H, scale=0.9 / np.sqrt(H)))
        weights.append(w + ((rnd(H), rnd(H)) if bias else (None, None)))
    masks = None
    if with_masks:
        masks = [(rng.random((T, D * H)) > 0.3).astype(dtype) / np.asarray(0.7, dtype)]
        masks *= NL - 1
    args = (rnd(T, I), sizes, rnd(NL * D, N, H), weights, NL, relu, masks)
    return args, (rnd(T, D * H), rnd(NL * D, N, H))


def flat(result: Any) -> list[np.ndarray]:
    if isinstance(result, (list, tuple)):
        return [a for item in result for a in flat(item)]
    return [result]


def compare(actual: Any, expected: Any, what: str) -> None:
    a, e = flat(actual), flat(expected)
    assert len(a) == len(e), what
    for k, (x, y) in enumerate(zip(a, e, strict=True)):
        assert_close(x, y, f"{what}[{k}]")


def _run(code: str, **env: str | None) -> str:
    """Run ``code`` in a fresh interpreter; ``env`` entries set (a value) or unset (None)."""
    full = {**os.environ, **env}
    full = {k: v for k, v in full.items() if v is not None}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=full,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return result.stdout.strip()
