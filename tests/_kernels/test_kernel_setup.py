"""How the kernels are set up in a process: NumPy's BLAS (its pointers, its threads held
around elman's products), numba's environment (AVX-512, the cache folder), and the
switches between compiled and reference kernels (ELMAN_DISABLE_JIT, NUMBA_DISABLE_JIT).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from kernel_cases import _run  # noqa: E402

from elman._kernels import _blas, _jit, config  # noqa: E402


def test_layers_around_the_rnn_keep_openblas_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear's products and clip_grad_norm_'s dot run on OpenBLAS's calling thread when
    OpenBLAS would thread them (its workers would then spin for ~0.1 s against the RNN's
    second thread); small ones do not pay for the switch."""
    import elman
    from elman import _kernels

    if not _blas.blas_threads_controllable():
        pytest.skip("no OpenBLAS thread control")
    seen: list[int] = []
    real = np.matmul

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(_blas._THREADS[0]())
        return real(*args, **kwargs)

    from elman.autograd import ops

    monkeypatch.setattr(ops.np, "matmul", spy)  # the module's np is numpy itself
    # (NumPy's products: a head this narrow otherwise runs in elman._kernels.skinny, no BLAS)
    monkeypatch.setattr(_kernels, "skinny_applies", lambda *a: False, raising=False)
    threads = _blas._THREADS[0]()
    fc = elman.nn.Linear(128, 1)
    big = elman.tensor(np.ones((4096, 128), np.float32), requires_grad=True)  # 5e5 MACs
    fc(big).sum().backward()
    small = elman.tensor(np.ones((8, 128), np.float32), requires_grad=True)
    n_big = len(seen)
    fc(small).sum().backward()
    monkeypatch.setattr(ops.np, "matmul", real)
    assert n_big >= 3 and set(seen[:n_big]) == {1}
    assert set(seen[n_big:]) == {threads}  # unchanged for small products
    assert _blas._THREADS[0]() == threads
    with _kernels.quiet_blas(_kernels.THREADED_DOT, _kernels.THREADED_DOT):
        assert _blas._THREADS[0]() == 1
    with _kernels.quiet_blas(_kernels.THREADED_DOT - 1, _kernels.THREADED_DOT):
        assert _blas._THREADS[0]() == threads


def test_blas_pointers_and_thread_control() -> None:
    s, d = _blas.gemm_pointers()
    if not s:
        pytest.skip("NumPy's BLAS exposes no CBLAS gemm")
    if not _blas.blas_threads_controllable():
        pytest.skip("no OpenBLAS thread control")
    before = _blas._THREADS[0]()
    with _blas.single_threaded_blas() as ok:
        assert ok and _blas._THREADS[0]() == 1
    assert _blas._THREADS[0]() == before


def test_avx512_environment_respects_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "NUMBA_AVX512", False)  # ELMAN_NUMBA_AVX512=0, read once
    assert _jit._avx512_env() == {}
    monkeypatch.setattr(config, "NUMBA_AVX512", True)
    monkeypatch.setenv("NUMBA_CPU_NAME", "generic")
    assert _jit._avx512_env() == {}
    monkeypatch.delenv("NUMBA_CPU_NAME")
    monkeypatch.delenv("NUMBA_CPU_FEATURES", raising=False)
    env = _jit._avx512_env()
    if env:  # an AVX-512 host: its own name and features, minus the 256-bit preference
        assert env["NUMBA_CPU_FEATURES"].endswith(",-prefer-256-bit")
        assert "+avx512f" in env["NUMBA_CPU_FEATURES"]


def test_cache_dir_falls_back_to_the_user_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The first folder a file can be created in (a path under a regular file never can,
    even for root); the read-only installs themselves: tests/reliability."""
    from elman._kernels._cache_dir import choose_cache_dir

    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    in_tree = str(tmp_path / "pkg" / "__pycache__")
    assert choose_cache_dir("", "", in_tree) == (None, True, "")
    user = str(tmp_path / "xdg" / "elman" / "numba")
    assert choose_cache_dir("", "", str(blocked / "__pycache__")) == (user, True, "")
    simd = choose_cache_dir("", "32", in_tree)  # another vector width: never beside the sources
    assert simd == (str(tmp_path / "xdg" / "elman" / "numba-simd32"), True, "")
    mine = str(tmp_path / "mine")
    assert choose_cache_dir(mine, "", in_tree) == (mine, True, "")
    assert choose_cache_dir(mine, "16", in_tree).path == os.path.join(mine, "simd16")
    moved = choose_cache_dir(str(blocked / "numba"), "", in_tree)
    assert moved.path is None and "NUMBA_CACHE_DIR" in moved.warning


def test_elman_disable_jit_exports_the_reference() -> None:
    code = "import elman._kernels as k; print(k.stack_forward.__module__)"
    assert _run(code, ELMAN_DISABLE_JIT="1") == "elman._kernels.stack_ref"
    assert _run(code, ELMAN_DISABLE_JIT="0") == "elman._kernels.stack_compiled"


def test_numba_disable_jit_runs_the_same_code_as_python() -> None:
    code = """
import numpy as np, elman
from elman._kernels import stack_ref, stack_compiled
elman.manual_seed(0)
rnn = elman.nn.RNN(3, 4, num_layers=2, bidirectional=True, dtype="float64")
x = elman.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)), requires_grad=True)
out, hn = rnn(x)
(out.sum() + hn.sum()).backward()
print(elman._kernels.stack_forward is stack_compiled.stack_forward, float(x.grad.sum()))
"""
    jit = _run(code).split()
    nojit = _run(code, NUMBA_DISABLE_JIT="1").split()
    assert jit[0] == nojit[0] == "True"
    assert abs(float(jit[1]) - float(nojit[1])) < 1e-12
