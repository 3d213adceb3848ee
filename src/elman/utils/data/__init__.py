"""Datasets and batching with torch's semantics: ``Dataset``, ``TensorDataset``,
``DataLoader``, ``random_split``, the samplers and the default collation.

Shuffling draws from elman's generator exactly as torch's ``RandomSampler`` draws from
torch's, so the same seed gives the same batches in the same order.
"""

from .collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler

__all__ = [
    "Dataset",
    "TensorDataset",
    "Subset",
    "ConcatDataset",
    "random_split",
    "DataLoader",
    "get_worker_info",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "BatchSampler",
    "default_collate",
    "default_convert",
]
