"""The seed documents, ported to elman, run and print the seeds' names and shapes.

The expected lines are the seeds' own printed output (shared/seeds/), with ``torch.Size``
spelled ``elman.Size``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "examples" / "seeds"

SEED000_1 = """\
weight_ih_l0 torch.Size([4, 5000])
weight_hh_l0 torch.Size([4, 4])
bias_ih_l0 torch.Size([4])
bias_hh_l0 torch.Size([4])
input : torch.Size([2, 10, 5000])  //  h0 : torch.Size([1, 2, 4])
output : torch.Size([2, 10, 4])  //  hn : torch.Size([1, 2, 4])
"""

SEED000_2 = """\
weight_ih_l0 torch.Size([4, 7])
weight_hh_l0 torch.Size([4, 4])
bias_ih_l0 torch.Size([4])
bias_hh_l0 torch.Size([4])
weight_ih_l1 torch.Size([4, 4])
weight_hh_l1 torch.Size([4, 4])
bias_ih_l1 torch.Size([4])
bias_hh_l1 torch.Size([4])
input : torch.Size([5, 3, 7])  //  h0 : torch.Size([2, 3, 4])
output : torch.Size([5, 3, 4])  //  hn : torch.Size([2, 3, 4])
"""

SEED000_3 = """\
weight_ih_l0 torch.Size([400, 7])
weight_hh_l0 torch.Size([400, 400])
bias_ih_l0 torch.Size([400])
bias_hh_l0 torch.Size([400])
weight_ih_l1 torch.Size([400, 400])
weight_hh_l1 torch.Size([400, 400])
bias_ih_l1 torch.Size([400])
bias_hh_l1 torch.Size([400])
input : torch.Size([5000, 3, 7])  //  h0 : torch.Size([2, 3, 400])
output : torch.Size([5000, 3, 400])  //  hn : torch.Size([2, 3, 400])
"""


def run_example(name: str) -> str:
    if name == "seed000_program3.py" and os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip("10,000 steps of H=400 through the interpreted kernels take minutes")
    env = dict(os.environ, PYTHONWARNINGS="error")
    proc = subprocess.run(
        [sys.executable, str(SEEDS / name)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.replace("elman.Size", "torch.Size")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("seed000_program1.py", SEED000_1),
        ("seed000_program2.py", SEED000_2),
        ("seed000_program3.py", SEED000_3),
    ],
)
def test_seed000_prints_the_seed_output(name: str, expected: str) -> None:
    assert run_example(name) == expected


def test_seed001_shapes() -> None:
    out = run_example("seed001_sample_model.py")
    assert "Output shape: torch.Size([2, 4, 5])" in out
    assert "Hidden state shape: torch.Size([1, 2, 5])" in out
    assert out.rstrip().endswith("RNN(8, 12, nonlinearity='relu', bidirectional=True)")
    # the printed outputs are tanh values: every number lies in (-1, 1)
    # (scientific notation when the values span several decades, as torch prints them)
    found = re.findall(r"-?\d+\.\d+(?:e[+-]\d+)?", out.split("Output:")[1])
    values = [float(v) for v in found]
    assert values and all(-1 < v < 1 for v in values)


def test_seed002_numpy_rnn_and_corrected_call() -> None:
    lines = run_example("seed002_numpy_rnn.py").splitlines()
    # the seed's own call (batch axis walked as time), then the corrected call
    assert lines[:4] == ["(1, 10, 8)", "(10, 8)", "(10, 8)", "(8,)"]
    err = float(lines[4].split("=")[1])
    assert err < 1e-12
    assert lines[5:] == [
        "torch.Size([1, 10, 8])",
        "torch.Size([1, 1, 8])",
        "[['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']]",
        "size of weight_ih_l0 is torch.Size([8, 5])",
        "size of weight_hh_l0 is torch.Size([8, 8])",
        "size of bias_ih_l0 is torch.Size([8])",
        "size of bias_hh_l0 is torch.Size([8])",
    ]


def test_seed003_simple_rnn() -> None:
    out = run_example("seed003_simple_rnn.py")
    assert "torch.Size([1, 10, 2])" in out
    assert "torch.Size([5, 3])" in out
    assert "((5, 3), (5,), (5, 5), (5,))" in out
    assert "((2, 5), (2,))" in out
    err = float(out.strip().splitlines()[-1].split("=")[1])
    assert err < 1e-5


def test_seed004_docs_example() -> None:
    out = run_example("seed004_docs_example.py")
    assert out.splitlines()[0] == "RNN(10, 20, num_layers=2)"
    assert out.strip().splitlines()[-1] == "torch.Size([5, 3, 20]) torch.Size([2, 3, 20])"


def test_seed_ports_list_their_edits() -> None:
    for path in sorted(SEEDS.glob("*.py")):
        head = path.read_text().splitlines()[:2]
        assert head[0].startswith("# Port of shared/seeds/"), path.name
        assert head[1].startswith("# Edits besides torch -> elman:"), path.name


def test_seed000_third_program_values_match_reference() -> None:
    """The 5000-step, H=400 program computes what the NumPy reference computes."""
    import elman
    from elman._kernels import rnn_ref

    elman.manual_seed(0)
    rnn = elman.nn.RNN(7, 400, 2).double()
    x = np.random.default_rng(0).standard_normal((50, 3, 7))
    out, hn = rnn(elman.from_numpy(x))
    w = {k: v.numpy() for k, v in rnn.state_dict().items()}
    h0 = np.zeros((3, 400))
    o0, h_0 = rnn_ref.layer_forward(
        x, h0, w["weight_ih_l0"], w["weight_hh_l0"], w["bias_ih_l0"], w["bias_hh_l0"], False, False
    )
    o1, h_1 = rnn_ref.layer_forward(
        o0, h0, w["weight_ih_l1"], w["weight_hh_l1"], w["bias_ih_l1"], w["bias_hh_l1"], False, False
    )
    np.testing.assert_allclose(out.detach().numpy(), o1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hn.detach().numpy(), np.stack([h_0, h_1]), rtol=1e-12, atol=1e-14)


def run_script(name: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONWARNINGS="error"),
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_training_example_sine_beats_the_naive_forecast() -> None:
    last = run_script("train_sine_simple_rnn.py", "300").strip().splitlines()[-1]
    assert float(last.split("(")[1].split("x better")[0]) > 3


def test_training_example_packed_classifier_learns() -> None:
    last = run_script("classify_packed_sequences.py", "150").strip().splitlines()[-1]
    assert float(last.split(":")[1].split()[0]) > 0.8


def test_training_example_adding_problem_runs() -> None:
    lines = run_script("adding_problem.py", "1000", "10").strip().splitlines()
    assert lines[0].startswith("step     0") and lines[-1].startswith("step  1000")
    assert all(np.isfinite(float(line.split("validation")[1].split()[0])) for line in lines)
