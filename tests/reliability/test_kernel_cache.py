"""A cached kernel is recompiled when a kernel it calls changed in another file.

Numba checks only the caller's own file; its cached machine code also holds the callee's
code. The child processes here work on a copy of the package with two extra kernel files:
``_probe_leaf.py`` (``leaf``) and ``_probe_root.py`` (``root``, which calls ``leaf``). Only
the leaf's file changes between runs, as a ``git pull`` into an editable install does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import elman
from elman._kernels import JIT

pytestmark = pytest.mark.skipif(not JIT, reason="needs the compiled kernels (numba)")

PACKAGE = Path(elman.__file__).parent

LEAF = """
from numba import njit
from ._jit import JIT

@njit(**JIT)
def leaf(x):
    return x + {value}
"""

ROOT = """
from numba import njit
from ._jit import JIT
from ._probe_leaf import leaf

@njit(**JIT)
def root(x):
    return leaf(x) * 10
"""

CHILD = """
import json
from elman._kernels._probe_root import root
value = root(1)
print(json.dumps({"value": int(value), "hits": sum(root.stats.cache_hits.values())}))
"""


def _run(site: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = str(site)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_changed_callee_recompiles_its_callers(tmp_path: Path) -> None:
    site = tmp_path / "site"
    pkg = site / "elman"
    shutil.copytree(PACKAGE, pkg, ignore=shutil.ignore_patterns("*.nbi", "*.nbc"))
    kernels = pkg / "_kernels"
    (kernels / "_probe_leaf.py").write_text(LEAF.format(value=1))
    (kernels / "_probe_root.py").write_text(ROOT)
    assert _run(site) == {"value": 20, "hits": 0}  # compiled and cached
    assert _run(site) == {"value": 20, "hits": 1}  # from the cache
    root_stat = os.stat(kernels / "_probe_root.py")
    (kernels / "_probe_leaf.py").write_text(LEAF.format(value=2))  # the root's file unchanged
    assert os.stat(kernels / "_probe_root.py").st_mtime_ns == root_stat.st_mtime_ns
    assert _run(site) == {"value": 30, "hits": 0}  # recompiled: not the stale 20
    assert _run(site) == {"value": 30, "hits": 1}
