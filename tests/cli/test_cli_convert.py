"""``elman convert`` and ``elman inspect``: between .pt, .safetensors and checkpoint folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import elman
from conftest import FIXTURES, requires_torch
from elman.cli.main import main

PT = FIXTURES / "pt"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "elman", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )


def test_pt_to_safetensors_to_checkpoint_to_pt(tmp_path: Path, capsys) -> None:
    want = elman.load(PT / "rnn_state.pt")
    st, ck, pt = tmp_path / "w.safetensors", tmp_path / "ckpt", tmp_path / "back.pth"
    assert main(["convert", str(PT / "rnn_state.pt"), str(st)]) == 0
    assert main(["convert", str(st), str(ck)]) == 0
    assert main(["convert", str(ck), str(pt)]) == 0
    assert "wrote" in capsys.readouterr().out
    for got in (elman.io.load_weights(st), elman.io.load_checkpoint(ck)["model"], elman.load(pt)):
        assert sorted(got) == sorted(want)  # (safetensors stores names sorted)
        for k, v in want.items():
            assert np.array_equal(np.asarray(got[k]), v.numpy()), k


def test_checkpoint_dict_keeps_its_sections(tmp_path: Path, capsys) -> None:
    src = PT / "checkpoint.pt"
    ck, pt = tmp_path / "ckpt", tmp_path / "again.pt"
    assert main(["convert", str(src), str(tmp_path / "w.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "not stored in a .safetensors file: optimizer, scheduler, 'epoch'" in out
    with pytest.raises(SystemExit, match="cannot store|TypeError|type"):
        main(["convert", str(src), str(ck)])  # misc holds bytes and dtypes: not JSON-able
    small = tmp_path / "small.pt"
    original = elman.load(src)
    elman.save({k: original[k] for k in ("model", "optimizer", "scheduler", "epoch")}, small)
    assert main(["convert", str(small), str(ck)]) == 0
    assert main(["convert", str(ck), str(pt)]) == 0
    back = elman.load(pt)
    assert back["epoch"] == 3 and back["scheduler"] == original["scheduler"]
    assert back["optimizer"]["param_groups"] == original["optimizer"]["param_groups"]
    for idx, state in original["optimizer"]["state"].items():
        for k, v in state.items():
            assert np.array_equal(back["optimizer"]["state"][idx][k].numpy(), v.numpy())


@requires_torch
def test_converted_checkpoint_resumes_in_torch(torch_or_skip, tmp_path: Path) -> None:
    torch = torch_or_skip
    src = tmp_path / "t.pt"
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 2)).sum().backward()
    opt.step()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, src)
    assert main(["convert", str(src), str(tmp_path / "ck")]) == 0
    assert main(["convert", str(tmp_path / "ck"), str(tmp_path / "back.pt")]) == 0
    back = torch.load(tmp_path / "back.pt")
    opt2 = torch.optim.Adam(torch.nn.Linear(2, 1).parameters())
    opt2.load_state_dict(back["optimizer"])
    assert torch.equal(
        opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"]
    )


def test_inspect_lists_without_executing(tmp_path: Path, capsys) -> None:
    assert main(["inspect", str(PT / "whole_module.pt")]) == 0
    out = capsys.readouterr().out
    assert "refused by elman.load without an allowlist: torch.nn.modules.container" in out
    assert "0.weight_ih_l0  float32   [3, 2]" in out
    assert "torch.nn.modules.rnn.RNN(" in out and "hidden_size=3" in out
    assert main(["inspect", "--json", str(PT / "legacy_state.pt")]) == 0
    desc = json.loads(capsys.readouterr().out)
    assert desc["format"] == "legacy" and len(desc["tensors"]) == 16
    st = tmp_path / "w.safetensors"
    elman.io.save_weights(st, elman.nn.Linear(3, 2))
    assert main(["inspect", str(st)]) == 0
    assert "weight  F32       [2, 3]         24 B" in capsys.readouterr().out
    ck = tmp_path / "ck"
    elman.io.save_checkpoint(ck, model=elman.nn.Linear(3, 2), extra={"epoch": 7})
    assert main(["inspect", str(ck)]) == 0
    out = capsys.readouterr().out
    assert "elman checkpoint, 2 tensors" in out and "epoch=7" in out


def test_user_mistakes_are_one_line_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    (tmp_path / "exists.pt").write_bytes(b"x")
    cases = [
        ("convert", str(tmp_path / "missing.pt"), str(tmp_path / "o.pt")),
        ("convert", str(PT / "whole_module.pt"), str(tmp_path / "o.pt")),
        ("convert", str(PT / "optimizers.pt"), str(tmp_path / "o.pt")),
        ("convert", str(tmp_path / "junk.pt"), str(tmp_path / "o.safetensors")),
        ("convert", str(PT / "rnn_state.pt"), str(tmp_path / "exists.pt")),
        ("inspect", str(tmp_path / "junk.pt")),
        ("inspect", str(tmp_path / "missing.pt")),
    ]
    for args in cases:
        out = _cli(*args)
        assert out.returncode == 1, (args, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"elman {args[0]}: "), out.stderr
        assert "Traceback" not in out.stderr
    assert not (tmp_path / "o.pt").exists() and not (tmp_path / "o.safetensors").exists()
    out = _cli("convert", str(PT / "rnn_state.pt"), str(tmp_path / "exists.pt"), "--overwrite")
    assert out.returncode == 0 and len(elman.load(tmp_path / "exists.pt")) == 16
