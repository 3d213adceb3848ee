"""A crash injected at every step of an atomic save leaves the old or the new checkpoint
loadable; recovery from the backup is reported; the weights file is written atomically.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from checkpoint_models import (
    Net,
    assert_bit_equal,
    weights_of,
)

from elman.io import load_checkpoint, load_weights, save_checkpoint, save_weights


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return tmp_path / "ckpt"


# ---- crashes during a save ----------------------------------------------------------------


class HardCrash(BaseException):
    """Stands in for a power cut: no except-Exception cleanup or rollback runs."""


def _fail_at(monkeypatch: pytest.MonkeyPatch, k: int, exc: type[BaseException]) -> list[str]:
    """Make the k-th filesystem step raise ``exc``; return the names of the steps taken."""
    steps: list[str] = []

    def wrap(name: str, fn: Any) -> Any:
        def step(*args: Any, **kwargs: Any) -> Any:
            steps.append(name)
            if len(steps) == k:
                raise exc(f"injected failure at step {k} ({name})")
            return fn(*args, **kwargs)

        return step

    for module, name in (
        (os, "mkdir"),
        (os, "fsync"),
        (os, "rename"),
        (os, "replace"),
        (shutil, "rmtree"),
    ):
        monkeypatch.setattr(module, name, wrap(name, getattr(module, name)))
    return steps


@pytest.mark.parametrize("exc", [OSError, HardCrash])
@pytest.mark.parametrize("has_old", [True, False])
def test_crash_at_every_step_leaves_a_loadable_checkpoint(
    tmp_path: Path, has_old: bool, exc: type[BaseException]
) -> None:
    old, new = Net(), Net()
    seen_steps: set[str] = set()
    k = 0
    while True:
        k += 1
        root = tmp_path / f"run{k}"
        root.mkdir()
        ckpt = root / "ckpt"
        if has_old:
            save_checkpoint(ckpt, model=old, extra={"epoch": 1})
        with pytest.MonkeyPatch.context() as mp:
            steps = _fail_at(mp, k, exc)
            try:
                save_checkpoint(ckpt, model=new, extra={"epoch": 2})
                crashed = False
            except exc:
                crashed = True
        seen_steps.update(steps)
        if not crashed:
            break
        try:
            out = load_checkpoint(ckpt, model=Net())
        except FileNotFoundError:
            assert not has_old, f"step {k} ({steps[-1]}): the old checkpoint was lost"
            out = None
        if out is not None:
            epoch = out["extra"]["epoch"]
            assert epoch in ((1, 2) if has_old else (2,)), f"step {k}"
            want = weights_of(old if epoch == 1 else new)
            for name, v in out["model"].items():
                assert_bit_equal(v, want[name], name)
            if exc is OSError:  # an ordinary error rolls back: `ckpt` itself is intact
                assert not out["metadata"]["recovered"], f"step {k} ({steps[-1]})"
        # the next save succeeds and cleans every leftover
        save_checkpoint(ckpt, model=new, extra={"epoch": 3})
        assert load_checkpoint(ckpt)["extra"] == {"epoch": 3}
        assert os.listdir(root) == ["ckpt"], f"step {k}: leftovers {os.listdir(root)}"
    assert k > 5 and {"mkdir", "fsync", "rename"} <= seen_steps
    assert "rmtree" in seen_steps or not has_old


def test_recovery_from_backup_is_reported(ckpt: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_checkpoint(ckpt, extra={"epoch": 1})
    with pytest.MonkeyPatch.context() as mp:
        # mkdir, fsync of state.safetensors, meta.json and the directory, rename, fsync
        steps = _fail_at(mp, 6, HardCrash)
        with pytest.raises(HardCrash):
            save_checkpoint(ckpt, extra={"epoch": 2})
    assert steps[-2:] == ["rename", "fsync"], steps  # crashed with `ckpt` renamed away
    assert not ckpt.exists()
    out = load_checkpoint(ckpt)
    assert out["extra"] == {"epoch": 1} and out["metadata"]["recovered"] is True
    assert ".bak-" in out["metadata"]["path"]


@pytest.mark.parametrize("exc", [OSError, HardCrash])
def test_weights_file_write_is_atomic(tmp_path: Path, exc: type[BaseException]) -> None:
    path = tmp_path / "w.safetensors"
    save_weights(path, {"x": np.zeros(3)})
    for k in (1, 2):  # fsync of the temporary file, then os.replace
        with pytest.MonkeyPatch.context() as mp:
            _fail_at(mp, k, exc)
            with pytest.raises(exc):
                save_weights(path, {"x": np.ones(3)})
        assert_bit_equal(load_weights(path)["x"], np.zeros(3))
    save_weights(path, {"x": np.ones(3)})
    assert_bit_equal(load_weights(path)["x"], np.ones(3))
    assert os.listdir(tmp_path) == ["w.safetensors"]
