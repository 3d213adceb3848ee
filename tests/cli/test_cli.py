"""The ``elman`` command: shapes and bench, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from elman.cli.bench import DEFAULT_SHAPES, regime_of
from elman.cli.main import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "elman", *args], capture_output=True, text=True, timeout=300
    )


def test_shapes_defaults_print_seed000_first_program(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shapes"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "weight_ih_l0 elman.Size([4, 5000])",
        "weight_hh_l0 elman.Size([4, 4])",
        "bias_ih_l0 elman.Size([4])",
        "bias_hh_l0 elman.Size([4])",
        "input : elman.Size([2, 10, 5000])  //  h0 : elman.Size([1, 2, 4])",
        "output : elman.Size([2, 10, 4])  //  hn : elman.Size([1, 2, 4])",
    ]


def test_shapes_bidirectional_time_major(capsys: pytest.CaptureFixture[str]) -> None:
    args = "shapes --no-batch-first --input-size 3 --hidden-size 5 --num-layers 2 --bidirectional"
    assert main([*args.split(), "--batch-size", "4", "--seq-len", "6"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "weight_ih_l1_reverse elman.Size([5, 10])" in out
    assert out[-2] == "input : elman.Size([6, 4, 3])  //  h0 : elman.Size([4, 4, 5])"
    assert out[-1] == "output : elman.Size([6, 4, 10])  //  hn : elman.Size([4, 4, 5])"


def test_shapes_unbatched_without_h0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shapes", "--unbatched", "--no-h0", "--input-size", "3", "--seq-len", "7"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "input : elman.Size([7, 3])  //  h0 : None (zeros)"
    assert out[-1] == "output : elman.Size([7, 4])  //  hn : elman.Size([1, 4])"


def test_shapes_bad_configuration_is_a_clear_error() -> None:
    proc = run_cli("shapes", "--hidden-size", "0")
    assert proc.returncode != 0
    assert "hidden_size must be greater than zero" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_lists_every_command_and_flag() -> None:
    top = run_cli("--help").stdout
    assert "shapes" in top and "bench" in top
    shapes_help = run_cli("shapes", "--help").stdout
    for flag in (
        "--input-size",
        "--hidden-size",
        "--num-layers",
        "--nonlinearity",
        "--no-bias",
        "--batch-first",
        "--dropout",
        "--bidirectional",
        "--batch-size",
        "--seq-len",
        "--unbatched",
        "--no-h0",
        "--dtype",
        "--seed",
    ):
        assert flag in shapes_help, flag


def test_bench_writes_json_with_ratios(tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    code = main(
        [
            "bench",
            "--shape",
            "4,2,3,5,2,bi",
            "--repeat",
            "5",
            "--min-time",
            "0",
            "--json",
            str(out),
            "--no-torch",
            "--settle",
            "0.001",
        ]
    )
    assert code == 0
    data = json.loads(out.read_text())
    assert data["settle_s"] == 0.001
    (res,) = data["results"]
    assert res["shape"] == [4, 2, 3, 5, 2, True]
    assert res["regime"] == "overhead"
    for kind in ("fwd", "fb"):
        assert len(res[kind]["elman_s"]) == 5
        assert all(t > 0 for t in res[kind]["elman_s"])


def test_bench_packed_runs(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    code = main(
        [
            "bench",
            "--shape",
            "6,3,2,4,1",
            "--repeat",
            "5",
            "--min-time",
            "0",
            "--packed",
            "--json",
            str(out),
            "--no-torch",
        ]
    )
    assert code == 0
    assert json.loads(out.read_text())["packed"] is True


def test_bench_rejects_bad_shapes() -> None:
    proc = run_cli("bench", "--shape", "1,2,3", "--no-torch")
    assert proc.returncode != 0 and "L,N,I,H,LAYERS" in proc.stderr


def test_bench_rejects_a_negative_settle() -> None:
    proc = run_cli("bench", "--settle", "-1", "--no-torch")
    assert proc.returncode != 0 and "--settle" in proc.stderr


def test_regimes_of_the_speed_table() -> None:
    assert [regime_of(s[1], s[3]) for s in DEFAULT_SHAPES] == [s[6] for s in DEFAULT_SHAPES]
