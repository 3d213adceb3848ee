"""One ``elman train`` run as a sweep's configuration: the command itself, in a child
process of the worker (its own signals, memory and exit code), never an imitation of it."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["TrainCommand"]

# The child runs `elman train` and exits when the worker does: its stdin is a pipe from the
# worker, and end-of-file (the worker gone, even by SIGKILL) stops it, so no orphan keeps
# training after Dask has given the configuration to another worker.
_CHILD = """\
import os, sys, threading
def _watch():
    sys.stdin.buffer.read()
    os._exit(70)
threading.Thread(target=_watch, daemon=True).start()
from elman.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:  # argparse's usage errors (exit code 2)
    code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)  # not sys.exit: the watching thread must not meet interpreter shutdown
"""


class TrainCommand:
    """``f(config, run_dir)`` running ``elman train TASK --key value ... --out run_dir``.

    A configuration's keys are ``elman train`` flags without the dashes (``lr``,
    ``hidden-size`` or ``hidden_size``, ``seed``, ``epochs``, ...); ``True`` gives a bare
    flag. Returns the best validation loss and epoch from ``run_dir/metrics.json``.
    """

    def __init__(self, task: str, extra: tuple[str, ...] = ()) -> None:
        self.task = task
        self.extra = tuple(extra)

    def argv(self, config: Mapping[str, Any], run_dir: Path) -> list[str]:
        args = ["train", self.task, *self.extra]
        for key, value in config.items():
            flag = "--" + str(key).replace("_", "-")
            if value is True:
                args.append(flag)
            elif value is not False and value is not None:
                args += [flag, str(value)]
        return args + ["--out", str(run_dir), "--no-progress"]

    def __call__(self, config: Mapping[str, Any], run_dir: Path) -> dict[str, Any]:
        # the command's output goes to run_dir/train.log afterwards: during the run, the
        # folder must hold nothing but elman train's own files
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD, *self.argv(config, run_dir)],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=errors,
            )
            try:
                code = proc.wait()  # stdin stays open meanwhile: its end tells the child to stop
            finally:
                proc.stdin.close()  # type: ignore[union-attr]
                if proc.poll() is None:  # this task was interrupted, not the child's own exit
                    proc.kill()
                    proc.wait()
            out.seek(0)
            errors.seek(0)
            err = errors.read().decode(errors="replace")
            (run_dir / "train.log").write_bytes(out.read() + err.encode())
        if code != 0:
            lines = err.strip().splitlines()
            raise RuntimeError(lines[-1] if lines else f"elman train exited {code}")
        metrics = json.loads((run_dir / "metrics.json").read_text())
        best = metrics.get("best") or {}
        return {"val_loss": best.get("val_loss"), "best_epoch": best.get("epoch")}
