"""The whole stack in ONE compiled call each way, for small problems where call overhead rules.

Same math and packed layout as :mod:`.stack_ref`; every product is a plain loop here (input
projection, recurrence, weight gradients), so there is no NumPy call between layers and the
kernels compile in a few seconds. Meant for tiny problems (H <= 32, I * H <= 4096); the
layered path of :mod:`.stack_compiled` takes everything larger.

``wbuf`` packs the weights flat, per (layer, direction) k in torch's order:
``w_ih (H*In), w_hh (H*H)`` and, with bias, ``b_ih (H), b_hh (H)`` -- the layout of
``RNN._flat_weights`` one after the other, which is how :class:`elman.nn.RNN` stores them.
``gbuf`` receives the gradients in the same layout (the two bias slots hold the same db).
``masks`` is (NL-1, T, D*H), or (0, T, D*H) without dropout. (T, I) ``x`` rows, ``sizes`` =
batch_sizes, as in the reference.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._blas import NO_TRANS, TRANS
from ._jit import JIT
from .array_loops import copy_rows, fill_rows, offsets
from .config import FUSED_GRAD_BLOCK as _BLOCK  # rows per partial sum of a weight gradient
from .fused_steps import directions_steps, recurrent_weights
from .optional_blas import blas_product as _blas_product
from .optional_blas import with_blas

__all__ = ["fused_forward", "fused_backward"]


@njit(**JIT)
def _layer_input(x, outs, masks, layer, lin):
    """What layer ``layer`` reads: x, or the previous output (times its dropout mask)."""
    if layer == 0:
        return x
    prev = outs[layer - 1]
    if masks.shape[0] == 0:
        return prev
    m = masks[layer - 1]
    for r in range(prev.shape[0]):
        for j in range(prev.shape[1]):
            lin[r, j] = prev[r, j] * m[r, j]
    return lin


@njit(**JIT)
def _project_rows(src, mask, wbuf, p, H, has_bias, out, row, bias):
    """out[r] = (src[r] * mask[r]) @ [W_ih of each direction].T + b_ih + b_hh for every row
    r (``mask`` of 0 rows: none); the directions' parameters lie in wbuf from p on. Each row
    is read into ``row`` before its outputs are written, so ``src`` may be ``out`` itself
    or share its rows (a forward that keeps one layer's output: each layer's projection
    over the one below's). The same sums, in the same order, as :func:`fused_forward`'s.

    Args:
        src: (T, In) the layer's input rows
        mask: (T, In), 0 rows: none
        wbuf: every parameter flat, in torch's order (.flat)
        p: where the layer's parameters start in wbuf
        H: hidden size
        has_bias: wbuf holds b_ih and b_hh
        out: (T, D*H) out: the projections plus biases
        row: (>= In,) scratch row
        bias: (D, H) scratch for b_ih + b_hh
    """
    T, In = src.shape
    D = out.shape[1] // H
    step = H * In + H * H + (2 * H if has_bias else 0)
    for d in range(D):  # bias (D, H): b_ih + b_hh, zeros without bias
        q = p + d * step + H * In + H * H
        for j in range(H):
            bias[d, j] = wbuf[q + j] + wbuf[q + H + j] if has_bias else 0
    # both directions' W_ih side by side (D, H, In): plain indexing in the row loop (a
    # view or a call per row costs atomic refcounts: +25% on the whole forward)
    w = np.empty((D, H, In), dtype=out.dtype)
    for d in range(D):
        for j in range(H):
            for i in range(In):
                w[d, j, i] = wbuf[p + d * step + j * In + i]
    H4 = H - H % 4
    for r in range(T):
        if mask.shape[0] > 0:
            for i in range(In):
                row[i] = src[r, i] * mask[r, i]
        else:
            for i in range(In):
                row[i] = src[r, i]
        for d in range(D):
            c0 = d * H
            for j in range(0, H4, 4):
                s0, s1, s2, s3 = bias[d, j], bias[d, j + 1], bias[d, j + 2], bias[d, j + 3]
                for i in range(In):
                    v = row[i]
                    s0 += v * w[d, j, i]
                    s1 += v * w[d, j + 1, i]
                    s2 += v * w[d, j + 2, i]
                    s3 += v * w[d, j + 3, i]
                out[r, c0 + j] = s0
                out[r, c0 + j + 1] = s1
                out[r, c0 + j + 2] = s2
                out[r, c0 + j + 3] = s3
            for j in range(H4, H):
                s = bias[d, j]
                for i in range(In):
                    s += row[i] * w[d, j, i]
                out[r, c0 + j] = s


@njit(**JIT)
def fused_forward(x, sizes, h0, wbuf, num_layers, has_bias, relu, masks, outs, hn, lean, fptr):
    """Fill outs (NL, T, D*H) and hn (NL*D, N, H) as :func:`.stack_ref.stack_forward` does.

    ``lean`` (a forward without a graph): outs is (1, T, D*H), the last layer's output
    only; each layer's projection is written over the layer below's output a row at a
    time, and ``x`` may share rows with outs[0] (see stack_compiled.fused_rows).

    Args:
        x: (T, I) rows (lean: may share rows with outs[0])
        sizes: (L,) int64 batch_sizes: rows active at each step
        h0: (NL*D, N, H)
        wbuf: every parameter flat, in torch's order (.flat)
        num_layers: NL, layers
        has_bias: wbuf holds b_ih and b_hh
        relu: ReLU, else tanh
        masks: (NL-1, T, D*H), or (0, T, D*H): no dropout
        outs: (NL, T, D*H) out (lean: (1, T, D*H))
        hn: (NL*D, N, H) out
        lean: a forward without a graph: the last layer's output only
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers), an
            int64: each layer's input projection of every step is one BLAS call (not
            lean); LOOPS (int32 0): the loops, no BLAS call compiled in
    """
    T, I = x.shape
    NLD, N, H = h0.shape
    D = NLD // num_layers
    off = offsets(sizes)
    bias = np.zeros(H, dtype=x.dtype)
    keep = not lean
    blas = with_blas(fptr)  # (a constant False in the loop-only kernels)
    lin = np.empty((T if keep and masks.shape[0] > 0 else 0, D * H), dtype=x.dtype)
    xrow = np.empty(0 if keep else max(I, D * H), dtype=x.dtype)
    biases = np.empty((0 if keep else D, H), dtype=x.dtype)
    no_mask = np.empty((0, 0), dtype=x.dtype)
    starts = np.empty(NLD, dtype=np.int64)  # where each (layer, direction) starts in wbuf
    ins = np.empty(NLD, dtype=np.int64)  # and its input width
    p = 0
    for k in range(NLD):
        ins[k] = I if k < D else D * H
        starts[k] = p
        p += H * ins[k] + H * H + (2 * H if has_bias else 0)
    for layer in range(num_layers):
        In = I if layer == 0 else D * H
        lo = layer if keep else 0
        out = outs[lo]
        src = x
        if keep:
            src = _layer_input(x, outs, masks, layer, lin)
        else:  # every direction's projection of a row before any output of it is written
            mask = masks[layer - 1] if layer > 0 and masks.shape[0] > 0 else no_mask
            if layer == 0:
                _project_rows(x, mask, wbuf, starts[0], H, has_bias, out, xrow, biases)
            else:
                _project_rows(out, mask, wbuf, starts[layer * D], H, has_bias, out, xrow, biases)
        for d in range(D if keep else 0):  # the input projection of every step
            p, c0 = starts[layer * D + d], d * H
            w_ih = wbuf[p : p + H * In].reshape((H, In))
            if has_bias:
                q = p + H * In + H * H
                for j in range(H):
                    bias[j] = wbuf[q + j] + wbuf[q + H + j]
            if blas and T > 0:  # wide inputs: one BLAS call, then the bias
                _blas_product(fptr, TRANS, T, H, In, src, 0, 0, w_ih, False, out, 0, c0)
                for r in range(T):
                    for j in range(H):
                        out[r, c0 + j] += bias[j]
            else:
                _project_layer(src, w_ih, bias, out, c0)
        # the directions' recurrences stepped together (fused_steps)
        w_hh = recurrent_weights(wbuf, starts, ins, H, layer * D, D)
        directions_steps(outs, lo, sizes, off, h0, layer * D, w_hh, relu, hn)


@njit(**JIT)
def _project_layer(src, w_ih, bias, out, c0):
    """out[r, c0 : c0 + H] = src[r] @ w_ih.T + bias for every row r, four units at a time
    (four independent sums); W_ih is small enough (I * H <= 4096) to stay in L1 across rows."""
    T, In = src.shape
    H = bias.shape[0]
    H4 = H - H % 4
    for r in range(T):
        for j in range(0, H4, 4):
            s0, s1, s2, s3 = bias[j], bias[j + 1], bias[j + 2], bias[j + 3]
            for i in range(In):
                v = src[r, i]
                s0 += v * w_ih[j, i]
                s1 += v * w_ih[j + 1, i]
                s2 += v * w_ih[j + 2, i]
                s3 += v * w_ih[j + 3, i]
            out[r, c0 + j] = s0
            out[r, c0 + j + 1] = s1
            out[r, c0 + j + 2] = s2
            out[r, c0 + j + 3] = s3
        for j in range(H4, H):
            s = bias[j]
            for i in range(In):
                s += src[r, i] * w_ih[j, i]
            out[r, c0 + j] = s


@njit(**JIT)
def fused_backward(
    x,
    sizes,
    h0,
    wbuf,
    num_layers,
    has_bias,
    relu,
    masks,
    outs,
    g_out,
    g_hn,
    dx,
    dh0,
    gbuf,
    db,
    fptr,
):
    """BPTT of the whole stack, last layer first: dx (T, I), dh0 (NL*D, N, H), gbuf and the
    bias gradient db (NL*D, H) (also computed without bias, as the reference does).

    Args:
        x: (T, I) packed rows (or (L, N, I) time-major where the forward allows it)
        sizes: (L,) int64 batch_sizes: rows active at each step
        h0: (NL*D, N, H)
        wbuf: every parameter flat, in torch's order (.flat)
        num_layers: NL, layers
        has_bias: wbuf holds b_ih and b_hh
        relu: ReLU, else tanh
        masks: (NL-1, T, D*H), or (0, T, D*H)
        outs: (NL, T, D*H) the forward's outputs
        g_out: (T, D*H) gradient of the output
        g_hn: (NL*D, N, H) gradient of h_n
        dx: (T, I) out
        dh0: (NL*D, N, H) out
        gbuf: out: the parameter gradients, laid out as wbuf
        db: (NL*D, H) out: bias gradients
        fptr: address of NumPy's CBLAS ?gemm for the dtype (int64): dW_ih and the input
            gradient of each layer and direction one BLAS call each; LOOPS: the loops
    """
    T, I = x.shape
    NLD, N, H = h0.shape
    D = NLD // num_layers
    DH = D * H
    blas = with_blas(fptr)  # (a constant False in the loop-only kernels)
    dT = np.empty((H if blas else 0, T), dtype=x.dtype)  # delta transposed, for BLAS
    L = len(sizes)
    off = offsets(sizes)
    one, zero = x.dtype.type(1), x.dtype.type(0)
    dh = np.empty((N, H), dtype=x.dtype)
    delta = np.empty((T, H), dtype=x.dtype)
    pv = np.empty(H, dtype=x.dtype)
    lin = np.empty((T if masks.shape[0] > 0 else 0, DH), dtype=x.dtype)
    ping = np.empty((T if num_layers > 1 else 0, DH), dtype=x.dtype)
    pong = np.empty((T if num_layers > 2 else 0, DH), dtype=x.dtype)
    block = np.empty(H * max(I, DH) + H * H + H, dtype=x.dtype)
    wpos = np.empty(NLD, dtype=np.int64)  # where each (layer, direction) starts in wbuf, gbuf
    p = 0
    nb = 2 * H if has_bias else 0
    for k in range(NLD):
        In = I if k < D else DH
        wpos[k] = p
        p += H * In + H * H + nb
    gbuf[:] = 0
    db[:] = 0
    g = g_out
    for layer in range(num_layers - 1, -1, -1):
        In = I if layer == 0 else DH
        src = _layer_input(x, outs, masks, layer, lin)
        out = outs[layer]
        gin = dx if layer == 0 else (ping if (num_layers - 1 - layer) % 2 == 0 else pong)
        fill_rows(gin, zero)
        for d in range(D):
            k, c0 = layer * D + d, d * H
            p = wpos[k]
            w_ih = wbuf[p : p + H * In].reshape((H, In))
            w_hh = wbuf[p + H * In : p + H * In + H * H].reshape((H, H))
            # BPTT: delta_t = (g_t + dh) * act'(h_t); dh <- delta_t @ W_hh (active rows)
            copy_rows(dh, g_hn[k])
            for step in range(L):
                t = step if d == 1 else L - 1 - step
                for i in range(sizes[t]):
                    row = off[t] + i
                    for j in range(H):
                        v = out[row, c0 + j]
                        a = dh[i, j] + g[row, c0 + j]
                        # relu: torch's threshold_backward, a select (see act_delta)
                        delta[row, j] = (zero if v <= zero else a) if relu else a * (one - v * v)
                    for kk in range(H):
                        dh[i, kk] = zero
                    for j in range(H):
                        c = delta[row, j]
                        for kk in range(H):
                            dh[i, kk] += c * w_hh[j, kk]
            copy_rows(dh0[k], dh)
            # weight gradients and the input gradient, in blocks of rows
            n = H * In + H * H + H
            part = block[:n]
            b_ih = part[: H * In].reshape((H, In))
            b_hh = part[H * In : n - H].reshape((H, H))
            b_b = part[n - H :]
            q = wpos[k]
            done = 0
            for t in range(L):
                nxt = t + 1 if d == 1 else t - 1  # the step walked just before t
                for i in range(sizes[t]):
                    if done % _BLOCK == 0:
                        part[:] = 0
                    row = off[t] + i
                    if 0 <= nxt < L and i < sizes[nxt]:
                        for kk in range(H):
                            pv[kk] = out[off[nxt] + i, c0 + kk]
                    else:
                        for kk in range(H):
                            pv[kk] = h0[k, i, kk]
                    for j in range(H):
                        c = delta[row, j]
                        b_b[j] += c
                        if not blas:
                            for ii in range(In):
                                b_ih[j, ii] += c * src[row, ii]
                                gin[row, ii] += c * w_ih[j, ii]
                        for kk in range(H):
                            b_hh[j, kk] += c * pv[kk]
                    done += 1
                    if done % _BLOCK == 0 or done == T:
                        for e in range(n - H):
                            gbuf[q + e] += part[e]
                        for j in range(H):
                            db[k, j] += part[n - H + j]
            if blas and T > 0:  # dW_ih = delta^T src, gin += delta W_ih: BLAS
                for r in range(T):
                    for j in range(H):
                        dT[j, r] = delta[r, j]
                g_ih = gbuf[q : q + H * In].reshape((H, In))
                _blas_product(fptr, NO_TRANS, H, In, T, dT, 0, 0, src, True, g_ih, 0, 0)
                _blas_product(fptr, NO_TRANS, T, In, H, delta, 0, 0, w_ih, True, gin, 0, 0)
            if has_bias:
                for j in range(H):
                    gbuf[q + n - H + j] = db[k, j]
                    gbuf[q + n + j] = db[k, j]
        if layer > 0 and masks.shape[0] > 0:
            m = masks[layer - 1]
            for r in range(T):
                for j in range(DH):
                    gin[r, j] *= m[r, j]
        g = gin
