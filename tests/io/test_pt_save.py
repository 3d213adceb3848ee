"""elman.save writes what torch.load reads back: values, dtypes, shapes, sharing."""

from __future__ import annotations

import importlib.util
import io
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import elman
from conftest import HAVE_TORCH, TESTS, requires_torch
from elman.io import UnsafeFileError
from pt_tree import assert_same, describe

HERE = TESTS
_spec = importlib.util.spec_from_file_location("make_pt", HERE / "fixtures" / "make_pt_fixtures.py")


def _generator():
    module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(module)
    return module


def _mixed() -> dict:
    elman.manual_seed(0)
    w = elman.randn(6, 4)
    p = elman.nn.Parameter(elman.ones(3))
    return {
        "state": elman.nn.RNN(3, 4, 2, bidirectional=True).state_dict(),
        "tied_a": w,
        "tied_b": w,
        "rows": w[1:4],
        "transposed": w.t(),
        "columns": w[:, ::2],
        "reversed": elman.from_numpy(np.arange(5.0)[::-1]),  # negative stride: a copy
        "float16": elman.from_numpy(np.array([1.5, -0.0, np.inf], np.float16)),
        "float64": elman.tensor([1.0, np.nan], dtype=elman.float64),
        "int8": elman.from_numpy(np.array([-128, 127], np.int8)),
        "int16": elman.from_numpy(np.array([-1, 2], np.int16)),
        "int32": elman.from_numpy(np.array([2**31 - 1], np.int32)),
        "int64": elman.tensor([16777217, -(2**63)]),
        "uint8": elman.from_numpy(np.array([0, 255], np.uint8)),
        "uint16": elman.from_numpy(np.array([1, 65535], np.uint16)),
        "uint32": elman.from_numpy(np.array([2**32 - 1], np.uint32)),
        "uint64": elman.from_numpy(np.array([2**63 - 1], np.uint64)),
        "bool": elman.tensor([True, False]),
        "complex64": elman.from_numpy(np.array([1 + 2j], np.complex64)),
        "complex128": elman.from_numpy(np.array([1 - 2j], np.complex128)),
        "empty": elman.zeros(0, 3),
        "scalar": elman.tensor(2.5),
        "grad": elman.ones(2, requires_grad=True),
        "param": p,
        "param_again": p,
        "frozen": elman.nn.Parameter(elman.ones(2), requires_grad=False),
        "ndarray": np.arange(6, dtype=np.int32).reshape(2, 3),
        "np_scalar": np.float32(0.5),
        "size": elman.Size([2, 3]),
        "dtype": elman.float64,
        "np_dtype": np.dtype("int16"),
        "text": "ü",
        "bytes": b"\x00\xff",
        "empty_bytes": b"",
        "complex": 1 - 1j,
        "set": {1, 2},
        "frozenset": frozenset({3}),
        "nested": {0: [1, (2, None)], "x": OrderedDict(a=1)},
        "big": 2**100,
        "floats": [float("nan"), -0.0, float("inf")],
    }


@requires_torch
def test_torch_load_reads_elman_save(torch_or_skip, tmp_path: Path) -> None:
    torch = torch_or_skip
    obj = _mixed()
    obj.pop("frozenset")  # elman writes it; torch's default loader refuses frozenset
    elman.save(obj, tmp_path / "mixed.pt")
    t = torch.load(tmp_path / "mixed.pt")
    assert_same(describe(elman.load(tmp_path / "mixed.pt")), describe(t), "mixed")
    # the values are the saved ones, and sharing is torch's: one storage for w's views
    for key in ("tied_a", "rows", "transposed", "columns", "reversed", "int64", "uint64"):
        assert np.array_equal(t[key].numpy(), np.asarray(obj[key]._data)), key
    assert t["tied_a"] is t["tied_b"] and t["param"] is t["param_again"]
    ptr = t["tied_a"].untyped_storage().data_ptr()
    for key in ("rows", "transposed", "columns"):
        assert t[key].untyped_storage().data_ptr() == ptr, key
    assert t["transposed"].stride() == (1, 4) and t["rows"].storage_offset() == 4
    assert isinstance(t["param"], torch.nn.Parameter) and t["param"].requires_grad
    assert not t["frozen"].requires_grad and t["grad"].requires_grad
    assert t["size"] == torch.Size([2, 3]) and t["dtype"] is torch.float64
    assert t["np_dtype"] is torch.int16 and t["np_scalar"] == 0.5
    assert t["ndarray"].dtype == torch.int32 and t["bytes"] == b"\x00\xff"
    assert t["nested"] == {0: [1, (2, None)], "x": OrderedDict(a=1)}


@requires_torch
def test_every_module_state_dict_loads_in_torch(torch_or_skip, tmp_path: Path) -> None:
    torch = torch_or_skip
    gen = _generator()
    cases = [(elman.nn.RNN(2, 3, **o), torch.nn.RNN(2, 3, **o)) for o in gen.RNN_OPTIONS]
    cases += [
        (elman.nn.RNNCell(2, 3, nonlinearity="relu"), torch.nn.RNNCell(2, 3, nonlinearity="relu")),
        (elman.nn.Linear(3, 2, bias=False), torch.nn.Linear(3, 2, bias=False)),
        (elman.nn.Embedding(5, 3, padding_idx=1), torch.nn.Embedding(5, 3, padding_idx=1)),
    ]
    for e, t in cases:
        elman.save(e.state_dict(), tmp_path / "m.pt")
        sd = torch.load(tmp_path / "m.pt")
        assert repr(t.load_state_dict(sd)).startswith("<All keys")
        for k, v in t.state_dict().items():
            assert np.array_equal(v.numpy(), e.state_dict()[k].numpy()), k


@requires_torch
@pytest.mark.parametrize("name", _generator().ALL if HAVE_TORCH else ["torch-not-installed"])
def test_torch_to_elman_to_torch(name: str, torch_or_skip, tmp_path: Path) -> None:
    """A torch file through elman.load and elman.save reads back in torch as it was
    (bfloat16 as float32; devices as strings)."""
    torch = torch_or_skip
    gen = _generator()
    gen.save_case(name, tmp_path / "a.pt")
    original = torch.load(tmp_path / "a.pt", map_location="cpu")
    elman.save(elman.load(tmp_path / "a.pt"), tmp_path / "b.pt")
    again = torch.load(tmp_path / "b.pt")
    assert_same(describe(original), describe(again), name)
    assert_same(describe(again), describe(torch.load(tmp_path / "b.pt", mmap=True)), name)


def test_entries_are_aligned_for_mmap(tmp_path: Path) -> None:
    elman.save(_mixed(), tmp_path / "model.pt")
    with zipfile.ZipFile(tmp_path / "model.pt") as zf:
        names = zf.namelist()
        raw = (tmp_path / "model.pt").read_bytes()
        for info in zf.infolist():
            n, m = np.frombuffer(raw[info.header_offset + 26 : info.header_offset + 30], "<u2")
            assert (info.header_offset + 30 + n + m) % 64 == 0, info.filename
            assert info.compress_type == zipfile.ZIP_STORED
    assert names[0] == "model/data.pkl" and "model/byteorder" in names
    assert names[-2:] == ["model/version", "model/.data/serialization_id"]
    buf = io.BytesIO()
    elman.save([1], buf)
    assert zipfile.ZipFile(buf).namelist()[0] == "archive/data.pkl"


def test_round_trip_without_torch(tmp_path: Path) -> None:
    obj = _mixed()
    elman.save(obj, tmp_path / "x.pt")
    back = elman.load(tmp_path / "x.pt")
    assert back["tied_a"] is back["tied_b"] and back["param"] is back["param_again"]
    assert np.shares_memory(back["rows"]._data, back["tied_a"]._data)
    assert back["frozenset"] == frozenset({3}) and back["dtype"] is np.float64
    assert back["size"] == elman.Size([2, 3]) and isinstance(back["size"], elman.Size)
    for key in ("rows", "transposed", "reversed", "uint64", "complex128", "empty"):
        assert np.array_equal(back[key]._data, np.asarray(obj[key]._data)), key
    assert back["ndarray"].dtype == np.int32 and back["np_scalar"] == 0.5


def test_unsupported_objects_are_refused(tmp_path: Path) -> None:
    class Local(elman.nn.Module):
        pass

    for obj, text in [
        (lambda: 0, "function"),
        (object(), "object"),
        (np.array(["a"]), "dtype <U1"),
        (Local(), "inside a function"),
    ]:
        with pytest.raises(TypeError, match=text):
            elman.save({"x": obj}, tmp_path / "x.pt")
        assert not (tmp_path / "x.pt").exists()  # nothing half-written
    assert list(tmp_path.iterdir()) == []


class Net(elman.nn.Module):
    """A model saved whole (its class is found by name: test_pt_save.Net)."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = elman.nn.RNN(2, 3, num_layers=2)
        self.head = elman.nn.Linear(3, 1)

    def forward(self, x):
        return self.head(self.rnn(x)[0][-1])


def test_whole_elman_module_round_trip(tmp_path: Path) -> None:
    elman.manual_seed(3)
    net = Net()
    elman.save(net, tmp_path / "net.pt")
    with pytest.raises(UnsafeFileError, match="test_pt_save.Net"):
        elman.load(tmp_path / "net.pt")
    with elman.serialization.safe_globals([Net, elman.nn.modules.rnn.RNN, elman.nn.Linear]):
        back = elman.load(tmp_path / "net.pt")
    assert type(back) is Net and type(back.rnn) is elman.nn.RNN
    x = elman.randn(4, 2, 2)
    assert np.array_equal(back(x).detach().numpy(), net(x).detach().numpy())
    assert back.rnn._flat_buffer() is not None  # the flat weights were rebuilt
    assert elman.serialization.get_safe_globals() == []


@requires_torch
def test_torch_refuses_whole_elman_modules_by_name(torch_or_skip, tmp_path: Path) -> None:
    torch = torch_or_skip
    elman.save(elman.nn.Linear(2, 1), tmp_path / "lin.pt")
    with pytest.raises(Exception, match="elman.nn.linear.Linear"):
        torch.load(tmp_path / "lin.pt")
