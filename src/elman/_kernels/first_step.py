"""The first step of one direction's recurrence, run apart from the rest when it needs no
product: from a zero initial state, ``h0 @ W_hh.T`` is zero; and in BPTT its product
``dz @ W_hh`` only makes dh0, which a call without a gradient of h0 never reads.

Few steps of a wide hidden size are where this counts: each step's product is N*H^2
multiply-adds, and for one step it is the whole recurrence (torch computes it; so did
elman). :mod:`.layered_stack` runs the first step here (rows ``o : o + n`` of the layer
array, see :func:`first_rows`) and the remaining steps through the variant's recurrence
as before, on the rows after (or before, in reverse) with the first step's states as the
initial state of the sequences it started.

NaN and inf flow as through the product: a zero row times W_hh is NaN in each column whose
row of W_hh holds an inf or NaN (``0 * inf``), so the forward skips the product only when
:func:`all_finite` (W_hh) holds; the results are the product's, up to the sign of a zero.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import JIT
from .activations import act_delta, activate
from .config import DIRECT_FORWARD_WORK, DIRECT_ROWS, FIRST_STEP_APART, LONE_STEP_APART

__all__ = [
    "all_finite",
    "first_rows",
    "pays",
    "direct",
    "zero_start",
    "first_forward",
    "first_backward",
]


@njit(**JIT)
def all_finite(w):
    """No inf or NaN in the 2-D array ``w`` (0 * v is 0 for every finite v, NaN otherwise;
    the sum is reassociated, so it vectorises)."""
    acc = w.dtype.type(0)
    zero = w.dtype.type(0)
    for i in range(w.shape[0]):
        row = w[i]
        for j in range(w.shape[1]):
            acc += row[j] * zero
    return acc == zero


def first_rows(T: int, sizes: np.ndarray, reverse: bool) -> tuple[int, int, slice, np.ndarray]:
    """Where the first step of a direction lies in the (T, D*H) layer arrays, and the rest.

    Returns:
        o: the first step's first row (0; in reverse, the last step's: T - sizes[-1])
        n: its rows (sizes[0]; in reverse sizes[-1], the sequences as long as the longest)
        rest: the rows of the other steps (after the first step's; in reverse, before)
        rest_sizes: their batch_sizes
    """
    if reverse:
        n = int(sizes[-1])
        return T - n, n, slice(0, T - n), sizes[:-1]
    n = int(sizes[0])
    return 0, n, slice(n, T), sizes[1:]


def pays(n: int, H: int, alone: bool = False) -> bool:
    """Whether running a first step of n rows apart saves more than it costs: its product
    is n * H^2 multiply-adds (:data:`.config.FIRST_STEP_APART`); ``alone`` (no step after
    it), the variant's preparation of W_hh (H^2 values) is saved too
    (:data:`.config.LONE_STEP_APART`)."""
    return n * H * H >= FIRST_STEP_APART or (alone and H * H >= LONE_STEP_APART)


def direct(sizes: np.ndarray, H: int, forward: bool) -> bool:
    """Whether the OUTER or GEMM recurrence of a direction calls BLAS on the parameter's own
    W_hh (the forward with the transpose flag) instead of preparing a copy for its steps
    (packed, or transposed): when its steps have at most :data:`.config.DIRECT_ROWS` rows (the
    forward's two rows: N*H^2 up to :data:`.config.DIRECT_FORWARD_WORK`). Few rows make
    thin products that BLAS runs from W_hh as it lies, the way torch runs them."""
    rows = int(sizes[0]) if len(sizes) else 0
    if rows == 1 or not forward:
        return rows <= DIRECT_ROWS
    return rows <= DIRECT_ROWS and rows * H * H <= DIRECT_FORWARD_WORK


def zero_start(out, c0, sizes, bias, h0, w_hh, reverse, relu):
    """The first step of a direction from a zero h0, done in place (:func:`first_forward`),
    and what the other steps run on: (their rows of ``out``, their batch_sizes, their
    initial state (N, H): the first step's states for the sequences it started, h0's rows
    for the others, which in reverse start later). None, with nothing done, when h0 is not
    zero or W_hh holds an inf or NaN (there the product's NaN counts), or when the first
    step has one row and steps follow it (a one-row product costs what the check of W_hh
    costs) or it is too small to pay for running it apart (:func:`pays`).

    Args:
        out: (T, D*H) the layer's array: x_t W_ih^T on entry (this direction's columns)
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        bias: (H,) b_ih + b_hh
        h0: (N, H) initial state
        w_hh: (H, H) W_hh
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
    """
    if len(sizes) == 0:
        return None
    o, n, rest, rest_sizes = first_rows(out.shape[0], sizes, reverse)
    # one row: its product reads W_hh once, as all_finite does; nothing to gain, unless no
    # step follows (then the variant's copy of W_hh is saved too)
    alone = len(rest_sizes) == 0
    small = (n < 2 and not alone) or not pays(n, h0.shape[1], alone)
    if small or h0.any() or not all_finite(w_hh):
        return None
    first_forward(out, o, n, c0, bias, relu)
    h = h0.copy()  # (N, H) C
    h[:n] = out[o : o + n, c0 : c0 + h0.shape[1]]
    return out[rest], rest_sizes, h


@njit(**JIT)
def first_forward(out, o, n, c0, bias, relu):
    """The first step from a zero state: out[o + i, c0 : c0 + H] = act(x_t W_ih^T + bias)
    for its n rows (on entry the rows hold x_t W_ih^T); the bias added as the recurrences
    add it, before the (here zero) product.

    Args:
        out: (T, D*H) the layer's array
        o: the step's first row
        n: its rows
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        bias: (H,) b_ih + b_hh
        relu: ReLU, else tanh
    """
    H = bias.shape[0]
    for i in range(n):
        row = out[o + i][c0 : c0 + H]
        for j in range(H):
            row[j] += bias[j]
        activate(row, H, relu)


@njit(**JIT)
def first_backward(out, g, o, n, c0, dh, relu, delta, db):
    """BPTT of the first step without the product that makes dh0: delta[o + i, c0 : c0 + H]
    = (dh[i] + g_t) * act'(h_t) for its n rows, and db += their sum over the rows (summed
    in the layer's dtype, then added in float64, as the recurrences add a step's part).

    Args:
        out: (T, D*H) the forward's h_t (read)
        g: (T, D*H) gradient of the layer's output
        o: the step's first row
        n: its rows
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        dh: (N, H) gradient of the first step's states (from the later steps and h_n)
        relu: ReLU, else tanh
        delta: (T, D*H) out: dL/dz_t in this direction's columns
        db: (H,) float64: += the bias gradient
    """
    H = db.shape[0]
    part = np.zeros(H, dtype=dh.dtype)
    for i in range(n):
        drow, dhi = delta[o + i][c0 : c0 + H], dh[i]
        for j in range(H):
            drow[j] = dhi[j]
        act_delta(drow, g[o + i][c0 : c0 + H], out[o + i][c0 : c0 + H], H, relu)
        for j in range(H):
            part[j] += drow[j]
    for j in range(H):
        db[j] += part[j]
