"""Numba set-up for the compiled kernels: environment, compile options, shared scalar helpers.

Importing this module configures numba *before* numba is imported (numba reads its
environment once, at import); when numba is already imported, or the user set a variable,
nothing is changed:

* ``NUMBA_CACHE_DIR``: compiled kernels are cached (``cache=True``) in the first folder that
  can really be written to of: the user's ``NUMBA_CACHE_DIR``, the package's ``__pycache__``,
  ``$XDG_CACHE_HOME/elman/numba`` (default ``~/.cache/elman/numba``), a private per-user
  temporary folder; with none, ``cache=False`` (compiled in every process). Falling back
  from the user's folder, to the temporary one or to no cache gives one warning; import
  never fails for lack of a writable folder (:mod:`._cache_dir`). With ``ELMAN_SIMD_BYTES``
  set (another vector layout, see :mod:`.simd_vector`) they go to ``.../elman/numba-simd<bytes>``
  (or a ``simd<bytes>`` folder of the user's ``NUMBA_CACHE_DIR``): Numba's cache key does not
  see that setting. When Numba is already imported, only a setting that would make Numba
  fail is changed (``numba.config.CACHE_DIR``, or ``cache=False``).
* ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES``: on hosts with AVX-512, LLVM is told the host's
  own name and features minus ``prefer-256-bit``, so loops use 512-bit vectors (LLVM's
  default for these CPUs is 256-bit; the kernels run up to 2x faster). Derived from the
  host at runtime, never hard-coded. ``ELMAN_NUMBA_AVX512=0`` turns this off.

``ELMAN_DISABLE_JIT=1`` (read by :mod:`elman._kernels`) keeps the NumPy reference kernels.
Every ``ELMAN_*`` variable is read once, by :mod:`.config`.
"""

from __future__ import annotations

import os
import sys
import warnings

from . import config
from ._cache_dir import choose_cache_dir
from .config import SIMD_BYTES

__all__ = ["JIT", "NOGIL", "INLINE", "configure_numba"]

# error_model='numpy': no ZeroDivisionError branches, so loops with a division vectorise.
# fastmath: only FMA contraction, reassociation (reductions vectorise) and no signed zeros
# (shorter horizontal sums: the dot loops ~8% faster than without), never LLVM's nnan/ninf
# (``fastmath=True`` includes them): with those the compiler may assume no NaN or inf and
# fold ``max(nan, 0)`` to 0 or ``0 * x`` to 0, while NaN and inf are results that must come
# out where torch's do (the sign of a zero is not compared). The float32 tanh of .activations is
# the only approximation (~1e-7 absolute, exactly +-1 where torch's is).
FASTMATH = {"contract", "reassoc", "nsz"}
JIT = {"cache": True, "fastmath": FASTMATH, "error_model": "numpy", "boundscheck": False}
NOGIL = {**JIT, "nogil": True}  # kernels that run on two Python threads at once
INLINE = {**JIT, "inline": "always"}  # small per-row helpers: inlined where called (numba IR)


def _in_tree() -> str:
    """Numba's default cache folder for the kernels: ``__pycache__`` beside the sources."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")


def _avx512_env() -> dict[str, str]:
    if not config.NUMBA_AVX512:
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
    """Set numba's environment for elman's kernels (before numba is imported), and make sure
    the kernels' cache has a writable folder (or is off) either way."""
    imported = "numba" in sys.modules
    width = SIMD_BYTES  # another vector layout: its compiled kernels must not meet the others
    if imported:
        from numba.core import config as numba_config
        from numba.misc.appdirs import AppDirs

        configured = numba_config.CACHE_DIR
        numba_user = AppDirs(appname="numba", appauthor=False).user_cache_dir
    else:
        configured, numba_user = os.environ.get("NUMBA_CACHE_DIR", ""), ""
    choice = choose_cache_dir(configured, "" if imported else width, _in_tree(), numba_user)
    if choice.warning:
        warnings.warn(choice.warning, RuntimeWarning, stacklevel=2)
    if not choice.cache:
        JIT["cache"] = NOGIL["cache"] = INLINE["cache"] = False
    elif choice.path is not None and choice.path != configured:
        if imported:
            numba_config.CACHE_DIR = choice.path
        else:
            os.environ["NUMBA_CACHE_DIR"] = choice.path
    if not imported:
        os.environ.update(_avx512_env())


configure_numba()
if JIT["cache"]:
    from ._cache_stamp import install

    install()  # a change in any kernel source recompiles every cached kernel (see there)
