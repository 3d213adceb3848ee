"""The compat corpus runs unchanged under ``elman run`` with torch's final metric (issue 15).

Each script of tests/compat/scripts runs in its own process in quick mode
(``COMPAT_QUICK=1``), through ``python -m elman run``, never importing torch; its ``FINAL``
metrics must equal torch 2.13's recorded ones (tests/compat/expected.json) within
``RTOL`` = 1e-4 relative, float32 noise after up to a few hundred optimiser steps (most are
equal to all 8 printed digits). Scripts that cannot run yet are listed in ``NOT_YET`` with
the reason and are expected to fail (strict: a fix must move them out of the list).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import elman

TOOLS = Path(__file__).resolve().parent / "tools"
sys.path.insert(0, str(TOOLS))
from run_corpus import EXPECTED, SCRIPTS  # noqa: E402
from run_elman import RTOL, compare, run_on_elman  # noqa: E402

NOT_YET = {
    "06_sine_rnncell_lbfgs.py": "torch.save of a NumPy array read back with "
    "torch.load(weights_only=False): elman's safe reader refuses weights_only=False and "
    "elman.save writes arrays as tensors (its LBFGS is there)",
}
EXPECTED_METRICS = json.loads(EXPECTED.read_text())


@pytest.fixture(autouse=True)
def _elman_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    src = str(Path(elman.__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", src + os.pathsep + os.environ.get("PYTHONPATH", ""))


@pytest.mark.parametrize("name", sorted(p.name for p in SCRIPTS.glob("*.py")))
def test_script_runs_on_elman_with_torchs_metric(name: str) -> None:
    got, err, _ = run_on_elman(SCRIPTS / name, quick=True)
    if name in NOT_YET:
        assert got is None, f"{name} runs now: take it out of NOT_YET"
        pytest.xfail(NOT_YET[name])
    assert got is not None, err
    want = EXPECTED_METRICS[name]["quick"]["metrics"]
    assert compare(got, want, RTOL) == [], (got, want)
