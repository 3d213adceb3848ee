"""A Dask client for elman's jobs: a local cluster of worker processes, or an existing one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from distributed import Client, LocalCluster

__all__ = ["connect"]


@contextlib.contextmanager
def connect(*, workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """``with connect(workers=2) as client:`` a ``LocalCluster`` of ``workers`` processes of
    one thread each (elman's kernels follow the worker's thread allotment: Dask sets
    ``OMP_NUM_THREADS=1`` in them), closed at the end; or ``scheduler="tcp://host:8786"``:
    a client of a running cluster (``dask scheduler`` / ``dask worker``), left running."""
    if (workers is None) == (scheduler is None):
        raise ValueError("connect: give workers= or scheduler=, not both or neither")
    if scheduler is not None:
        with Client(scheduler, timeout="20s") as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
