"""Differential fuzzing of the public boundary (quick part): optimizers, schedulers, io and random.

Every case runs in elman and torch; see fuzz_core.py for what is compared, fuzz_allow.py
for the documented differences, and campaign_fuzz.py for the long run.
"""

from __future__ import annotations

import pytest
from fuzz_pytest import fuzz, ids, targets

TARGETS = targets("optim") + targets("io")


@pytest.mark.parametrize("target", TARGETS, ids=ids(TARGETS))
def test_fuzz_optim_io(target):
    fuzz(target)
