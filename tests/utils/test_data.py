"""elman.utils.data against torch.utils.data: batch order for the same seed, the global
stream left behind, drop_last, generators, random_split, default collation and errors.

The orders torch gave are also committed (tests/fixtures/compat_golden.json, made by
make_compat_fixtures.py), so these run without torch.
"""

from __future__ import annotations

import collections
import json
from typing import Any

import numpy as np
import pytest

import elman
from conftest import FIXTURES
from elman.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)

GOLDEN = json.loads((FIXTURES / "compat_golden.json").read_text())


@pytest.mark.parametrize("seed", ["0", "1", "2024"])
def test_shuffle_order_and_stream_equal_torchs_golden(seed: str) -> None:
    want = GOLDEN["dataloader_shuffle_11_bs3"][seed]
    elman.manual_seed(int(seed))
    loader = DataLoader(list(range(11)), batch_size=3, shuffle=True)
    epochs = [[b.tolist() for b in loader] for _ in range(2)]
    assert epochs == want["epochs"]
    np.testing.assert_array_equal(elman.rand(2).numpy(), np.float32(want["rand_after"]))


def test_loader_generator_and_drop_last_golden() -> None:
    g = elman.Generator().manual_seed(7)
    ds = TensorDataset(elman.arange(9))
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=g, drop_last=True)
    assert [b[0].tolist() for b in loader] == GOLDEN["dataloader_generator7_drop_last"]
    assert len(loader) == 2


def test_random_split_golden() -> None:
    elman.manual_seed(5)
    parts = random_split(range(10), [0.7, 0.3])
    assert [list(p.indices) for p in parts] == GOLDEN["random_split_fractions_seed5"]
    parts = random_split(range(7), [3, 4], generator=elman.Generator().manual_seed(42))
    assert [list(p.indices) for p in parts] == GOLDEN["random_split_counts_gen42"]
    assert [parts[0][i] for i in range(3)] == GOLDEN["random_split_counts_gen42"][0]


@pytest.mark.parametrize(
    "n,bs,drop_last", [(10, 3, False), (10, 3, True), (7, 7, False), (5, 8, True)]
)
def test_shuffle_matches_torch_live(torch_or_skip: Any, n: int, bs: int, drop_last: bool) -> None:
    torch = torch_or_skip
    from torch.utils.data import DataLoader as TorchLoader

    for seed in (0, 123):
        torch.manual_seed(seed)
        elman.manual_seed(seed)
        ours = DataLoader(list(range(n)), batch_size=bs, shuffle=True, drop_last=drop_last)
        theirs = TorchLoader(list(range(n)), batch_size=bs, shuffle=True, drop_last=drop_last)
        assert len(ours) == len(theirs)
        for _ in range(3):
            assert [b.tolist() for b in ours] == [b.tolist() for b in theirs]
        np.testing.assert_array_equal(elman.rand(3).numpy(), torch.rand(3).numpy())


def test_samplers_match_torch_live(torch_or_skip: Any) -> None:
    torch = torch_or_skip
    from torch.utils import data as tdata

    torch.manual_seed(3)
    elman.manual_seed(3)
    ours = list(RandomSampler(range(20), replacement=True, num_samples=40))
    theirs = list(tdata.RandomSampler(range(20), replacement=True, num_samples=40))
    assert ours == theirs
    ours = list(RandomSampler(range(6), num_samples=14))
    theirs = list(tdata.RandomSampler(range(6), num_samples=14))
    assert ours == theirs
    assert list(BatchSampler(SequentialSampler(range(7)), 3, False)) == list(
        tdata.BatchSampler(tdata.SequentialSampler(range(7)), 3, False)
    )


Point = collections.namedtuple("Point", "x y")


def _collate_cases(lib: Any) -> list[Any]:
    return [
        [lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])],
        [np.array([1, 2]), np.array([3, 4])],
        [np.float64(0.5), np.float64(1.5)],
        [0.5, 1.5],
        [1, 2],
        [True, False],
        ["ab", "cd"],
        [(np.zeros(2, np.float32), 1), (np.ones(2, np.float32), 0)],
        [{"x": np.arange(3), "y": 1, "n": "a"}, {"x": np.arange(3) + 1, "y": 0, "n": "b"}],
        [Point(1.0, 2), Point(3.0, 4)],
        [[1, 2], [3, 4]],
    ]


def _plain(value: Any) -> Any:
    if hasattr(value, "numpy"):
        arr = value.detach().numpy() if hasattr(value, "detach") else value.numpy()
        return ("tensor", str(arr.dtype), arr.tolist())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_plain(v) for v in value])
    return value


def test_default_collate_matches_torch(torch_or_skip: Any) -> None:
    from torch.utils.data import default_collate as torch_collate

    for ours, theirs in zip(_collate_cases(elman), _collate_cases(torch_or_skip), strict=True):
        assert _plain(default_collate(ours)) == _plain(torch_collate(theirs))


def test_default_collate_errors_match_torch(torch_or_skip: Any) -> None:
    from torch.utils.data import default_collate as torch_collate

    for bad in ([object(), object()], [[1, 2], [3]], [np.array(["a"]), np.array(["b"])]):
        with pytest.raises(Exception) as theirs:
            torch_collate(bad)
        with pytest.raises(type(theirs.value)):
            default_collate(bad)


def test_dataset_classes_and_loader_options() -> None:
    class Squares(Dataset):
        def __len__(self) -> int:
            return 5

        def __getitem__(self, i: int) -> tuple[int, float]:
            return i, float(i * i)

    loader = DataLoader(Squares(), batch_size=2, collate_fn=lambda b: [s[1] for s in b])
    assert list(loader) == [[0.0, 1.0], [4.0, 9.0], [16.0]]
    # no batching: samples converted one by one, tuples become lists (as torch does)
    assert list(DataLoader(Squares(), batch_size=None))[:2] == [[0, 0.0], [1, 1.0]]
    both = Squares() + Subset(Squares(), [4, 0])
    assert len(both) == 7 and both[5] == (4, 16.0) and both[-1] == (0, 0.0)
    loader = DataLoader(Squares(), batch_size=2, num_workers=2)  # loads in-process
    assert [b[0].tolist() for b in loader] == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch_size": 0},
        {"num_workers": -1},
        {"shuffle": True, "sampler": [0, 1]},
        {"batch_sampler": [[0]], "batch_size": 2},
        {"batch_size": None, "drop_last": True},
        {"prefetch_factor": 2},
    ],
)
def test_loader_errors_match_torch(torch_or_skip: Any, kwargs: dict[str, Any]) -> None:
    from torch.utils.data import DataLoader as TorchLoader

    with pytest.raises(Exception) as theirs:
        TorchLoader(list(range(4)), **kwargs)
    with pytest.raises(type(theirs.value), match=str(theirs.value)[:20].replace("(", ".")):
        DataLoader(list(range(4)), **kwargs)


def test_split_and_tensor_dataset_errors() -> None:
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(5), [2, 2])
    with pytest.raises(AssertionError, match="Size mismatch"):
        TensorDataset(elman.zeros(3), elman.zeros(4))
