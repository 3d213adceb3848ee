"""The compiled packing index maps (pack_padded_sequence / pad_packed_sequence) against
:mod:`elman._kernels.packing_ref`.
"""

from __future__ import annotations

import numpy as np
import pytest

numba = pytest.importorskip("numba")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_packing_maps_match_the_reference(seed: int, batch_first: bool) -> None:
    from elman._kernels import packing_compiled, packing_ref

    rng = np.random.default_rng(seed)
    N = int(rng.integers(1, 7))
    lengths = np.sort(rng.integers(1, 9, size=N))[::-1].astype(np.int64)
    width = int(lengths[0] + rng.integers(0, 3))  # total_length may exceed the longest
    order = rng.permutation(N).astype(np.int64) if seed % 2 else np.empty(0, np.int64)
    bs = packing_ref.batch_sizes_of(lengths)
    np.testing.assert_array_equal(packing_compiled.batch_sizes_of(lengths), bs)
    np.testing.assert_array_equal(packing_compiled.batch_sizes_of(bs), lengths)  # the converse
    src, pad = packing_ref.packed_rows(bs, order, width, batch_first)
    nsrc, npad = packing_compiled.packed_rows(bs, order, width, batch_first)
    np.testing.assert_array_equal(nsrc, src)
    np.testing.assert_array_equal(npad, pad)
    assert sorted(np.concatenate([src, pad]).tolist()) == list(range(width * N))
    t, c = (src % width, src // width) if batch_first else (src // N, src % N)
    length_of = np.empty(N, np.int64)  # batch column -> its sequence's length
    length_of[order if order.size else np.arange(N)] = lengths
    assert (length_of[c] > t).all()  # every packed row is a step of its sequence
    assert (np.diff(t) >= 0).all()  # step after step


def test_packing_maps_refuse_bad_input() -> None:
    from elman._kernels import packing_compiled

    with pytest.raises(ValueError, match="must not increase"):
        packing_compiled.packed_rows(np.array([2, 3], np.int64), np.empty(0, np.int64), 2, False)
    with pytest.raises(ValueError, match="out of range"):
        packing_compiled.packed_rows(np.array([2, 1], np.int64), np.array([0, 5]), 2, False)
    with pytest.raises(ValueError, match="padded width"):
        packing_compiled.packed_rows(np.array([2, 1, 1], np.int64), np.empty(0, np.int64), 2, False)
    with pytest.raises(ValueError, match="sorted"):
        packing_compiled.batch_sizes_of(np.array([1, 3], np.int64))
