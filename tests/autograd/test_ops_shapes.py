"""Shape ops, indexing, cat and stack against torch (values and gradients, through
:func:`op_check.check`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from op_check import (
    M,
    check,
)

from conftest import requires_torch

pytestmark = requires_torch


# ---- shapes -----------------------------------------------------------------------------

SHAPE_OPS = {
    "reshape": lambda x: x.reshape(6, 4),
    "reshape_tuple": lambda x: x.reshape((4, -1)),
    "reshape_-1": lambda x: x.reshape(-1),
    "view": lambda x: x.view(2, 12),
    "view_-1": lambda x: x.view(-1, 4),
    "view_tuple": lambda x: x.view((3, 8)),
    "flatten": lambda x: x.flatten(),
    "flatten_1": lambda x: x.flatten(1),
    "permute": lambda x: x.permute(2, 0, 1),
    "permute_tuple": lambda x: x.permute((1, 2, 0)),
    "permute_neg": lambda x: x.permute(-1, 0, -2),
    "transpose": lambda x: x.transpose(0, 2),
    "transpose_neg": lambda x: x.transpose(-1, -2),
    "unsqueeze_0": lambda x: x.unsqueeze(0),
    "unsqueeze_2": lambda x: x.unsqueeze(2),
    "unsqueeze_-1": lambda x: x.unsqueeze(-1),
    "unsqueeze_-4": lambda x: x.unsqueeze(-4),
    "contiguous": lambda x: x.transpose(0, 1).contiguous().view(-1),
    "expand": lambda x: x[:, :1].expand(2, 5, 4),
    "expand_lead": lambda x: x[:, :1].expand(3, -1, 2, -1),
}


@pytest.mark.parametrize("op", SHAPE_OPS)
def test_shape_ops(op: str) -> None:
    check(SHAPE_OPS[op], (2, 3, 4))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.squeeze(),
        lambda x: x.squeeze(1),
        lambda x: x.squeeze(-1),
        lambda x: x.squeeze(0),  # not of size 1: unchanged
        lambda x: x.squeeze(1).squeeze(-1).unsqueeze(0),
    ],
)
def test_squeeze(fn: Any) -> None:
    check(fn, (2, 1, 4, 1))


@pytest.mark.parametrize("fn", [lambda x: x.T, lambda x: x.t(), lambda x: x.T @ x])
def test_transpose_2d(fn: Any) -> None:
    check(fn, (3, 4))


# ---- indexing ---------------------------------------------------------------------------

INDEX = {
    "int": lambda x: x[1],
    "negative": lambda x: x[-1],
    "slice": lambda x: x[1:3],
    "slice_neg": lambda x: x[:, -2:],
    "step": lambda x: x[::2, 1:, ::3],
    "ellipsis": lambda x: x[..., 1],
    "ellipsis_mid": lambda x: x[1, ..., :2],
    "none": lambda x: x[None],
    "none_mid": lambda x: x[:, None, 1],
    "int_tuple": lambda x: x[1, 2],
    "scalar": lambda x: x[1, 2, 0],
    "list_repeats": lambda x: x[[0, 0, 2]],
    "ndarray_repeats": lambda x: x[np.array([3, 0, 3, 3])],
    "pairs": lambda x: x[[0, 1, 1], [2, 2, 0]],
    "slice_then_list": lambda x: x[:, [2, 2, 0]],
    "int_list_slice": lambda x: x[1, [0, 0], 1:],
    "bool_ndarray": lambda x: x[np.array([True, False, True, True])],
    "bool_mask": lambda x: x[x > 0],
    "bool_mask_2d": lambda x: x[x[:, :, 0] > 0],
    "tensor": lambda x: x[M(x).tensor([0, 2, 0])],
    "tensor_in_tuple": lambda x: x[:, M(x).tensor([1, 1, 4])],
    "tensor_0d": lambda x: x[M(x).tensor(1)],
    "tensor_2d": lambda x: x[M(x).tensor([[0, 1], [1, 1]])],
    # of permuted views (the batch-first output of an RNN): the gradient in their layout
    "permuted_last": lambda x: x.transpose(0, 1)[:, -1] * 2,
    "permuted_slices": lambda x: x.permute(2, 0, 1)[1:, ::2] * 2,
    "permuted_list": lambda x: x.transpose(0, 1)[[0, 0, 2]] * 2,
}


@pytest.mark.parametrize("op", INDEX)
def test_indexing(op: str) -> None:
    check(INDEX[op], (4, 5, 3))


def test_indexing_twice_accumulates() -> None:
    check(lambda x: x[0] * x[-1] + x[0], (4, 3))


# ---- cat and stack ----------------------------------------------------------------------


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat(dim: int) -> None:
    shapes = {0: ((2, 3), (4, 3), (1, 3)), 1: ((2, 3), (2, 1), (2, 2)), -1: ((2, 3),) * 3}
    check(lambda x, y, z: M(x).cat([x, y, z], dim=dim), *shapes[dim])
    check(lambda x, y, z: M(x).cat((x, y, z), dim).tanh(), *shapes[dim])


def test_cat_same_tensor_twice_and_default_dim() -> None:
    check(lambda x: M(x).cat([x, x * 2]), (2, 3))


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack(dim: int) -> None:
    check(lambda x, y: M(x).stack([x, y], dim=dim), (2, 3), (2, 3))
    check(lambda x, y: M(x).stack((x, y, x), dim).sum(dim) * y, (2, 3), (2, 3))


def test_stack_of_0d_and_unbind_like_iteration() -> None:
    check(lambda x: M(x).stack([v * v for v in x]), (4,))
    check(lambda x: M(x).stack(list(x), dim=1), (3, 2))
