"""Numba set-up for the compiled kernels: environment, compile options, shared scalar helpers.

Importing this module configures numba *before* numba is imported (numba reads its
environment once, at import); when numba is already imported, or the user set a variable,
nothing is changed:

* ``NUMBA_CACHE_DIR``: compiled kernels are cached (``cache=True``) next to the sources; when
  the package directory is not writable they go to ``$XDG_CACHE_HOME/elman/numba``
  (default ``~/.cache/elman/numba``). With ``ELMAN_SIMD_BYTES`` set (another vector layout,
  see :mod:`._nb_vec`) they go to ``.../elman/numba-simd<bytes>`` (or a ``simd<bytes>``
  folder of the user's ``NUMBA_CACHE_DIR``): Numba's cache key does not see that setting.
* ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES``: on hosts with AVX-512, LLVM is told the host's
  own name and features minus ``prefer-256-bit``, so loops use 512-bit vectors (LLVM's
  default for these CPUs is 256-bit; the kernels run up to 2x faster). Derived from the
  host at runtime, never hard-coded. ``ELMAN_NUMBA_AVX512=0`` turns this off.

``ELMAN_DISABLE_JIT=1`` (read by :mod:`elman._kernels`) keeps the NumPy reference kernels.
"""

from __future__ import annotations

import os
import sys

__all__ = ["JIT", "NOGIL", "configure_numba"]

# error_model='numpy': no ZeroDivisionError branches, so loops with a division vectorise.
# fastmath: only FMA contraction, reassociation (reductions vectorise) and no signed zeros
# (shorter horizontal sums: the dot loops ~8% faster than without), never LLVM's nnan/ninf
# (``fastmath=True`` includes them): with those the compiler may assume no NaN or inf and
# fold ``max(nan, 0)`` to 0 or ``0 * x`` to 0, while NaN and inf are results that must come
# out where torch's do (the sign of a zero is not compared). The float32 tanh of ._nb_ops is
# the only approximation (~1e-7 absolute, exactly +-1 where torch's is).
FASTMATH = {"contract", "reassoc", "nsz"}
JIT = {"cache": True, "fastmath": FASTMATH, "error_model": "numpy", "boundscheck": False}
NOGIL = {**JIT, "nogil": True}  # kernels that run on two Python threads at once


def _cache_dir() -> str | None:
    here = os.path.dirname(os.path.abspath(__file__))
    pycache = os.path.join(here, "__pycache__")
    if os.access(pycache if os.path.isdir(pycache) else here, os.W_OK):
        return None
    return os.path.join(_user_cache(), "numba")


def _user_cache() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "elman")


def _avx512_env() -> dict[str, str]:
    if os.environ.get("ELMAN_NUMBA_AVX512", "1") == "0":
        return {}
    if "NUMBA_CPU_NAME" in os.environ or "NUMBA_CPU_FEATURES" in os.environ:
        return {}
    try:
        import llvmlite.binding as ll

        features = ll.get_host_cpu_features()
        name = ll.get_host_cpu_name()
    except Exception:  # pragma: no cover - an LLVM without host introspection
        return {}
    if not features.get("avx512f") or not name or name == "generic":
        return {}
    return {"NUMBA_CPU_NAME": name, "NUMBA_CPU_FEATURES": features.flatten() + ",-prefer-256-bit"}


def configure_numba() -> None:
    """Set numba's environment for elman's kernels, unless numba is already imported."""
    if "numba" in sys.modules:
        return
    width = os.environ.get("ELMAN_SIMD_BYTES", "")  # another vector layout: its compiled
    if "NUMBA_CACHE_DIR" not in os.environ:  # kernels must not meet the default ones
        cache = _cache_dir()
        if width:
            cache = os.path.join(_user_cache(), f"numba-simd{width}")
        if cache is not None:
            os.environ["NUMBA_CACHE_DIR"] = cache
    elif width:
        os.environ["NUMBA_CACHE_DIR"] = os.path.join(os.environ["NUMBA_CACHE_DIR"], f"simd{width}")
    os.environ.update(_avx512_env())


configure_numba()
