"""``elman train`` as a run's life: the best checkpoint, --resume with the run's own flags,
--overwrite, NaN/inf stops, Ctrl-C between steps, progress output, honest wording."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import time
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

from elman.cli._report import versus
from elman.cli.main import main

SMALL = ["--series", "300", "--seq-len", "20", "--hidden-size", "16", "--no-progress"]


def elman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "elman", *args], capture_output=True, text=True, timeout=600
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def weights(path: Path) -> dict[str, bytes]:
    from elman.io import load_checkpoint

    model = load_checkpoint(path, restore_rng=False)["model"]
    return {k: v.tobytes() for k, v in model.items()}


def metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


def test_best_checkpoint_is_kept_beside_the_last(tmp_path: Path) -> None:
    """lr 0.03 overshoots: the best validation loss is epoch 4's of 6, and best/ holds
    exactly the weights a run stopped after epoch 4 ends with."""
    six = elman(
        "train", "sine", *SMALL, "--lr", "0.03", "--epochs", "6", "--out", str(tmp_path / "a")
    )
    elman("train", "sine", *SMALL, "--lr", "0.03", "--epochs", "4", "--out", str(tmp_path / "b"))
    m = metrics(tmp_path / "a")
    vals = [e["val_loss"] for e in m["epochs"]]
    assert m["best"]["epoch"] == 1 + int(np.argmin(vals)) == 4
    assert m["best"]["val_loss"] == min(vals) < vals[-1]
    assert weights(tmp_path / "a" / "best") == weights(tmp_path / "b" / "checkpoint")
    assert weights(tmp_path / "a" / "best") != weights(tmp_path / "a" / "checkpoint")
    assert f"best validation loss {min(vals):.5g} at epoch 4 of 6" in six.stdout
    assert f"(last epoch: {vals[-1]:.5g})" in six.stdout
    # and best/ is what predict uses when given
    np.save(tmp_path / "x.npy", np.zeros((2, 20)))
    elman(
        "predict", str(tmp_path / "a" / "best"), "--input", str(tmp_path / "x.npy"),
        "--output", str(tmp_path / "p.npy"),
    )  # fmt: skip


def test_resume_restores_the_run_configuration(tmp_path: Path) -> None:
    """--resume with no other flag continues with the run's own hidden size, lr and seed
    (not the task's defaults) and ends exactly where a 3-epoch run ends."""
    flags = [*SMALL, "--lr", "0.01", "--seed", "5", "--num-layers", "2", "--dropout", "0.3"]
    elman("train", "sine", *flags, "--epochs", "2", "--out", str(tmp_path / "a"))
    resumed = elman("train", "sine", "--out", str(tmp_path / "a"), "--resume", "--epochs", "3")
    assert "resuming sine at epoch 3" in resumed.stdout
    elman("train", "sine", *flags, "--epochs", "3", "--out", str(tmp_path / "b"))
    a, b = metrics(tmp_path / "a"), metrics(tmp_path / "b")
    assert a["step_losses"] == b["step_losses"] and a["epochs"] == b["epochs"]
    assert weights(tmp_path / "a" / "checkpoint") == weights(tmp_path / "b" / "checkpoint")
    # the same command again: the run is finished, said so, exit 0, nothing retrained
    again = elman("train", "sine", "--out", str(tmp_path / "a"), "--resume")
    assert "already finished: its 3 epochs are done" in again.stdout
    assert metrics(tmp_path / "a")["step_losses"] == a["step_losses"]


def test_the_same_finished_run_again_reports_it(tmp_path: Path) -> None:
    """The README's main job run twice: the second time finds the same finished run in
    --out, says so, reports it and exits 0 without training or writing weights."""
    out = tmp_path / "a"
    first = elman("train", "sine", *SMALL, "--epochs", "2", "--out", str(out))
    before, losses = weights(out / "checkpoint"), metrics(out)["step_losses"]
    again = elman("train", "sine", *SMALL, "--epochs", "2", "--out", str(out))
    assert "already finished: its 2 epochs are done; --resume --epochs N" in again.stdout
    (done,) = [line for line in first.stdout.splitlines() if line.startswith("done in")]
    assert done.split(": ", 1)[1] in again.stdout  # the same report (with or without a plot)
    assert weights(out / "checkpoint") == before
    assert metrics(out)["step_losses"] == losses
    longer = elman("train", "sine", *SMALL, "--epochs", "3", "--out", str(out), check=False)
    assert longer.returncode == 1 and "already holds this run" in longer.stderr


def test_overwrite_replaces_a_different_run(tmp_path: Path) -> None:
    out = tmp_path / "a"
    elman("train", "sine", *SMALL, "--epochs", "1", "--out", str(out))
    refused = elman(
        "train", "sine", *SMALL, "--epochs", "1", "--lr", "0.01", "--out", str(out), check=False
    )
    assert refused.returncode == 1 and "--overwrite" in refused.stderr
    elman(
        "train", "sine", *SMALL, "--epochs", "1", "--lr", "0.01", "--out", str(out), "--overwrite"
    )
    from elman.io import load_checkpoint

    for name in ("checkpoint", "best"):
        assert load_checkpoint(out / name, restore_rng=False)["extra"]["run"]["lr"] == 0.01


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    """--lr 1e30 overflows at the first step: exit 1 with one line; the checkpoint written
    before any step is still there, finite, and equal to the untrained model."""
    import elman as el
    from elman.cli.tasks import SequenceModel
    from elman.io import load_checkpoint

    out = tmp_path / "div"
    proc = elman("train", "sine", *SMALL, "--lr", "1e30", "--out", str(out), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    assert "the loss became" in line and "(step 0) is kept" in line, line
    saved = load_checkpoint(out / "checkpoint", restore_rng=False)
    assert saved["extra"]["step"] == 0
    el.manual_seed(0)
    fresh = SequenceModel(saved["extra"]["config"]).state_dict()
    for name, value in saved["model"].items():
        assert np.isfinite(value).all()
        np.testing.assert_array_equal(value, fresh[name].detach().numpy())


def test_weights_that_are_not_finite_are_never_saved(tmp_path: Path) -> None:
    from elman.cli._errors import UserError
    from elman.cli.train_config import resolve
    from elman.cli.train_state import Run
    from elman.io import load_checkpoint

    args = resolve(
        Namespace(task="sine", out=tmp_path / "r", resume=False, overwrite=False,
                  **{k: None for k in ("epochs batch_size lr optimizer momentum weight_decay "
                                       "clip hidden_size num_layers nonlinearity init dropout "
                                       "seq_len seed dtype checkpoint_every no_progress "
                                       "stop_below horizon series noise eval_every data "
                                       "embed_size").split()})
    )  # fmt: skip
    args.series, args.seq_len, args.hidden_size = 50, 5, 4
    run = Run(args)
    args.out.mkdir()
    run.save()
    before = weights(args.out / "checkpoint")
    next(iter(run.model.parameters())).detach().numpy()[0, 0] = np.nan
    with pytest.raises(UserError, match=r"weights became NaN/inf.*\(step 0\) is kept"):
        run.save()
    assert weights(args.out / "checkpoint") == before
    assert load_checkpoint(args.out / "checkpoint", restore_rng=False)["extra"]["step"] == 0


@pytest.mark.parametrize(
    "signum, code, word",
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated (SIGTERM)")],
)
def test_ctrl_c_stops_between_steps_and_resumes_exactly(
    signum: int, code: int, word: str, tmp_path: Path
) -> None:
    """Ctrl-C, or SIGTERM (kill, docker stop), saves at the next step boundary and stops."""
    flags = ["train", "sine", *SMALL, "--epochs", "3", "--checkpoint-every", "0"]
    elman(*flags, "--out", str(tmp_path / "whole"))
    out = tmp_path / "cut"
    proc = subprocess.Popen(
        [sys.executable, "-m", "elman", *flags, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # "epoch 1/3: ..." once the first epoch is saved
    assert first.startswith("epoch 1/3"), first
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code and "Traceback" not in err, err
    (line,) = err.splitlines()
    assert f"{word} at step" in line and "checkpoint saved" in line, line
    elman(*flags, "--out", str(out), "--resume")
    a, b = metrics(tmp_path / "whole"), metrics(out)
    assert a["step_losses"] == b["step_losses"] and a["epochs"] == b["epochs"]
    assert weights(out / "checkpoint") == weights(tmp_path / "whole" / "checkpoint")


def test_second_ctrl_c_stops_at_once_but_not_during_a_save() -> None:
    from elman.cli._interrupts import Interrupts

    with Interrupts() as interrupts:
        os.kill(os.getpid(), signal.SIGINT)
        assert interrupts.requested
        with interrupts.save_window():
            os.kill(os.getpid(), signal.SIGINT)  # waits for the save
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)  # a SIGTERM after a Ctrl-C: at once too
            time.sleep(1)
        assert interrupts.exit_code == 130  # the first signal names the stop
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_no_progress_bar_without_a_terminal(tmp_path: Path) -> None:
    """Into a log file: one line per epoch on stdout, nothing redrawn on stderr."""
    out = tmp_path / "log"
    args = [a for a in SMALL if a != "--no-progress"]
    proc = elman("train", "sine", *args, "--epochs", "3", "--out", str(out))
    assert proc.stderr == ""
    assert "\r" not in proc.stdout
    assert [line.split(":")[0] for line in proc.stdout.splitlines()[:3]] == [
        "epoch 1/3",
        "epoch 2/3",
        "epoch 3/3",
    ]
    assert len(proc.stdout) < 1000


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    args = [a for a in SMALL if a != "--no-progress"]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    proc = subprocess.Popen(
        [sys.executable, "-m", "elman", "train", "sine", *args, "--epochs", "2",
         "--out", str(tmp_path / "tty")],
        stdout=subprocess.DEVNULL, stderr=slave,
    )  # fmt: skip
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        drawn += chunk
    proc.wait(timeout=120)
    os.close(master)
    assert proc.returncode == 0
    assert b"\r" in drawn and b"step/s" in drawn


def test_versus_never_says_better_when_worse() -> None:
    assert versus(0.02, 0.4) == "20x better than the baseline (0.4)"
    assert versus(0.38, 0.4) == "1.05x better than the baseline (0.4)"
    assert versus(0.4, 0.398) == "about equal to the baseline (0.398)"
    assert versus(0.41, 0.4) == "1.02x worse than the baseline (0.4)"
    assert versus(7.6, 0.4) == "19x worse than the baseline (0.4)"
    assert versus(0.0, 0.4) == "better than the baseline (0.4)"
    assert versus(0.1, 0.0) == "worse than the baseline (0)"
    assert versus(float("nan"), 0.4) == "not comparable with the baseline (0.4)"


def test_help_shows_every_task_default_and_the_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["train", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: sine 40, adding 40, text 10)" in text  # --epochs
    assert "(default: sine 32, adding 100, text 256)" in text  # --hidden-size
    assert "(default: sine tanh, adding relu, text tanh)" in text
    assert "(default: 200)" in text  # --checkpoint-every, the same for every task
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    for code in ("0 ", "1 ", "2 ", "130 "):
        assert f"\n  {code}" in top, top


def test_text_resume_finds_its_data_and_notices_a_change(tmp_path: Path) -> None:
    data = tmp_path / "book.txt"
    data.write_text("the quick brown fox jumps over the lazy dog. " * 20)
    out = tmp_path / "text"
    flags = ["--seq-len", "8", "--hidden-size", "8", "--no-progress", "--out", str(out)]
    elman("train", "text", "--data", str(data), *flags, "--epochs", "1")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = subprocess.run(
        [sys.executable, "-m", "elman", "train", "text", "--out", str(out), "--resume",
         "--epochs", "2"],
        capture_output=True, text=True, timeout=600, cwd=elsewhere,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    data.write_text("a different book entirely, with other words in it. " * 20)
    changed = elman("train", "text", "--out", str(out), "--resume", "--epochs", "3", check=False)
    assert changed.returncode == 1 and "the --data file's content" in changed.stderr
