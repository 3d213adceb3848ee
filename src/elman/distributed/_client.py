"""A Dask client for elman's jobs: a local cluster of worker processes, or an existing one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import dask
from distributed import Client, LocalCluster

__all__ = ["connect", "WORKER_ENV"]

# Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in the workers they start (memory goes back
# to the OS sooner). Setting it also switches off glibc's adaptive mmap threshold, so every
# array over 128 KiB of every task (rows read, hidden states) was a fresh mapping, faulted
# in page by page: a predict loop made 399,000 page faults and spent 1.5 s in the kernel
# in a worker against 6,000-14,000 faults and 0.1 s in a plain process (0.5 GB sine input,
# 2026-12-07), and ran 1.5x slower. A fixed threshold of 32 MiB (the ceiling glibc's own
# adaptive one rises to) gave back the plain process's faults and time. It must be in the
# environment when the worker process starts (glibc reads it once): Dask's "pre-spawn"
# environment, not the ``env`` passed to the nanny.
WORKER_ENV = {"MALLOC_MMAP_THRESHOLD_": 32 * 2**20}


@contextlib.contextmanager
def connect(*, workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """``with connect(workers=2) as client:`` a ``LocalCluster`` of ``workers`` processes of
    one thread each (elman's kernels follow the worker's thread allotment: Dask sets
    ``OMP_NUM_THREADS=1`` in them) started with :data:`WORKER_ENV`, closed at the end; or
    ``scheduler="tcp://host:8786"``: a client of a running cluster (``dask scheduler`` /
    ``dask worker``; start its workers with ``MALLOC_MMAP_THRESHOLD_=33554432`` in their
    environment for the same speed), left running."""
    if (workers is None) == (scheduler is None):
        raise ValueError("connect: give workers= or scheduler=, not both or neither")
    if scheduler is not None:
        with Client(scheduler, timeout="20s") as client:
            yield client
        return
    # added to Dask's own pre-spawn settings (kept: OMP_NUM_THREADS=1 and the others)
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **WORKER_ENV}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    with cluster, Client(cluster) as client:
        yield client
