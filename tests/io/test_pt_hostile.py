"""Hostile .pt files are refused with the documented error, and nothing in them runs.

Each case of tests/pt_hostile.py (49: globals that run code, opcodes that reach classes
without the allowlist, nested REDUCEs on allowlisted names, globals hidden in persistent
ids, a whole pickled module, oversized and negative sizes, strides outside storages, a zip
bomb, path traversal in entry names, ...) is loaded by path, mapped, from a file object and
described; every one raises UnsafeFileError (it names something elman refuses) or
CheckpointError (it is malformed), and the sentinel file its payload would create never
appears. A control shows the payloads are live: the standard unpickler runs them.
"""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import elman
from elman.io import CheckpointError, UnsafeFileError
from pt_hostile import CASES

ERRORS = {"unsafe": UnsafeFileError, "corrupt": CheckpointError}


def test_there_are_at_least_30_cases() -> None:
    assert len(CASES) >= 30
    assert sum(kind == "unsafe" for _, kind, _ in CASES.values()) >= 30


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file_is_refused_and_nothing_runs(name: str, tmp_path: Path) -> None:
    build, kind, pattern = CASES[name]
    sentinel = tmp_path / "SENTINEL"
    path = tmp_path / "hostile.pt"
    path.write_bytes(build(str(sentinel)))
    error = ERRORS[kind]
    for load in (
        lambda: elman.load(path),
        lambda: elman.load(path, mmap=True),
        lambda: elman.load(io.BytesIO(path.read_bytes())),
    ):
        with pytest.raises(error, match=pattern) as info:
            load()
        assert not sentinel.exists(), "the payload ran"
    text = str(info.value)
    assert "hostile.pt" in text or "<file object>" in text
    assert isinstance(info.value, pickle.UnpicklingError) == (kind == "unsafe")
    try:  # describing never executes either: a description or a clean error
        elman.io.describe(path)
    except (CheckpointError, UnsafeFileError):
        pass
    assert not sentinel.exists()


LIVE = [
    "os.system",
    "posix.system",
    "subprocess.call",
    "builtins.eval",
    "builtins.exec",
    "builtins.open",
    "STACK_GLOBAL os.system (protocol 4)",
    "pickle.loads nested",
    "global hidden in a persistent id",
]


@pytest.mark.parametrize("name", LIVE)
def test_the_payloads_are_live_for_an_unrestricted_unpickler(name: str, tmp_path: Path) -> None:
    """The control: pickle.load runs the same data.pkl and the sentinel appears."""
    sentinel = tmp_path / "SENTINEL"
    data = CASES[name][0](str(sentinel))
    pkl = zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
    # torch's own names resolve to a stand-in, so that the control runs without torch too
    code = (
        "import pickle, sys\n"
        "class U(pickle.Unpickler):\n"
        "    def find_class(self, module, name):\n"
        "        if module.split('.')[0] == 'torch':\n"
        "            return lambda *args, **kwargs: None\n"
        "        return super().find_class(module, name)\n"
        "u = U(sys.stdin.buffer)\n"
        "u.persistent_load = lambda pid: pid\n"
        "try:\n    u.load()\nexcept Exception:\n    pass\n"
    )
    subprocess.run([sys.executable, "-c", code], input=pkl, timeout=60, check=True)
    assert sentinel.exists()
