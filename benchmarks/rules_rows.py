"""The structure of the dispatch rules: :data:`ROWS`, the input of benchmarks/make_rules_table.py.

Which variants contend in which region and in which order, a comment each (the domain
knowledge); the generator moves every bound marked ``derive`` to the crossover the sweeps
measured. The values written here are where the descent starts and what "today's rules"
means for the speed-table guard: the table this structure replaced (main 806e220, fitted on
dispatch-sweep.json alone) for the rows it had, hand-set guesses for the rows the issue-18
sweep added (``fused-gemm``; the splits by dtype and packing).
"""

from __future__ import annotations

from typing import Any

# (comment, variant, ((feature, low, high, derive), ...)): today's bounds (dispatch._auto_for
# of main 15263a3); derive=False marks a structural condition (which case the row is for)
ROWS: list[tuple[str, str, tuple[tuple[str, Any, Any, bool], ...]]] = [
    (
        "tiny problems: loops only, the whole stack in one call (per-call overhead is most "
        "of the time); the backward fused too while the work is small (its per-row "
        "weight-gradient loops lose to GEMMs over many rows: the bound on the stack's "
        "multiply-adds, which the issue-18 sweep placed, replaced one on T*layers*D)",
        "fused",
        (
            ("H", None, 44, True),
            ("NH", None, 184, True),
            ("IH", None, 9300, True),
            ("MADDS", None, 5e4, True),
        ),
    ),
    (
        "short stacks of inputs wider than H, H near the largest the sweeps time these at: "
        "the fused forward with each layer's input projection one BLAS call before the "
        "loops, the backward layered (its per-step products one BLAS call each)",
        "fused-forward-gemm",
        (
            ("blas", 1, 1, False),
            ("H", 40, None, True),
            ("H", None, 64, False),  # the sweeps time the fused GEMM variants up to H = 64
            ("I_H", 2, None, True),
            ("I", None, 1024, False),  # the sweeps' widest input
            ("TLD", None, 1000, True),
            ("MADDS", None, 1.4e6, True),
        ),
    ),
    (
        "the same for smaller H with the backward fused too, dW_ih and dX one BLAS call "
        "each: past the loops-only stack above once the input projection is a few 10^4 "
        "multiply-adds, behind the layered path from ~10^3 rows or ~10^6 multiply-adds",
        "fused-gemm",
        (
            ("blas", 1, 1, False),
            ("H", None, 64, False),  # the sweeps time the fused GEMM variants up to H = 64
            ("I_H", 2, None, True),
            ("I", None, 1024, False),  # the sweeps' widest input
            ("TLD", None, 1000, True),
            ("MADDS", None, 1.4e6, True),
        ),
    ),
    (
        "tiny problems with long sequences: fused forward, layered backward",
        "fused-forward",
        (("H", None, 32, True), ("NH", None, 17, True), ("IH", None, 750, True)),
    ),
    (
        "the smallest hidden sizes at any batch the fused loops take (where the sweeps time "
        "them): a step's product is a few multiply-adds a row, cheaper inline than a BLAS "
        "call; fused forward, layered backward",
        "fused-forward",
        (
            ("H", None, 2, True),
            ("NH", None, 512, False),
            ("IH", None, 16384, False),
        ),
    ),
    (
        "one sequence, a few steps (streaming a step a call): the layered path's fixed cost "
        "(Python, packing W_hh) outweighs the fused loops' slower steps",
        "fused",
        (
            ("N", 1, 1, False),
            ("H", None, 110, True),
            ("IH", None, 4096, True),
            ("THHLD", None, 310000, True),
        ),
    ),
    (
        "the same between H = 96 and 128, with the outer products",
        "fused-outer",
        (
            ("N", 1, 1, False),
            ("H", 97, None, True),
            ("H", None, 127, False),  # where the next row takes over
            ("IH", None, 4096, True),
            ("THHLD", None, 5e4, True),
        ),
    ),
    (
        "one sequence of wide H, a few steps: fused forward with the outer products, the "
        "fused backward while its weight-gradient block stays small",
        "fused-outer",
        (
            ("N", 1, 1, False),
            ("H", 110, None, True),
            ("I_H", None, 2, True),
            ("THHLD", None, 560000, True),
            ("WG", None, 260000, True),
        ),
    ),
    (
        "the same with a large weight-gradient block: layered backward",
        "fused-forward-outer",
        (
            ("N", 1, 1, False),
            ("H", 110, None, True),
            ("I_H", None, 8.0, True),
            ("THHLD", None, 1900000, True),
        ),
    ),
    (
        "two directions side by side, one per thread (no per-step exchange); two threads "
        "only on calls big enough to pay for the hand-over",
        "layered-pairs",
        (
            ("two", 1, 1, False),
            ("D", 2, 2, False),
            ("THH", 51000000, None, True),
            ("N", None, 39, True),
            ("H", 110, None, True),
        ),
    ),
    (
        "a unidirectional stack's forward as a layer wavefront, one layer per thread",
        "layered-pairs",
        (
            ("two", 1, 1, False),
            ("layers", 2, None, False),
            ("THH", 17000000, None, True),
            ("N", None, 4.2, True),
            ("H", 217, None, True),
        ),
    ),
    (
        "the batch in two halves, one per thread, six-row outer products: many rows",
        "layered-rows-outer",
        (
            ("two", 1, 1, False),
            ("THH", 96000000, None, True),
            ("N", 3.5, None, True),
            ("H", 160, None, True),
        ),
    ),
    (
        "the same for fewer rows of wide H on big calls",
        "layered-rows-outer",
        (
            ("two", 1, 1, False),
            ("THH", 2e8, None, True),
            ("N", 8, None, True),
            ("H", 256, None, True),
        ),
    ),
    (
        "the outer products on two threads, each keeping half of W_hh in its cache "
        "(weight-streaming bound)",
        "layered-split",
        (
            ("two", 1, 1, False),
            ("THH", 3e7, None, True),
            ("N", None, 32, True),
            ("H", 400, None, True),
        ),
    ),
    (
        "the same for very few rows",
        "layered-split",
        (
            ("two", 1, 1, False),
            ("THH", 31000000, None, True),
            ("N", None, 4.9, True),
            ("H", 130, None, True),
        ),
    ),
    (
        "the batch in two halves on single-threaded BLAS per step: many rows of small H",
        "layered-rows",
        (
            ("two", 1, 1, False),
            ("blas", 1, 1, False),
            ("THH", 23000000, None, True),
            ("N", 1.4, None, True),
        ),
    ),
    (
        "one sequence, small H: k-unrolled loops streaming W_hh.T",
        "layered-axpy",
        (("N", 1, 1, False), ("H", None, 160, True)),
    ),
    (
        "few rows of wide H: the register-blocked outer products",
        "layered-outer",
        (("H", 240, None, True), ("N", None, 128, True)),
    ),
    (
        "more rows of wider H: the same",
        "layered-outer",
        (("H", 256, None, True), ("N", None, 32, True)),
    ),
    (
        "no BLAS found: the outer products from H = 96 (not measurable here: kept)",
        "layered-outer",
        (("blas", 0, 0, False), ("H", 96, None, False)),
    ),
    ("no BLAS found, small H: the axpy loops", "layered-axpy", (("blas", 0, 0, False),)),
    ("everything else: one BLAS call per step from inside the kernel", "layered-gemm", ()),
]
