"""``elman train`` / predict / evaluate / sample, run as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SINE = ["--series", "300", "--seq-len", "20", "--hidden-size", "16", "--no-progress"]


def elman_cmd(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "elman", *args], capture_output=True, text=True, timeout=timeout
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


def test_sine_trains_beats_baseline_and_writes_outputs(tmp_path: Path) -> None:
    out = tmp_path / "sine"
    proc = elman_cmd("train", "sine", "--out", str(out), "--epochs", "8", *SINE, "--series", "800")
    m = metrics(out)
    assert len(m["epochs"]) == 8
    assert m["epochs"][-1]["val_loss"] < m["baseline"] / 2
    assert m["epochs"][-1]["val_loss"] < m["epochs"][0]["val_loss"]
    assert (out / "checkpoint" / "model.safetensors").exists()
    assert "x better" in proc.stdout
    try:
        import matplotlib  # noqa: F401

        assert (out / "loss.png").stat().st_size > 1000
    except ImportError:
        assert "pip install" in proc.stdout


def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    args = ["train", "sine", "--epochs", "4", "--checkpoint-every", "5", *SINE]
    whole = tmp_path / "whole"
    elman_cmd(*args, "--out", str(whole))
    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        [sys.executable, "-m", "elman", *args, "--out", str(cut)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while not (cut / "checkpoint").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # let it get somewhere into the run, mid-epoch most likely
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    elman_cmd(*args, "--out", str(cut), "--resume")
    a, b = metrics(whole), metrics(cut)
    assert b["step_losses"] == a["step_losses"]
    assert [e["val_loss"] for e in b["epochs"]] == [e["val_loss"] for e in a["epochs"]]


def test_predict_and_evaluate_a_sine_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "sine"
    elman_cmd("train", "sine", "--out", str(out), "--epochs", "2", *SINE)
    rng = np.random.default_rng(1)
    t = np.arange(25)
    series = np.sin(2 * np.pi * t / rng.uniform(8, 40, size=(10, 1)))
    np.save(tmp_path / "x.npy", series[:, :20])
    np.savetxt(tmp_path / "y.csv", series[:, 20:], delimiter=",")
    elman_cmd(
        "predict",
        str(out / "checkpoint"),
        "--input",
        str(tmp_path / "x.npy"),
        "--output",
        str(tmp_path / "p.csv"),
    )
    pred = np.loadtxt(tmp_path / "p.csv", delimiter=",", ndmin=2)
    assert pred.shape == (10, 5) and np.all(np.isfinite(pred))
    ev = elman_cmd(
        "evaluate",
        str(out / "checkpoint"),
        "--input",
        str(tmp_path / "x.npy"),
        "--target",
        str(tmp_path / "y.csv"),
    )
    mse = float(ev.stdout.split("MSE ")[1].split()[0])
    assert mse == pytest.approx(float(np.mean((pred - series[:, 20:]) ** 2)), rel=1e-5)


def test_text_trains_and_samples(tmp_path: Path) -> None:
    data = tmp_path / "t.txt"
    data.write_text("the quick brown fox jumps over the lazy dog. " * 40)
    out = tmp_path / "text"
    elman_cmd(
        "train",
        "text",
        "--data",
        str(data),
        "--out",
        str(out),
        "--epochs",
        "3",
        "--hidden-size",
        "32",
        "--seq-len",
        "16",
        "--no-progress",
    )
    m = metrics(out)
    assert m["epochs"][-1]["val_loss"] < m["baseline"]
    s = elman_cmd("sample", str(out / "checkpoint"), "--length", "50", "--prime", "the ")
    text = s.stdout.rstrip("\n")
    assert text.startswith("the ") and len(text) == 54
    assert set(text) <= set(data.read_text())
    ev = elman_cmd("evaluate", str(out / "checkpoint"), "--input", str(data))
    assert "nats/char" in ev.stdout


def test_corrupted_checkpoint_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "sine"
    elman_cmd("train", "sine", "--out", str(out), "--epochs", "1", *SINE)
    weights = out / "checkpoint" / "model.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-3] ^= 0xFF
    weights.write_bytes(bytes(blob))
    np.save(tmp_path / "x.npy", np.zeros((2, 20)))
    proc = elman_cmd(
        "predict",
        str(out / "checkpoint"),
        "--input",
        str(tmp_path / "x.npy"),
        "--output",
        str(tmp_path / "p.npy"),
        check=False,
    )
    assert proc.returncode != 0
    assert "model.safetensors" in proc.stderr and "Traceback" not in proc.stderr
    resume = elman_cmd(
        "train", "sine", "--out", str(out), "--epochs", "2", "--resume", *SINE, check=False
    )
    assert resume.returncode != 0 and "Traceback" not in resume.stderr


@pytest.mark.skipif(os.environ.get("ELMAN_SLOW") != "1", reason="minutes long; ELMAN_SLOW=1")
def test_adding_problem_is_solved_with_the_irnn_recipe(tmp_path: Path) -> None:
    out = tmp_path / "adding"
    elman_cmd(
        "train",
        "adding",
        "--out",
        str(out),
        "--seq-len",
        "100",
        "--nonlinearity",
        "relu",
        "--init",
        "identity",
        "--no-progress",
        timeout=3000,
    )
    assert metrics(out)["epochs"][-1]["val_loss"] < 0.01
