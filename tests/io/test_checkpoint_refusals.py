"""Damaged checkpoints are refused with a message naming the file and the fault; unstorable
values are rejected before writing; a save never replaces a foreign file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from checkpoint_models import (
    FakeOptimizer,
    Net,
    assert_bit_equal,
    nested_state,
    weights_of,
)

import elman
from elman.io import CheckpointError, load_checkpoint, load_weights, save_checkpoint, save_weights
from elman.io.checkpoint import _meta_digest


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return tmp_path / "ckpt"


# ---- refusing damaged checkpoints --------------------------------------------------------


def _flip(path: Path, where: int) -> None:
    data = bytearray(path.read_bytes())
    data[where] ^= 0x01
    path.write_bytes(bytes(data))


def _rewrite_meta(ckpt: Path, resign: bool = True, **changes: Any) -> None:
    meta = json.loads((ckpt / "meta.json").read_text())
    meta.update(changes)
    if resign:  # a consistent meta.json, so that only the change under test is wrong
        meta["meta_sha256"] = _meta_digest(meta)
    (ckpt / "meta.json").write_text(json.dumps(meta))


DAMAGE = {
    "truncated": (
        lambda c: (c / "model.safetensors").write_bytes(
            (c / "model.safetensors").read_bytes()[:-7]
        ),
        r"model\.safetensors: size is \d+ bytes but "
        r"meta\.json records \d+ \(truncated",
    ),
    "flipped byte in weights": (
        lambda c: _flip(c / "model.safetensors", -3),
        r"model\.safetensors: SHA-256 is .* altered or corrupted",
    ),
    "flipped byte in state": (
        lambda c: _flip(c / "state.safetensors", 100),
        r"state\.safetensors: SHA-256 is .* altered or corrupted",
    ),
    "deleted file": (
        lambda c: (c / "state.safetensors").unlink(),
        r"state\.safetensors: missing \(meta\.json lists \d+ bytes\)",
    ),
    "extra file": (
        lambda c: (c / "notes.txt").write_text("hi"),
        r"unexpected file\(s\) not listed in meta\.json: notes\.txt",
    ),
    "bad JSON": (
        lambda c: (c / "meta.json").write_text('{"format": "elman.checkpoint",'),
        r"meta\.json: malformed JSON",
    ),
    "wrong version": (
        lambda c: _rewrite_meta(c, format_version=2),
        r"meta\.json: unsupported checkpoint format version 2; elman .* reads "
        r"version 1",
    ),
    "edited file table": (
        lambda c: _rewrite_meta(c, resign=False, files={}),
        r"meta\.json: contents do not match the recorded meta_sha256",
    ),
    "edited value": (
        lambda c: (c / "meta.json").write_text(
            (c / "meta.json").read_text().replace('"epoch": 4', '"epoch": 5')
        ),
        r"meta\.json: contents do not match the recorded meta_sha256",
    ),
    "not a checkpoint": (
        lambda c: _rewrite_meta(c, format="other"),
        r"meta\.json: not an elman checkpoint \(format 'other'\)",
    ),
    "deleted meta": (lambda c: (c / "meta.json").unlink(), r"meta\.json: missing"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_checkpoint_is_refused(ckpt: Path, damage: str) -> None:
    net = Net()
    save_checkpoint(ckpt, model=net, optimizer=FakeOptimizer(nested_state()), extra={"epoch": 4})
    mutate, message = DAMAGE[damage]
    mutate(ckpt)
    target, opt = Net(), FakeOptimizer("untouched")
    before = weights_of(target)
    state = elman.get_rng_state()
    elman.randn(3)  # the generator moves on; a refused load must not restore it
    moved = elman.get_rng_state()
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(ckpt, model=target, optimizer=opt)
    assert isinstance(info.value, ValueError)
    for k, v in weights_of(target).items():  # nothing was loaded
        assert_bit_equal(v, before[k], k)
    assert opt.state == "untouched"
    assert_bit_equal(elman.get_rng_state(), moved)
    assert not np.array_equal(moved, state)


def test_missing_and_mismatched_checkpoints(ckpt: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_checkpoint(ckpt)
    save_weights(tmp_path / "w.safetensors", {"x": np.ones(2)})
    with pytest.raises(CheckpointError, match="not a checkpoint directory"):
        load_checkpoint(tmp_path / "w.safetensors")
    save_checkpoint(ckpt, extra={"epoch": 1})
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        load_checkpoint(ckpt, optimizer=FakeOptimizer(None))
    with pytest.raises(CheckpointError, match="holds no model state"):
        load_checkpoint(ckpt, model=Net())


def test_damaged_weights_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_weights(path, {"x": np.arange(6, dtype=np.float32)})
    _flip(path, -2)
    with pytest.raises(CheckpointError, match=r"w\.safetensors: tensor data do not match the SHA"):
        load_weights(path)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(CheckpointError, match=r"w\.safetensors: not a valid safetensors file"):
        load_weights(path)
    path.write_bytes(b"\x05\x00")
    with pytest.raises(CheckpointError, match=r"not a safetensors file \(only 2 bytes\)"):
        load_weights(path)


def test_unstorable_values_are_rejected_before_writing(ckpt: Path) -> None:
    save_checkpoint(ckpt, extra={"epoch": 1})
    cases = [
        (
            {"optimizer": FakeOptimizer({"fn": len})},
            r"optimizer\['fn'\]: cannot store an object of type builtin_function_or_method",
        ),
        (
            {"extra": {"z": np.ones(2, dtype=np.complex128)}},
            r"extra\['z'\]: arrays of dtype complex128 cannot be stored",
        ),
        ({"extra": {"s": np.array(["a"])}}, r"extra\['s'\]: arrays of dtype <U1"),
        ({"extra": [1, 2]}, "extra must be a dict"),
    ]
    for kwargs, message in cases:
        with pytest.raises(TypeError, match=message):
            save_checkpoint(ckpt, **kwargs)
    assert load_checkpoint(ckpt)["extra"] == {"epoch": 1}
    assert os.listdir(ckpt.parent) == ["ckpt"]


def test_save_never_replaces_foreign_files(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not part of a checkpoint"):
        save_checkpoint(tmp_path / "data", extra={})
    (tmp_path / "file").write_text("precious")
    with pytest.raises(FileExistsError, match="not a checkpoint directory"):
        save_checkpoint(tmp_path / "file", extra={})
    assert (tmp_path / "data" / "keep.txt").read_text() == "precious"
    assert (tmp_path / "file").read_text() == "precious"
    (tmp_path / "empty").mkdir()
    save_checkpoint(tmp_path / "empty", extra={"ok": True})  # an empty directory is fine
    assert load_checkpoint(tmp_path / "empty")["extra"] == {"ok": True}
