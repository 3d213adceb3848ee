"""Batch inference and training sweeps on Dask: past one process, past one machine.

Needs the ``dask`` extra (``pip install "elman[dask]"``: ``dask`` and ``distributed``), on the
client and on every worker, with elman itself installed on every worker (library functions
travel to workers by reference). Dask does the scheduling, the data transfer and the
retries; elman adds the chunk tasks, atomic files and the sweep's bookkeeping:

* :func:`predict`: a model over many sequences (dense, or ragged with per-sequence lengths),
  from arrays, dask arrays or ``.npy`` files read by memory map on the workers; lazy dask
  arrays out, equal bit for bit to one ``model(x)`` call.
* :func:`write_parts`: store such outputs chunk by chunk, each part written once, atomically.
* :func:`sweep`: a grid of training configurations, one run folder each, resumable, with a
  results table; a failing configuration is recorded and the others go on.

``import elman`` never imports Dask; this package does, and says which ``pip install`` is
missing when it is not there.
"""

from __future__ import annotations

INSTALL_HINT = 'pip install "elman[dask]"'

try:
    import dask  # noqa: F401
    import distributed  # noqa: F401
except ImportError as exc:  # the extra is not installed: say exactly what to install
    raise ImportError(
        f"elman.distributed needs Dask (dask and distributed): {INSTALL_HINT}"
    ) from exc

from ._client import connect  # noqa: E402
from ._sources import Ragged  # noqa: E402  (after the check above)
from .predict import predict, write_parts  # noqa: E402
from .sweep import sweep  # noqa: E402

__all__ = ["INSTALL_HINT", "Ragged", "connect", "predict", "write_parts", "sweep"]
