"""The test tree's layout keeps pytest's default import mode working.

tests/ mirrors src/elman/ (tests/nn/, tests/autograd/, tests/io/, ...) without
``__init__.py`` files: pytest puts each test file's directory on ``sys.path`` and imports the
file under its bare name, which is how tests import ``conftest`` and the helper modules
beside them. Two rules follow:

* no two Python files under tests/ share a name (the second would clash with the first);
* no directory beside a test file (or conftest.py) is named like a package the suite
  imports: that file's directory is on ``sys.path``, so a directory ``tests/onnx`` would be
  imported as a namespace package ``onnx`` wherever the real one is not installed, and
  ``pytest.importorskip("onnx")`` would then pass instead of skipping. Hence the ONNX tests
  live in tests/interop/ and the Dask ones in tests/cluster/ (tests/fixtures/onnx/ is fine:
  tests/fixtures holds no test file, so it is never on ``sys.path``).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from conftest import TESTS

# what the library, its extras and the suite import (pyproject's dependencies and extras,
# under their import names, and the torch oracle)
IMPORTED = {
    "numpy", "numba", "safetensors", "tqdm", "pytest", "hypothesis", "importlinter", "ruff",
    "onnx", "onnxruntime", "dask", "distributed", "cloudpickle", "matplotlib", "torch",
    "elman", "conftest",
}  # fmt: skip


def _python_files() -> list[Path]:
    return [p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts]


def test_no_two_python_files_share_a_name() -> None:
    where = defaultdict(list)
    for p in _python_files():
        if p.name != "conftest.py" or p.parent != TESTS:
            where[p.name].append(str(p.relative_to(TESTS)))
    clashes = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert not clashes, clashes


def test_no_init_files() -> None:
    assert not [p for p in _python_files() if p.name == "__init__.py"]


def test_no_directory_shadows_an_imported_package() -> None:
    dirs = [p for p in TESTS.rglob("*") if p.is_dir() and "__pycache__" not in p.parts]
    assert {p.name for p in dirs} >= {"nn", "autograd", "io", "cli", "optim", "interop"}
    on_path = {p.parent for p in _python_files() if p.name.startswith(("test_", "conftest"))}
    assert TESTS in on_path
    shadows = [p for p in dirs if p.parent in on_path and p.name in IMPORTED]
    assert not [str(p.relative_to(TESTS)) for p in shadows]
