"""Every setting of the kernels in one place: the ``ELMAN_*`` environment variables (read
once, here, when the kernels are first imported) and the kernel thresholds with what they
mean. Nothing else reads the environment for the kernels. (Which variant runs a problem is
decided by the dispatch rules, :mod:`.dispatch`, not by the thresholds here.)

This module sits in :mod:`elman._kernels` (the bottom layer of the package, which may import
nothing above it) and imports only ``os``: it is read before Numba is imported.

Environment variables (read once, at import):

* ``ELMAN_DISABLE_JIT=1``: the NumPy reference kernels (``*_ref``) run instead of the
  compiled ones (:mod:`elman._kernels`).
* ``ELMAN_KERNEL_VARIANT=<name>``: force one variant of :data:`.dispatch.VARIANTS` for every
  RNN call ("" or unset: the dispatcher's choice).
* ``ELMAN_BLAS_IN_KERNELS=0``: never call NumPy's BLAS from inside a kernel (:mod:`._blas`):
  the step products use elman's own loops.
* ``ELMAN_SIMD_BYTES=16|32|64``: the vector width of the explicit-SIMD products (default:
  the host's); the kernels compiled for another width get a cache folder of their own.
* ``ELMAN_NUMBA_AVX512=0``: do not tell LLVM to prefer 512-bit vectors on AVX-512 hosts.
"""

from __future__ import annotations

import os

__all__ = [
    "DISABLE_JIT",
    "KERNEL_VARIANT",
    "BLAS_IN_KERNELS",
    "SIMD_BYTES",
    "NUMBA_AVX512",
    "THREADED_PRODUCT",
    "THREADED_DOT",
    "TWO_THREAD_PRODUCT",
    "FIRST_STEP_APART",
    "LONE_STEP_APART",
    "DIRECT_ROWS",
    "DIRECT_FORWARD_WORK",
    "BLOCK_ELEMENTS",
    "MIN_BLOCK_ROWS",
    "MIN_BLOCK_OUTPUTS",
    "WAVE_CHUNKS",
    "FUSED_GRAD_BLOCK",
    "BIAS_GRAD_BLOCK",
    "BPTT_DW_MIN_H",
    "BPTT_DW_ROWS",
    "BPTT_GEMM_ROWS",
    "PREFETCH_BYTES",
    "WAVE_CHUNK_ROWS",
    "WAVE_CHUNK_STEPS",
    "TWO_THREAD_MIN_ROWS",
    "SPINS",
    "YIELDS",
    "TIMEOUT_NS",
    "SLEEP_US",
]

# ---- the environment (read once) ------------------------------------------------------------

DISABLE_JIT = os.environ.get("ELMAN_DISABLE_JIT", "0") == "1"
KERNEL_VARIANT = os.environ.get("ELMAN_KERNEL_VARIANT", "")
BLAS_IN_KERNELS = os.environ.get("ELMAN_BLAS_IN_KERNELS", "1") != "0"
SIMD_BYTES = os.environ.get("ELMAN_SIMD_BYTES", "")  # "" : the host's width
NUMBA_AVX512 = os.environ.get("ELMAN_NUMBA_AVX512", "1") != "0"

# ---- kernel thresholds -------------------------------------------------------------------------

# OpenBLAS hands work to its threads from ~2.6e5 multiply-adds for a matrix product (M*N*K)
# and from 10^4 elements for a dot product (measured on NumPy's OpenBLAS), and its threads
# then busy-wait for ~0.1 s of CPU, taking a core from the next RNN call's second thread:
# from these sizes elman's products outside the RNN run on the calling thread (quiet_blas).
THREADED_PRODUCT = 1 << 18
THREADED_DOT = 10_000

# Products of all steps (input projections, weight gradients, dX) of a one-thread variant
# run on the two threads from this many multiply-adds (below, the hand-over to the helper
# thread, ~20-100 us, is not repaid).
TWO_THREAD_PRODUCT = 1 << 25

# A direction's first step runs apart from the rest (:mod:`.first_step`: no product from a
# zero h0, none for an unread dh0) when that product, rows * H^2 multiply-adds, is at least
# this: running it apart costs ~10 us of Python per direction, about what BLAS takes for
# ~5e5 float32 multiply-adds (measured: (3, 15, 11, 184, 1, bi) float32 packed, 15 * 184^2
# = 5e5, forward 0.82-0.84x with the step apart, layered-gemm, loaded Xeon).
FIRST_STEP_APART = 1 << 20
# A direction of ONE step (every sequence of length one) from a zero h0 runs apart from this
# many elements of W_hh (H^2), whatever its rows: besides the product it saves the call's
# preparation of W_hh for the steps after (the packed copy of OUTER/WIDE, the transposed
# copy of AXPY/GEMM), which no step reads.
LONE_STEP_APART = 1 << 13
# At most DIRECT_ROWS rows a step, the OUTER and GEMM recurrences call NumPy's ?gemm on the
# parameter's own W_hh (:func:`.first_step.direct`; the forward with the transpose flag)
# rather than on a packed or transposed copy made every call: OpenBLAS runs such thin
# products as matrix-vector ones straight from W_hh, and the copy (3 MB at H = 626 float64)
# cost more than the steps (thread CPU, AMD EPYC, NumPy 2.4's OpenBLAS, 2026-12-08: one row,
# H 220-626, 1-16 steps: forward 2-4x, backward 1.2-5x faster; two rows the same up to
# N*H^2 = 4e5 in the forward (beyond, OpenBLAS packs W_hh at every step: 2.3x slower at
# (N, H) = (2, 626) float32, 16 steps), at every H in the backward; nine rows: slower).
DIRECT_ROWS = 2
DIRECT_FORWARD_WORK = 1 << 19

# The forward without a graph (:mod:`.blocked_forward`): a scratch block holds at most this many
# elements (4 MiB of float32); blocks have at least MIN_BLOCK_ROWS rows (4x the largest
# block seen to round differently) and MIN_BLOCK_OUTPUTS outputs in each half of a
# two-thread product (OpenBLAS rounded products of up to ~1,200 outputs apart from the
# same rows inside a longer product); the wavefront runs WAVE_CHUNKS chunks per block (its
# fill and drain cost ~1/64).
BLOCK_ELEMENTS = 1 << 20
MIN_BLOCK_ROWS = 1024
MIN_BLOCK_OUTPUTS = 1 << 14
WAVE_CHUNKS = 64

# Rows per partial sum of a fused weight gradient (its rounding grows with T / block), and
# steps per float64 block of a bias gradient's partial sums (100k-step sequences stay ~1e-16
# relative).
FUSED_GRAD_BLOCK = 128
BIAS_GRAD_BLOCK = 256

# The small-H BPTT (bptt_steps) sums dW_hh inside its step loop from this H on while the
# step's rows times the vectors a row are at most BPTT_DW_ROWS (each adds H vector
# stores a step); otherwise one GEMM after the loop makes it (layer_products.dw_hh_of).
# Measured on AMD EPYC (Zen 4, thread CPU time, docs/performance.md): in the loop 2.5 vs
# 3.5 ns a step at (N 1, H 8) f32, 13 vs 46 at (2, 16) f64, 20 vs 42 at (4, 10) f32; the
# GEMM 6.8 vs 13 at (5, 4) f32, 271 vs 400 at (4, 32) f32.
BPTT_DW_MIN_H = 8
BPTT_DW_ROWS = 4
# ... and it takes the GEMM mode's BPTT (a BLAS call a step) while the step's rows times
# the vectors a row are at most BPTT_GEMM_ROWS: the backward alone (thread CPU, ns a step)
# 199 -> 115 at (N 2, H 16) f64, 1030 -> 828 at (3, 24, bi) f32, 128 -> 95 at (5, 4) f32,
# 815 -> 561 at (4, 10, 3 layers) f32; BLAS's step product stays ahead at (6, 12) f64
# (1482 against 2068) and (4, 32) f32 (~650 against ~750).
BPTT_GEMM_ROWS = 6

# How far ahead the explicit-SIMD product prefetches its packed matrix stream.
PREFETCH_BYTES = 4096

# The layer pipeline's chunks: about this many rows (a projection GEMM worth calling),
# within these many steps (the pipeline fills and drains in one chunk).
WAVE_CHUNK_ROWS = 128
WAVE_CHUNK_STEPS = (8, 64)

# A product split between the two threads needs this many rows in each half.
TWO_THREAD_MIN_ROWS = 64

# How a half waits for the other (waiting.py): pause rounds before yielding (~27 ns each on
# AMD EPYC, ~45 on Intel), sched_yield calls before blocking, a futex wait's re-check of the
# slots (a safety net, ns), and where there is no futex the sleep between checks (us).
SPINS = 1 << 9
YIELDS = 16
TIMEOUT_NS = 10_000_000
SLEEP_US = 50
