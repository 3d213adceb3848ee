"""Import and compile never fail for lack of a writable folder (issue 13, part 3).

Each case runs a fresh interpreter on a copy of the package whose folder (and HOME) cannot
be written. Tests often run as root, whom permission bits do not stop: then the child runs
without the capabilities that override them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, dropped
from its bounding set by ``setpriv``), so the kernel refuses its writes as it would a normal
user's. The child reports whether it could write to the package folder, so a case that
could not be made read-only is skipped rather than passed.
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

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="POSIX permissions (chmod) make the folders read-only"
)

PACKAGE = Path(elman.__file__).parent

# The child: import elman with warnings recorded, compile one small kernel (a few seconds
# at most) and report what happened. RNN=1: a tiny RNN forward+backward against the NumPy
# reference as well (the compiled stack kernels).
CHILD = r"""
import json, os, sys, tempfile, warnings
if os.environ.get("CHILD_TEMPDIR"):
    tempfile.tempdir = os.environ["CHILD_TEMPDIR"]  # where gettempdir() looks, for the test
if os.environ.get("CHILD_NUMBA_FIRST"):
    import numba  # imported before elman: its settings are already read
pkg = os.path.dirname(os.path.abspath(sys.argv[1]))
try:
    open(os.path.join(pkg, "elman", "probe"), "w").close()
    writable = True
except OSError:
    writable = False
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import numpy as np
    import elman
    from elman._kernels import _jit, packing_compiled, packing_ref
    lengths = np.array([4, 2, 2, 1], dtype=np.int64)
    mine = packing_compiled.batch_sizes_of(lengths)
    same = np.array_equal(mine, packing_ref.batch_sizes_of(lengths))
    if os.environ.get("RNN"):
        from elman._kernels import stack_ref
        elman.manual_seed(0)
        rnn = elman.nn.RNN(3, 4, num_layers=2, dtype="float64")
        x = elman.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)), requires_grad=True)
        out, hn = rnn(x)
        (out.sum() + hn.sum()).backward()
        ws = [tuple(getattr(rnn, f"{n}_l{k}").detach().numpy() for n in
              ("weight_ih", "weight_hh", "bias_ih", "bias_hh")) for k in range(2)]
        rows = x.detach().numpy().reshape(10, 3)
        outs, ref_hn = stack_ref.stack_forward(rows, np.full(5, 2), np.zeros((2, 2, 4)), ws, 2,
                                               False, None)
        same = same and np.allclose(out.detach().numpy().reshape(10, 4), outs[-1], atol=1e-12)
        same = same and np.allclose(hn.detach().numpy(), ref_hn, atol=1e-12)
from numba.core import config
print(json.dumps({
    "writable": writable,
    "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
    "cache": _jit.JIT["cache"] and _jit.NOGIL["cache"],
    "cache_dir": config.CACHE_DIR,
    "same": bool(same),
}))
"""


def _unprivileged() -> list[str]:
    """A command prefix under which permission bits apply (empty when not root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a folder read-only")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


def _read_only(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)


def _writable_again(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)


@pytest.fixture
def install(tmp_path: Path):
    """A read-only copy of the package (no compiled cache) and a read-only HOME."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "elman", ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp_path / "home"
    home.mkdir()
    script = site / "child_readonly.py"  # beside the package: sys.path[0] is site
    script.write_text(CHILD)
    _read_only(site)
    _read_only(home)
    yield site, home, script
    _writable_again(site)
    _writable_again(home)


def _run(install, tmp_path: Path, **env: str) -> dict:
    site, home, script = install
    full = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "XDG_", "TMP"))}
    full |= {"PYTHONPATH": str(site), "HOME": str(home), "TMPDIR": str(tmp_path / "tmp")}
    full |= env
    done = subprocess.run(
        [*_unprivileged(), sys.executable, str(script), str(script)],
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(home),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if report["writable"]:
        pytest.skip("the package copy could not be made read-only here")
    return report


def _elman_warnings(report: dict) -> list[str]:
    return [w for w in report["warnings"] if "elman:" in w]


def test_read_only_package_and_home_cache_in_a_private_temporary_folder(install, tmp_path):
    """The setup of the issue: `import elman` raised "cannot cache function 'gemm': no
    locator available". Now: one warning, kernels cached in <tmp>/elman-numba-<uid>."""
    (tmp_path / "tmp").mkdir()
    report = _run(install, tmp_path, RNN="1")
    assert report["same"] and report["cache"]
    temp = tmp_path / "tmp" / f"elman-numba-{os.geteuid()}"
    assert report["cache_dir"] == str(temp)
    assert list(temp.rglob("*.nbi")), "nothing was cached"
    assert (temp.stat().st_mode & 0o777) == 0o700  # private: the cache holds pickled code
    (warning,) = _elman_warnings(report)
    assert warning.startswith("RuntimeWarning") and str(temp) in warning


def test_nothing_writable_compiles_without_a_cache(install, tmp_path):
    read_only_tmp = tmp_path / "tmp"
    read_only_tmp.mkdir(mode=0o555)
    report = _run(install, tmp_path, CHILD_TEMPDIR=str(read_only_tmp))
    assert report["same"] and report["cache"] is False
    (warning,) = _elman_warnings(report)
    assert "compiling them in every process" in warning


def test_someone_elses_temporary_folder_is_not_used(install, tmp_path):
    """A folder of that name that is not private (another user could have planted a cache
    in it) is never loaded from: no cache rather than someone else's code."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    planted = shared / f"elman-numba-{os.geteuid()}"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)
    report = _run(install, tmp_path)
    assert report["same"] and report["cache"] is False
    assert not list(planted.iterdir())


def test_unwritable_numba_cache_dir_falls_back_with_one_warning(install, tmp_path):
    site, home, _ = install
    writable_home = tmp_path / "xdg"
    (tmp_path / "tmp").mkdir()
    report = _run(
        install, tmp_path, NUMBA_CACHE_DIR=str(home / "numba"), XDG_CACHE_HOME=str(writable_home)
    )
    assert report["same"] and report["cache"]
    assert report["cache_dir"] == str(writable_home / "elman" / "numba")
    (warning,) = _elman_warnings(report)
    assert "NUMBA_CACHE_DIR" in warning and str(home / "numba") in warning


def test_numba_imported_first_is_steered_too(install, tmp_path):
    """With Numba imported before elman its environment is read already: elman sets
    numba.config.CACHE_DIR instead (only because nothing Numba would try is writable)."""
    (tmp_path / "tmp").mkdir()
    report = _run(install, tmp_path, CHILD_NUMBA_FIRST="1")
    assert report["same"] and report["cache"]
    assert report["cache_dir"] == str(tmp_path / "tmp" / f"elman-numba-{os.geteuid()}")
    assert len(_elman_warnings(report)) == 1


def test_writable_user_cache_is_used_silently(install, tmp_path):
    (tmp_path / "tmp").mkdir()
    xdg = tmp_path / "xdg"
    report = _run(install, tmp_path, XDG_CACHE_HOME=str(xdg))
    assert report["same"] and report["cache"]
    assert report["cache_dir"] == str(xdg / "elman" / "numba")
    assert _elman_warnings(report) == []
    assert list((xdg / "elman" / "numba").rglob("*.nbi"))
