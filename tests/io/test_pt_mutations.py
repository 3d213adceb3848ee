"""Property: every mutated .pt file is a correct load or a clean error (hypothesis).

A quick, derandomized part of the campaign tests/reliability/campaign_pt_mutations.py
(which runs >= 2,000 mutations and records its figures in docs/interop.md). See
tests/pt_mutate.py for the mutations and the judgement: a load must keep every tensor
inside the memory it views and, when torch also loads the file, equal torch's result; an
error must be UnsafeFileError or CheckpointError naming the file.
"""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TORCH
from pt_mutate import BASES, bases, judge, mutate

_BASES = bases()


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(base=st.sampled_from(BASES), seed=st.integers(0, 2**32 - 1), mapped=st.booleans())
def test_mutated_files_load_correctly_or_fail_cleanly(
    base: str, seed: int, mapped: bool, tmp_path: Path
) -> None:
    kind, data = mutate(_BASES[base], random.Random(seed))
    outcome = judge(data, TORCH, tmp_path / "m.pt" if mapped else None)
    assert outcome in ("loaded", "loaded, equal to torch.load", "unsafe", "corrupt"), kind


def test_unmutated_bases_load() -> None:
    for name in BASES:
        outcome = judge(_BASES[name], TORCH)
        assert outcome.startswith("unsafe" if name == "whole_module" else "loaded"), name
