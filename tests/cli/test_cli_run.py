"""``elman run SCRIPT``: torch scripts run unmodified with torch resolved to elman; a missing
name is one line with the script's line and exit code 1; torch-only extensions are refused;
real torch is never imported. Each run is a real subprocess (``python -m elman run``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import elman

SRC = str(Path(elman.__file__).resolve().parent.parent)


def run(tmp_path: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run(
        [sys.executable, "-m", "elman", "run", str(script), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_torch_and_submodules_are_elmans_and_real_torch_is_not_loaded(tmp_path: Path) -> None:
    proc = run(
        tmp_path,
        """
        import sys
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        from torch.utils.data import DataLoader
        import torch.nn.modules.rnn
        import elman
        assert torch is elman and nn is elman.nn and F is elman.nn.functional
        assert sys.modules["torch.nn.modules.rnn"] is elman.nn.modules.rnn
        assert DataLoader is elman.utils.data.DataLoader
        real = [m for m, v in sys.modules.items() if m.split(".")[0] == "torch"
                and not getattr(v, "__name__", "").startswith("elman")]
        assert not real, real
        print("args", sys.argv[1:], __name__)
        """,
        "--epochs",
        "3",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "args ['--epochs', '3'] __main__"


def test_missing_name_is_one_line_with_the_script_line(tmp_path: Path) -> None:
    proc = run(
        tmp_path,
        """
        import torch

        x = torch.zeros(3)
        y = torch.fft.rfft(x)
        """,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].endswith("script.py:5: torch.fft is not available in elman"), lines[0]


def test_missing_tensor_method_names_the_method(tmp_path: Path) -> None:
    proc = run(tmp_path, "import torch\n\ntorch.zeros(2).cumsum(0)\n")
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith("script.py:3: Tensor.cumsum is not available in elman")


def test_missing_import_name_and_module(tmp_path: Path) -> None:
    proc = run(tmp_path, "from torch.nn import Bilinear\n")
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith("script.py:1: torch.nn.Bilinear is not available in elman")
    proc = run(tmp_path, "import torch.distributions\n")
    assert proc.stderr.strip().endswith(
        "script.py:1: torch.distributions is not available in elman (no such module)"
    )


@pytest.mark.parametrize(
    "code,line",
    [
        ("import torch.nn as nn\nlstm = nn.LSTM(3, 4)\n", 2),
        ("from torch.nn import GRU\n", 1),
    ],
)
def test_outside_purpose_says_why(tmp_path: Path, code: str, line: int) -> None:
    proc = run(tmp_path, code)
    assert proc.returncode == 1
    text = proc.stderr.strip()
    assert f"script.py:{line}: torch.nn." in text and "is not available in elman (" in text
    assert "outside elman's purpose" in text and len(text.splitlines()) == 1


@pytest.mark.parametrize("ext", ["torchvision", "torchtext.data"])
def test_torch_only_extensions_are_refused(tmp_path: Path, ext: str) -> None:
    proc = run(tmp_path, f"import torch\nimport {ext}\n")
    assert proc.returncode == 1
    line = proc.stderr.strip()
    assert line.endswith(
        f"script.py:2: {ext.split('.')[0]} is an extension of real torch (it loads torch's "
        "compiled code); elman run cannot provide it"
    ), line


def test_script_errors_keep_their_traceback_and_exit_codes_pass(tmp_path: Path) -> None:
    proc = run(tmp_path, "import torch\nraise KeyError('mine')\n")
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "KeyError: 'mine'" in proc.stderr
    proc = run(tmp_path, "import sys\nsys.exit(7)\n")
    assert proc.returncode == 7
    proc = run(tmp_path, "import torch\nprint(torch.zeros(2).sum().item())\n")
    assert proc.returncode == 0 and proc.stdout.strip() == "0.0"


def test_no_such_script(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "elman", "run", str(tmp_path / "nope.py")],
        env=dict(os.environ, PYTHONPATH=SRC),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"elman run: {tmp_path / 'nope.py'}: no such file"
