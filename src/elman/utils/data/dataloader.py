"""``DataLoader``: batches of a dataset, in torch's order for the same seed.

Every ``iter(loader)`` first takes one 64-bit seed from the loader's generator (or the global
one), as torch's iterator does for its workers' base seed, then the sampler draws (for
``shuffle=True`` a ``RandomSampler``, which takes its own seed draw). The draws are the same
as torch's, so a script that seeds elman as it seeds torch sees the same batches and leaves
the global generator in the same state.

Batches are loaded in the calling process: ``num_workers > 0`` gives the same batches, in
order, without worker processes (torch's workers reseed their own generators, which only
matters to datasets that draw random numbers themselves). ``pin_memory`` has nothing to pin
on a CPU-only install and warns as torch does there.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

from ._seed import draw_seed
from .collate import default_collate, default_convert
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]


def get_worker_info() -> None:
    """None: batches are loaded in the main process (see the module docstring)."""
    return None


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``).
        batch_size (int or None): samples per batch; None yields samples one by one,
            converted by ``default_convert``. Default: 1.
        shuffle (bool): a new random order each pass (``RandomSampler``). Default: False.
        sampler, batch_sampler: custom index order; exclusive with ``shuffle`` /
            ``batch_size`` / ``drop_last`` as in torch.
        num_workers (int): accepted; loading happens in this process. Default: 0.
        collate_fn (callable): list of samples -> batch. Default: ``default_collate``.
        drop_last (bool): drop the last incomplete batch. Default: False.
        generator: the generator shuffling draws from. Default: the global one.

    Example:
        >>> import elman
        >>> _ = elman.manual_seed(0)
        >>> [b.tolist() for b in DataLoader(list(range(10)), batch_size=4, shuffle=True)]
        [[6, 7, 1, 4], [2, 0, 9, 8], [3, 5]]
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive "
                "with drop_last"
            )
        if pin_memory:
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, then device "
                "pinned memory won't be used.",
                stacklevel=2,
            )
        if sampler is None:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        auto = batch_sampler is not None
        self.collate_fn = collate_fn or (default_collate if auto else default_convert)

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __iter__(self) -> Iterator[Any]:
        draw_seed(self.generator)  # torch's base seed for workers: drawn even without them
        indices = iter(self._index_sampler)
        return self._batches(indices)

    def _batches(self, indices: Iterator[Any]) -> Iterator[Any]:
        dataset, collate = self.dataset, self.collate_fn
        if self.batch_sampler is None:
            for i in indices:
                yield collate(dataset[i])
            return
        for batch in indices:
            yield collate([dataset[i] for i in batch])

    def __len__(self) -> int:
        return len(self._index_sampler)
