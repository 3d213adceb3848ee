"""SIGKILL an ``elman train`` run at chosen moments, check its checkpoints, resume it.

Shared by the quick CI test (``test_kill.py``) and the long campaign (``campaign_kill.py``).
A *kill* is a real ``SIGKILL`` of a real ``python -m elman train`` process, either after a
delay (anywhere in the run: import, data, steps, saves) or as soon as a save is seen in
progress in the run folder (``checkpoint.tmp-*``: files being written; ``*.bak-*``: between
the two renames that commit a checkpoint; ``best.tmp-*``; ``metrics.json.tmp-*``). After every
kill the checkpoint must load (a missing one only before the first save), and resuming to
the end must give exactly the weights and losses of the uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# small and quick, but with everything a resume must restore: two layers with dropout (the
# RNG), Adam moments, mid-epoch positions, saves every few steps
CONFIG = [
    "sine",
    "--series",
    "400",
    "--seq-len",
    "20",
    "--hidden-size",
    "16",
    "--num-layers",
    "2",
    "--dropout",
    "0.2",
    "--epochs",
    "3",
    "--checkpoint-every",
    "3",
    "--no-progress",
]
SAVE_MARKS = {
    "checkpoint-write": "checkpoint.tmp-",
    "checkpoint-commit": "checkpoint.bak-",
    "best-write": "best.tmp-",
    "best-commit": "best.bak-",
    "metrics-write": "metrics.json.tmp-",
}


def elman_argv(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "elman", "train", *CONFIG, "--out", str(out), *extra]


def run_to_end(out: Path, *extra: str, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(elman_argv(out, *extra), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"elman train failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    from elman.io import load_checkpoint

    return load_checkpoint(path, restore_rng=False)["model"]


@dataclass
class Result:
    """What an uninterrupted or resumed run ends with: weights and every recorded loss."""

    last: dict[str, np.ndarray]
    best: dict[str, np.ndarray]
    step_losses: list[float]
    epochs: list[dict[str, Any]]
    best_epoch: int
    seconds: float = 0.0  # how long the run took, when measured

    @classmethod
    def read(cls, out: Path) -> Result:
        metrics = json.loads((out / "metrics.json").read_text())
        return cls(
            last=load_arrays(out / "checkpoint"),
            best=load_arrays(out / "best"),
            step_losses=metrics["step_losses"],
            epochs=metrics["epochs"],
            best_epoch=metrics["best"]["epoch"],
        )

    def same_as(self, other: Result) -> bool:
        """Bit-for-bit: every weight, every step loss, every epoch's losses."""

        def same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
            return list(a) == list(b) and all(
                a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes() for k in a
            )

        return (
            same(self.last, other.last)
            and same(self.best, other.best)
            and self.step_losses == other.step_losses
            and self.epochs == other.epochs
            and self.best_epoch == other.best_epoch
        )


def _saves_in_progress(out: Path, marks: tuple[str, ...]) -> dict[str, str]:
    """Leftover-style names in ``out`` that show a save in progress: name -> kind."""
    try:
        names = os.listdir(out)
    except FileNotFoundError:
        return {}
    found = {}
    for name in names:
        for kind in marks:
            if name.startswith(SAVE_MARKS[kind]):
                found[name] = kind
    return found


def start_and_kill(
    out: Path,
    resume: bool,
    *,
    delay: float | None = None,
    marks: tuple[str, ...] = (),
    skip: int = 0,
    timeout: float = 300,
) -> str:
    """Start a run (``--resume`` or fresh) and SIGKILL it.

    After ``delay`` seconds, or as soon as the ``skip + 1``-th save matching one of
    ``marks`` (keys of SAVE_MARKS) is seen in progress. Returns what was hit: ``"delay"``,
    a mark, or ``"finished"`` when the run ended (successfully) first.
    """
    argv = elman_argv(out, *(["--resume"] if resume else []))
    seen = set(_saves_in_progress(out, marks))  # leftovers of an earlier kill: not this run's
    ignored = len(seen)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    started = time.monotonic()
    hit = ""
    while not hit:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            if proc.stderr:
                proc.stderr.close()
            if proc.returncode != 0:
                raise AssertionError(f"run failed ({proc.returncode}): {err[-2000:]}")
            return "finished"
        if delay is not None and time.monotonic() - started >= delay:
            hit = "delay"
        for name, kind in _saves_in_progress(out, marks).items():
            if name not in seen:
                seen.add(name)
                if len(seen) - ignored > skip:
                    hit = kind
        if time.monotonic() - started > timeout:
            proc.kill()
            raise AssertionError("the run did not finish in time")
        if not hit:
            time.sleep(0.0002 if marks else 0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.stderr:
        proc.stderr.close()
    return hit


@dataclass
class Check:
    """The state of a run folder right after a kill."""

    checkpoint: str  # "ok", "recovered" (read from the backup), "none" (before any save)
    best: str  # "ok", "recovered", "none"
    problems: list[str] = field(default_factory=list)


def check_after_kill(out: Path) -> Check:
    """Every checkpoint in ``out`` must load and verify (sizes, SHA-256, format)."""
    from elman.io import load_checkpoint

    states = {}
    problems = []
    for name in ("checkpoint", "best"):
        try:
            meta = load_checkpoint(out / name, restore_rng=False)["metadata"]
            states[name] = "recovered" if meta["recovered"] else "ok"
        except FileNotFoundError:
            states[name] = "none"
        except Exception as exc:  # noqa: BLE001 - any failure to load is what we count
            states[name] = "corrupt"
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
    if states["checkpoint"] == "none" and states["best"] != "none":
        problems.append("best/ exists without a checkpoint")
    return Check(states["checkpoint"], states["best"], problems)
