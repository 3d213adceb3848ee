"""How many threads elman's kernels may use: torch's ``set_num_threads``/``get_num_threads``.

The default follows ``OMP_NUM_THREADS`` (as torch's does), capped by the CPUs this process
may run on (its affinity mask: ``taskset``, cpusets); without the variable, those CPUs.
The kernels use at most two threads of their own (the calling thread and one helper, see
:mod:`.handover`): :func:`kernel_threads` is ``min(get_num_threads(), 2, CPUs)``, and with one
no two-thread variant is chosen. During elman's kernel calls NumPy's OpenBLAS runs on the
calling thread only (:func:`._blas.single_threaded_blas`), whatever this setting: elman
parallelises its products on its own threads, so the two never compete for the cores.

The mask is read when elman first needs the count and at every :func:`set_num_threads`.
"""

from __future__ import annotations

import operator
import os

__all__ = ["set_num_threads", "get_num_threads", "kernel_threads", "available_cpus"]


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - no affinity mask (macOS, Windows)
        return os.cpu_count() or 1


def _from_environment() -> int:
    """OMP_NUM_THREADS's first entry when it is a positive integer, capped by the CPUs."""
    cpus = available_cpus()
    first = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if first.isdigit() and int(first) > 0:
        return min(int(first), cpus)
    return cpus


_num_threads: int | None = None  # None: not derived yet
_kernel_threads: int | None = None


def get_num_threads() -> int:
    """The number of threads elman may use for one call (see :func:`set_num_threads`).

    Example::

        >>> import elman
        >>> elman.get_num_threads() >= 1
        True
    """
    global _num_threads
    if _num_threads is None:
        _num_threads = _from_environment()
    return _num_threads


def set_num_threads(num_threads: int) -> None:
    """Set the number of threads elman may use for one call (torch's name and errors).

    Today's kernels use at most two (the calling thread and one helper), and never more
    than the CPUs in the process's affinity mask; ``1`` keeps every call on the calling
    thread (no two-thread variant is chosen). NumPy's own BLAS thread count outside elman's
    calls is left alone (``threadpoolctl`` or ``OPENBLAS_NUM_THREADS`` set that).

    Args:
        num_threads: a positive integer.

    Raises:
        RuntimeError: ``num_threads`` is not an int, or is not positive (as torch).

    Example::

        >>> import elman
        >>> before = elman.get_num_threads()
        >>> elman.set_num_threads(1)
        >>> elman.get_num_threads()
        1
        >>> elman.set_num_threads(before)
    """
    global _num_threads, _kernel_threads
    if isinstance(num_threads, bool) or not hasattr(type(num_threads), "__index__"):
        name = type(num_threads).__name__
        raise RuntimeError(f"set_num_threads expects an int, but got {name}")
    n = operator.index(num_threads)
    if n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _num_threads = n
    _kernel_threads = min(n, 2, available_cpus())


def kernel_threads() -> int:
    """Threads the kernels may run at once: 1 or 2."""
    global _kernel_threads
    if _kernel_threads is None:
        _kernel_threads = min(get_num_threads(), 2, available_cpus())
    return _kernel_threads
