"""NaN and ±inf against torch: RNN and RNNCell in every kernel variant and in the NumPy
reference, the autograd ops and losses, gradient clipping and the optimizers.

The quick set (156 RNN/RNNCell cases, every op and optimizer) is compared with golden
results made by torch (tests/fixtures/make_nan_inf_fixtures.py), so it runs without torch;
with torch, random cases are compared live as well. The comparison (nan_inf_harness.compare)
requires NaN at the same positions, ±inf at the same positions with the same signs, and
finite values within the usual tolerances. The long campaign is campaign_nan_inf.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import elman
from conftest import requires_torch
from elman import _kernels

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import nan_inf_ops as ops  # noqa: E402
import nan_inf_train as train  # noqa: E402
from nan_inf_harness import (  # noqa: E402
    Case,
    compare,
    inputs_sha,
    load_golden,
    make_arrays,
    random_case,
    run_elman,
    run_torch,
)

GOLDEN = load_golden(HERE.parent / "fixtures" / "nan_inf_golden.npz")
VARIANTS = ["auto"]
if _kernels.JIT:
    from elman._kernels import dispatch

    VARIANTS += sorted(dispatch.VARIANTS)


@pytest.fixture
def variant(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Force a kernel variant for the test (``auto``: the dispatcher's choice), as
    ``ELMAN_KERNEL_VARIANT`` does at import."""
    name = request.param
    if name != "auto":
        monkeypatch.setattr(dispatch, "FORCED", name)
    return name  # type: ignore[no-any-return]


def _golden(prefix: str) -> list[tuple[str, dict[str, Any], dict[str, np.ndarray]]]:
    return [(n, meta, out) for n, (meta, out) in sorted(GOLDEN.items()) if n.startswith(prefix)]


def _check_all(problems: dict[str, list[str]]) -> None:
    bad = {k: v for k, v in problems.items() if v}
    assert not bad, f"{len(bad)} cases differ from torch:\n" + "\n".join(
        f"{k}: {v[:3]}" for k, v in list(bad.items())[:10]
    )


# ---- RNN and RNNCell: every variant, the golden set ----------------------------------------


def run_golden_rnn() -> dict[str, list[str]]:
    """Every golden RNN/RNNCell case in elman as configured now: case -> differences."""
    problems = {}
    with np.errstate(all="ignore"):
        for name, meta, want in _golden("rnn"):
            case = Case.from_json(meta["case"])
            arrays = make_arrays(case)
            assert inputs_sha(arrays) == meta["inputs"], f"{name}: NumPy's streams changed"
            got = run_elman(case, arrays)
            problems[f"{name} {case.label()}"] = compare(got, want, case.dtype)
    return problems


@pytest.mark.parametrize("variant", VARIANTS, indirect=True)
def test_rnn_nan_inf_match_torch_in_every_variant(variant: str) -> None:
    _check_all(run_golden_rnn())


def test_rnn_nan_inf_match_torch_in_the_reference() -> None:
    """The NumPy reference kernels (``ELMAN_DISABLE_JIT=1``, read at import: a process)."""
    code = (
        f"import sys, json; sys.path[:0] = [{str(HERE)!r}, {str(HERE.parent)!r}]\n"
        "from test_nan_inf import run_golden_rnn\n"
        "import elman._kernels as k; assert not k.JIT\n"
        "print(json.dumps(run_golden_rnn()))\n"
    )
    env = {**os.environ, "ELMAN_DISABLE_JIT": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    _check_all(json.loads(done.stdout.strip().splitlines()[-1]))


# ---- ops, losses, clipping, optimizers: the golden set -------------------------------------


def test_ops_and_losses_nan_inf_match_torch() -> None:
    problems = {}
    with np.errstate(all="ignore"):
        for name, meta, want in _golden("op"):
            case = meta["case"]
            assert inputs_sha(ops.case_inputs(case)) == meta["inputs"], name
            got = ops.run_case(elman, "elman", case)
            problems[f"{name} {json.dumps(case)}"] = compare(got, want, case["dtype"])
    _check_all(problems)


def test_clipping_and_optimizers_nan_inf_match_torch() -> None:
    problems = {}
    with np.errstate(all="ignore"):
        for name, meta, want in _golden("train"):
            case = meta["case"]
            assert inputs_sha(train.case_inputs(case)) == meta["inputs"], name
            got = train.run_case(elman, case)
            if "error" in want or "error" in got:
                same = str(got.get("error")) == str(want.get("error"))
                problems[name] = [] if same else [f"{got.get('error')} vs {want.get('error')}"]
            else:
                problems[f"{name} {json.dumps(case)}"] = compare(got, want, case["dtype"])
    _check_all(problems)


# ---- live torch: the golden file is torch's, and random cases ------------------------------


@requires_torch
def test_golden_results_are_torchs_own(torch_or_skip: Any) -> None:
    torch = torch_or_skip
    problems = {}
    with np.errstate(all="ignore"):
        for name, meta, want in _golden("rnn")[::5]:
            case = Case.from_json(meta["case"])
            problems[name] = compare(run_torch(case, make_arrays(case), torch), want, case.dtype)
        for name, meta, want in _golden("op")[::7]:
            got = ops.run_case(torch, "torch", meta["case"])
            problems[name] = compare(got, want, meta["case"]["dtype"])
    _check_all(problems)


@requires_torch
@pytest.mark.parametrize("variant", VARIANTS, indirect=True)
def test_random_rnn_cases_match_live_torch(variant: str, torch_or_skip: Any) -> None:
    rng = np.random.default_rng(11)
    problems = {}
    with np.errstate(all="ignore"):
        for k in range(12):
            case = random_case(rng, seed=1000 + k)
            want = run_torch(case, make_arrays(case), torch_or_skip)
            problems[case.label()] = compare(run_elman(case, make_arrays(case)), want, case.dtype)
    _check_all(problems)


@requires_torch
def test_random_op_cases_match_live_torch(torch_or_skip: Any) -> None:
    rng = np.random.default_rng(12)
    problems = {}
    with np.errstate(all="ignore"):
        for k, op in enumerate(sorted(ops.OPS) * 2):
            poison, grad = ops.random_poison(rng, len(ops.OPS[op][1]))
            case = {"op": op, "dtype": ("float32", "float64")[k % 2], "seed": k,
                    "poison": poison, "grad": grad}  # fmt: skip
            want = ops.run_case(torch_or_skip, "torch", case)
            problems[json.dumps(case)] = compare(
                ops.run_case(elman, "elman", case), want, case["dtype"]
            )
    _check_all(problems)
