"""``elman train`` under SIGKILL, a full disk, a read-only folder and an early Ctrl-C.

The quick part of the kill -9 campaign (``campaign_kill.py`` is the long one): a few real
SIGKILLs, one of them into a save, then checkpoints that load and a resumed run that ends
bit-for-bit where the uninterrupted one does. A full disk is simulated with RLIMIT_FSIZE
(Python ignores SIGXFSZ, so a write past the limit fails with EFBIG, which the command
sees as an OSError) and, where the machine lets us mount one, a small real tmpfs (ENOSPC).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from kill_harness import CONFIG, Result, check_after_kill, run_to_end, start_and_kill


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Result:
    out = tmp_path_factory.mktemp("kill") / "reference"
    started = time.monotonic()
    run_to_end(out)
    result = Result.read(out)
    result.seconds = time.monotonic() - started
    return result


def test_sigkill_anywhere_then_resume_is_exact(reference: Result, tmp_path: Path) -> None:
    out = tmp_path / "run"
    kills = [
        dict(marks=("checkpoint-write",), skip=0),  # the first save: nothing to resume yet
        dict(marks=("checkpoint-write",), skip=1),  # a later save, files half written
        dict(marks=("checkpoint-commit",), skip=1),  # between the two renames
        dict(marks=("best-write", "metrics-write"), skip=0),
        dict(delay=0.4 * reference.seconds),  # anywhere: imports, a step, a save
    ]
    states = []
    for kill in kills:
        resume = check_after_kill(out).checkpoint != "none"
        hit = start_and_kill(out, resume, **kill)  # type: ignore[arg-type]
        if hit == "finished":  # only the last, timed kill may come too late
            assert "delay" in kill, (kill, states)
            break
        check = check_after_kill(out)
        assert not check.problems, check
        states.append(check.checkpoint)
    assert states[0] == "none" and "none" not in states[1:], states
    if hit != "finished":
        run_to_end(out, "--resume")
    assert Result.read(out).same_as(reference)


def _limited(limit: int) -> Any:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _elman(*args: str, preexec: Any = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "elman", *args],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=preexec,
    )


def _one_line(proc: subprocess.CompletedProcess[str], code: int, fragment: str) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert fragment in line, line
    return line


def _snapshot(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_file_size_limit_keeps_the_previous_checkpoint(reference: Result, tmp_path: Path) -> None:
    """RLIMIT_FSIZE below the checkpoint's largest file: every save fails with EFBIG."""
    out = tmp_path / "run"
    train = ["train", *CONFIG, "--out", str(out)]
    run_to_end(out, "--epochs", "1")
    before = _snapshot(out / "checkpoint")
    limit = max(len(b) for b in before.values()) - 1
    proc = _elman(*train, "--resume", preexec=_limited(limit))
    line = _one_line(proc, 1, "file size limit")
    assert "previous checkpoint" in line
    assert _snapshot(out / "checkpoint") == before  # untouched, and it loads
    assert check_after_kill(out).checkpoint == "ok"
    leftovers = [p.name for p in out.iterdir() if ".tmp-" in p.name or ".bak-" in p.name]
    assert leftovers == []  # the failed save cleaned up after itself
    run_to_end(out, "--resume")  # once space is back, the run ends as if nothing happened
    assert Result.read(out).same_as(reference)


def _mount_tmpfs(path: Path, size: str, readonly: bool = False) -> bool:
    if shutil.which("mount") is None or os.geteuid() != 0:
        return False
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if readonly else "")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True)


def test_full_disk_keeps_the_previous_checkpoint(reference: Result, tmp_path: Path) -> None:
    """A real tmpfs with room for one checkpoint (~32 KiB in pages) but not for the next one
    beside it: the save at step 3 fails with ENOSPC and the step-0 checkpoint stays."""
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "48k"):
        pytest.skip("cannot mount a tmpfs here (needs root and mount rights)")
    try:
        out = disk / "run"
        proc = _elman("train", *CONFIG, "--out", str(out))
        line = _one_line(proc, 1, "the disk is full (ENOSPC)")
        assert "the previous checkpoint (step 0) is kept" in line, line
        check = check_after_kill(out)
        assert not check.problems and check.checkpoint == "ok", check
        assert [p.name for p in out.iterdir()] == ["checkpoint"]  # no half-written leftovers
    finally:
        _umount(disk)


def test_read_only_folder(tmp_path: Path) -> None:
    """A run in a folder that became read-only: resuming says so in one line."""
    disk = tmp_path / "ro"
    out = disk / "run"
    if os.geteuid() == 0:
        if not _mount_tmpfs(disk, "4m"):
            pytest.skip("root, and cannot mount a tmpfs to make a read-only folder")
        remount = ["mount", "-o", "remount,ro", str(disk)]
    try:
        run_to_end(out, "--epochs", "1")
        if os.geteuid() == 0:
            subprocess.run(remount, check=True)
        else:
            out.chmod(0o555)
        proc = _elman("train", *CONFIG, "--out", str(out), "--resume")
        _one_line(proc, 1, "cannot write")
        fresh = _elman("train", *CONFIG, "--out", str(out / "sub"))
        _one_line(fresh, 1, "cannot create --out")
        assert check_after_kill(out).checkpoint == "ok"
    finally:
        if os.geteuid() == 0:
            _umount(disk)
        else:
            out.chmod(0o755)


def _mapped(pid: int, name: str) -> bool:
    try:
        return name in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")
@pytest.mark.parametrize(
    ("launcher", "library"),
    [
        ("python -m elman", "_multiarray_umath"),
        ("python -m elman", "numba/_helperlib"),
        ("python -m elman", "llvmlite"),
        ("elman script", "numba/_helperlib"),
    ],
)
def test_ctrl_c_during_the_import(launcher: str, library: str, tmp_path: Path) -> None:
    """SIGINT while NumPy, Numba or llvmlite is still being imported: one line, exit 130."""
    if launcher == "elman script":  # what pip writes for the `elman` console script
        script = tmp_path / "bin" / "elman"
        script.parent.mkdir()
        script.write_text(
            f"#!{sys.executable}\nimport sys\nfrom elman.cli.main import main\n"
            "if __name__ == '__main__':\n    sys.exit(main())\n"
        )
        script.chmod(0o755)
        argv = [str(script)]
    else:
        argv = [sys.executable, "-m", "elman"]
    proc = subprocess.Popen(
        [*argv, "train", *CONFIG, "--out", str(tmp_path / "r")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _mapped(proc.pid, library) and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert proc.returncode == 130, err
    assert len(err.splitlines()) == 1 and "interrupted" in err, err
