"""The layered forward with one buffer: products over all steps a block of rows at a time.

A forward whose outputs no backward reads (``no_grad``, or nothing needs a gradient) keeps
one (T, D*H) array for the whole stack instead of one per layer
(:func:`.layered_stack.layered_forward` with ``keep=False``):

* the layers take turns in one buffer of T + B rows, each B rows from the one below
  (:func:`layer_views`; both D*H wide): layer l+1's input projection goes a block of at
  most B rows at a time, each block landing on rows layer l no longer needs (with
  dropout, a block of the masked input goes through a scratch block);
* a batch-first input, seen as an (L, N, I) time-major view, is re-laid out a block of
  steps at a time, never as a whole copy;
* the layer wavefront (:mod:`.layer_pipeline`) runs a block of steps at a time, the lower
  layer's states in a scratch block and the upper layer's on the buffer's rows.

Beyond its output the forward then needs B rows (at most ``BLOCK_ELEMENTS`` elements, or
:func:`least_rows` rows of a wider layer; all T rows while they fit in that), a block of
the input re-laid out, h_n and the weights: O(N*H), whatever T (and the 8-byte row offset
of each step that every recurrence kernel walks).

Every row comes out bit-identical to the forward that keeps all layers, which rests on a
measured property of NumPy's BLAS (OpenBLAS 0.3.31, single-threaded, as every layered
call holds it): the rows of a product of at least ~1,200 outputs (M*N) and two or more
columns are the same bits as those rows inside a longer product, wherever the block starts
(tests/reliability/test_memory.py checks it on the machine that runs it). Hence blocks of
at least :func:`least_rows` rows (MIN_BLOCK_OUTPUTS, 14x that, in each half a two-thread
product makes), and no blocks at all for one column (H = 1: ?gemv rounds the last rows of
a call apart; :func:`.layered_stack.layered_forward` keeps whole products there). The
wavefront's blocks are whole chunks of its own, the same products.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .array_loops import offsets
from .config import BLOCK_ELEMENTS, MIN_BLOCK_OUTPUTS, MIN_BLOCK_ROWS, WAVE_CHUNKS
from .layer_pipeline import chunk_steps, wave_pair_forward

__all__ = [
    "BLOCK_ELEMENTS",
    "MIN_BLOCK_ROWS",
    "bounds",
    "layer_views",
    "project_blocks",
    "wave_blocks",
]

# (BLOCK_ELEMENTS, MIN_BLOCK_ROWS, MIN_BLOCK_OUTPUTS, WAVE_CHUNKS: see .config; module
# names here, so that tests can shrink them)

Project = Callable[[np.ndarray, np.ndarray], None]  # proj(a, o): o = a @ W_ih.T


def block_rows(width: int) -> int:
    """The most rows of a block of ``width`` elements a row."""
    return max(least_rows(width), BLOCK_ELEMENTS // max(width, 1))


def least_rows(width: int) -> int:
    """The fewest rows of a block whose products give (width, or width / 2 for two
    directions apart) columns: MIN_BLOCK_ROWS, and MIN_BLOCK_OUTPUTS in each half."""
    return max(MIN_BLOCK_ROWS, -(-2 * MIN_BLOCK_OUTPUTS // max(1, width // 2)))


def bounds(n: int, size: int, least: int) -> list[int]:
    """Boundaries splitting range(n) into near-equal blocks of at most ``size`` and at
    least ``least`` (least <= size; one block when n < 2 * least)."""
    count = max(1, min(-(-n // size), n // least))
    return [k * n // count for k in range(count)] + [n]


def _pairs(b: list[int]) -> list[tuple[int, int]]:
    return list(zip(b[:-1], b[1:], strict=True))


def _time_rows(x: np.ndarray) -> np.ndarray | None:
    """(L, N, I) time-major as (L*N, I) rows without a copy, or None when that needs one."""
    return x.reshape(-1, x.shape[-1]) if x.flags.c_contiguous else None


def layer_views(T: int, width: int, num_layers: int, dtype: Any) -> list[np.ndarray]:
    """(T, width) arrays for the layers of a forward that keeps only the last one's output:
    views of one buffer of T + B rows, consecutive layers B rows apart (B: the largest
    block of :func:`project_blocks`), so that each block of a layer's projection lands on
    rows of the buffer that the layer below no longer needs. While T * width <=
    BLOCK_ELEMENTS, B = T: two separate halves, one product each. The last layer's view
    starts the buffer."""
    if num_layers == 1:
        B = 0
    elif T * width <= BLOCK_ELEMENTS:
        B = T
    else:
        B = max(r1 - r0 for r0, r1 in _pairs(bounds(T, block_rows(width), least_rows(width))))
    buf = np.empty((T + B, width), dtype=dtype)
    return [buf[B * ((num_layers - 1 - k) % 2) :][:T] for k in range(num_layers)]


def project_blocks(proj: Project, src: np.ndarray, mask: np.ndarray | None, out: np.ndarray):
    """out (T, D*H) = (src * mask) @ W_ih.T, a block of rows at a time where needed.

    src: (T, In) rows; (L, N, In) time-major of any strides (a batch-first input's view);
    or the layer below's output in the same buffer as ``out``, a block or more of rows
    before or after it (:func:`layer_views`): the blocks then run in the order in which
    each lands on rows already read. mask: (T, In) or None.
    """
    T, In = out.shape[0], src.shape[-1]
    shared = src.ndim == 2 and np.may_share_memory(src, out)
    if shared or mask is not None:
        blocks = _pairs(bounds(T, block_rows(In), least_rows(out.shape[1])))
        if shared and out.ctypes.data > src.ctypes.data:
            blocks.reverse()  # out lies after src: the last block first
        scratch = None
        if mask is not None:
            scratch = np.empty((max(r1 - r0 for r0, r1 in blocks), In), dtype=out.dtype)
        for r0, r1 in blocks:
            a = src[r0:r1]
            if scratch is not None:
                a = np.multiply(a, mask[r0:r1], out=scratch[: r1 - r0])
            proj(a, out[r0:r1])
        return
    rows2d = src if src.ndim == 2 else _time_rows(src)
    if rows2d is not None:
        proj(rows2d, out)
        return
    N = max(src.shape[1], 1)
    least = -(-least_rows(out.shape[1]) // N)
    b = bounds(src.shape[0], max(least, block_rows(In) // N), least)
    for t0, t1 in _pairs(b):
        proj(src[t0:t1].reshape(-1, In), out[t0 * N : t1 * N])  # (a copy of the block)


def wave_bounds(off: np.ndarray, S: int, target: int, least: int) -> list[int]:
    """Blocks of steps for :func:`wave_blocks`: boundaries at multiples of S (whole chunks
    of the wavefront), a new block from each multiple of ``target`` rows on; a last block
    under ``least`` rows joins the one before."""
    L = len(off) - 1
    starts = np.arange(0, L, S)
    cuts = np.searchsorted(off[starts], np.arange(0, off[L], target), side="left")
    b = [int(starts[c]) for c in np.unique(cuts) if c < len(starts)] or [0]
    if len(b) > 1 and off[L] - off[b[-1]] < least:
        b.pop()
    return [*b, L]


def wave_blocks(proj, src, below, out, sizes, biases, h0, w_hh, w_ih1, mask, relu, fptr, hn):
    """Layers l and l+1 of a unidirectional stack on two threads (:func:`.wave_pair_forward`)
    a block of steps at a time, keeping layer l+1's states only.

    proj: layer l's input projection (:func:`project_blocks`), of src (T, In) rows, (L, N,
    In) time-major, or ``out`` (the layer below's output, times ``below``: its mask or
    None); out (T, H): layer l+1's states on exit; the rest as for wave_pair_forward.

    Args:
        proj: layer l's input projection, proj(a, o) (project_blocks)
        src: (T, In) rows, (L, N, In) time-major, or the layer below's output
        below: the mask applied to src (the layer below's dropout), or None
        out: (T, H) out: layer l+1's states
        sizes: (L,) int64 batch_sizes: rows active at each step
        biases: (layer l, layer l+1) b_ih + b_hh
        h0: (2, N, H) the pair's initial states
        w_hh: (layer l, layer l+1) W_hh
        w_ih1: (H, H) layer l+1's W_ih
        mask: (T, H) dropout mask between the two layers, or None / 0 rows: none
        relu: ReLU, else tanh
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers), 0 without
        hn: (2, N, H) out: the pair's h_n
    """
    N, H = h0.shape[1:]
    S = chunk_steps(N)
    off = offsets(sizes)
    least = least_rows(H)  # (a block: at least target - S*N rows)
    target = max(WAVE_CHUNKS * S * N, block_rows(H), least + S * N)
    blocks = _pairs(wave_bounds(off, S, target, least))
    hn[...] = h0  # the carried states, each block's h0 and h_n
    low = np.empty((max(int(off[t1] - off[t0]) for t0, t1 in blocks), H), dtype=out.dtype)
    for t0, t1 in blocks:  # low: layer l's states of one block
        r0, r1 = int(off[t0]), int(off[t1])
        part = src[t0:t1] if src.ndim == 3 else src[r0:r1]
        project_blocks(proj, part, None if below is None else below[r0:r1], low[: r1 - r0])
        m = None if mask is None else mask[r0:r1]
        lower, upper = low[: r1 - r0], out[r0:r1]
        wave_pair_forward(lower, upper, sizes[t0:t1], biases, hn, w_hh, w_ih1, m, relu, fptr, hn)
