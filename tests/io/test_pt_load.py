"""elman.load of files written by torch: bit-identical to torch.load, with and without torch.

The golden files in tests/fixtures/pt/ were written by torch 2.13
(tests/fixtures/make_pt_fixtures.py); they are loaded in a child process in which importing
torch fails. With torch installed the same cases are written live and compared with
torch.load in this process.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import elman
from conftest import HAVE_TORCH, TESTS, requires_torch
from elman.io import CheckpointError
from pt_tree import assert_same, decode, describe

HERE = TESTS
FIXTURES = HERE / "fixtures" / "pt"
_spec = importlib.util.spec_from_file_location("make_pt", HERE / "fixtures" / "make_pt_fixtures.py")


def _generator():
    module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(module)
    return module


def _expected() -> dict:
    return json.loads(gzip.decompress((FIXTURES / "expected.json.gz").read_bytes()))


GOLDEN = sorted(p.stem for p in FIXTURES.glob("*.pt"))
WHOLE = "[elman.nn.modules.container.Sequential, elman.nn.modules.rnn.RNN, elman.nn.Linear]"

CHILD = textwrap.dedent(
    """
    import gzip, json, sys
    sys.modules["torch"] = None  # any import of torch now raises ImportError
    try:
        import torch  # noqa: F401
        sys.exit("torch was importable")
    except ImportError:
        pass
    sys.path.insert(0, sys.argv[1])
    import elman
    from pt_tree import assert_same, decode, describe
    with open(sys.argv[3], "rb") as f:
        folder, expected = sys.argv[2], json.loads(gzip.decompress(f.read()))
    done = []
    for name in sys.argv[4:]:
        for mmap in (False, True):
            path = f"{folder}/{name}.pt"
            if name == "whole_module":  # an elman RNN keeps its weights in one buffer
                with elman.serialization.safe_globals(WHOLE):
                    obj = dict(elman.load(path, mmap=mmap).state_dict())
                assert_same(decode(expected[name]), describe(obj), name, sharing=False)
                continue
            obj = elman.load(path, mmap=mmap)
            assert_same(decode(expected[name]), describe(obj), f"{name} mmap={mmap}")
        done.append(name)
    rnn = elman.nn.RNN(2, 3, num_layers=2, bidirectional=True)
    print(rnn.load_state_dict(elman.load(f"{folder}/rnn_state.pt")))
    assert "torch" not in [m for m in sys.modules if sys.modules[m] is not None]
    print(json.dumps(done))
    """
).replace("WHOLE", WHOLE)


def test_golden_files_load_bit_identical_without_torch() -> None:
    """Every golden file (state dicts, optimizers, schedulers, checkpoints, every dtype,
    views, legacy format, CUDA-saved, big-endian, a whole pickled module) loads in a
    process where importing torch fails, equal to what torch.load gave, read and mapped."""
    assert len(GOLDEN) >= 14
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(HERE), str(FIXTURES), str(FIXTURES / "expected.json.gz")]
        + GOLDEN,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "<All keys matched successfully>"
    assert json.loads(lines[-1]) == GOLDEN


@pytest.mark.parametrize("name", [n for n in GOLDEN if n != "whole_module"])
def test_golden_file_in_process(name: str) -> None:
    assert_same(decode(_expected()[name]), describe(elman.load(FIXTURES / f"{name}.pt")), name)


@requires_torch
@pytest.mark.parametrize("name", _generator().ALL if HAVE_TORCH else ["torch-not-installed"])
def test_live_torch_files_load_like_torch_load(name: str, tmp_path: Path, torch_or_skip) -> None:
    torch = torch_or_skip
    gen = _generator()
    path = tmp_path / f"{name}.pt"
    gen.save_case(name, path)
    want = describe(torch.load(path, map_location="cpu"))
    assert_same(want, describe(elman.load(path)), name)
    assert_same(want, describe(elman.load(path, mmap=True)), f"{name} mmap")
    with open(path, "rb") as f:
        assert_same(want, describe(elman.load(f)), f"{name} file object")
    assert_same(want, describe(elman.load(io.BytesIO(path.read_bytes()))), f"{name} BytesIO")


@requires_torch
def test_loaded_state_dicts_run_like_torch(torch_or_skip, tmp_path: Path) -> None:
    """model.load_state_dict(elman.load(f)) gives torch's outputs: every RNN option, and
    a checkpoint dict's optimizer resumes (see test_pt_training for whole runs)."""
    torch = torch_or_skip
    gen = _generator()
    for opts in gen.RNN_OPTIONS:
        torch.manual_seed(1)
        t = torch.nn.RNN(2, 3, **opts).double().eval()
        torch.save(t.state_dict(), tmp_path / "m.pt")
        e = elman.nn.RNN(2, 3, **opts, dtype=elman.float64).eval()
        assert repr(e.load_state_dict(elman.load(tmp_path / "m.pt"))).startswith("<All keys")
        x = torch.randn(4, 5, 2, dtype=torch.float64)
        want = t(x)[0].detach().numpy()
        got = e(elman.from_numpy(x.numpy()))[0].detach().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_mmap_maps_the_storages(tmp_path: Path) -> None:
    import mmap as mmap_module

    elman.save({"w": elman.randn(64, 64)}, tmp_path / "w.pt")
    loaded = elman.load(tmp_path / "w.pt", mmap=True)["w"]
    root = loaded._data
    while getattr(root, "base", None) is not None:
        root = root.base
    assert isinstance(getattr(root, "obj", root), mmap_module.mmap)
    loaded._data[0, 0] = 5.0  # copy-on-write: the file is not changed
    assert elman.load(tmp_path / "w.pt")["w"]._data[0, 0] != 5.0
    with pytest.raises(ValueError, match="file path"):
        elman.load(io.BytesIO((tmp_path / "w.pt").read_bytes()), mmap=True)


def test_load_arguments_follow_torch() -> None:
    buf = io.BytesIO()
    elman.save([1, 2], buf)
    buf.seek(0)
    assert elman.load(buf, map_location="cpu", weights_only=True) == [1, 2]
    with pytest.raises(ValueError, match="weights_only=False"):
        elman.load(buf, weights_only=False)
    with pytest.raises(ValueError, match="pickle_module"):
        elman.load(buf, pickle_module=__import__("pickle"))
    with pytest.raises(FileNotFoundError):
        elman.load("/nonexistent/model.pt")


# ---- damaged files: a clear error naming the file and the fault ---------------------------


def _good(tmp_path: Path) -> bytes:
    buf = io.BytesIO()
    elman.save({"w": elman.arange(12.0).reshape(3, 4), "b": elman.ones(4)}, buf)
    return buf.getvalue()


def _write(tmp_path: Path, data: bytes, name: str = "bad.pt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("cut", [0, 1, 10, 100, 500, -200, -22, -1])
def test_truncated_file(tmp_path: Path, cut: int) -> None:
    data = _good(tmp_path)
    path = _write(tmp_path, data[:cut])
    with pytest.raises(CheckpointError, match="bad.pt"):
        elman.load(path)


def test_not_a_torch_file(tmp_path: Path) -> None:
    cases = {
        b"hello world, not a zip": "not a file written by torch.save",
        b"\x93NUMPY\x01\x00" + b" " * 100: "NumPy",
        b"PK\x05\x06" + b"\0" * 18: "not a file written by torch.save",
    }
    for data, text in cases.items():
        with pytest.raises(CheckpointError, match=text):
            elman.load(_write(tmp_path, data))


def test_zip_without_data_pkl(tmp_path: Path) -> None:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data/0", b"\0" * 16)
    with pytest.raises(CheckpointError, match="data.pkl"):
        elman.load(_write(tmp_path, buf.getvalue()))


def _patched(data: bytes, find: bytes, replace: bytes) -> bytes:
    assert find in data
    return data.replace(find, replace, 1)


def test_storage_shorter_than_its_tensor(tmp_path: Path) -> None:
    # the pickle claims 12 elements for storage 0; give the record only 11 of them
    from elman.io import _pt_save  # noqa: F401 - the writer the helpers below mirror

    data = _rezip(_good(tmp_path), "archive/data/0", lambda b: b[:-4])
    with pytest.raises(CheckpointError, match="storage '0' holds 44 bytes"):
        elman.load(_write(tmp_path, data))


def test_stride_outside_its_storage(tmp_path: Path) -> None:
    # w is (3, 4) with stride (4, 1): make the row stride 5, reaching element 13 of 12
    data = _rezip(
        _good(tmp_path),
        "archive/data.pkl",
        lambda b: _patched(b, b"K\x04K\x01\x86", b"K\x05K\x01\x86"),
    )
    with pytest.raises(CheckpointError, match="outside its storage"):
        elman.load(_write(tmp_path, data))


def test_crc_mismatch_is_corruption(tmp_path: Path) -> None:
    data = bytearray(_good(tmp_path))
    idx = data.index(np.float32(5.0).tobytes())  # a byte of w's storage
    data[idx] ^= 0x01
    with pytest.raises(CheckpointError, match="CRC-32"):
        elman.load(_write(tmp_path, bytes(data)))


def test_compressed_entries_are_refused(tmp_path: Path) -> None:
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(_good(tmp_path)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    with pytest.raises(CheckpointError, match="compressed"):
        elman.load(_write(tmp_path, buf.getvalue()))


def test_torchscript_archive(tmp_path: Path) -> None:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("model/constants.pkl", b"\x80\x02).")
        zf.writestr("model/code/__torch__.py", b"")
    with pytest.raises(CheckpointError, match="TorchScript"):
        elman.load(_write(tmp_path, buf.getvalue()))


def test_big_endian_file_loads_swapped() -> None:
    """torch swaps a big-endian file's elements on load; so does elman (a copy). The golden
    big_endian.pt is dtypes.pt as a big-endian machine writes it (typed storages)."""
    want = elman.load(FIXTURES / "dtypes.pt")
    got = elman.load(FIXTURES / "big_endian.pt")
    assert len(got) == len(want) - 3  # without uint16/32/64, which torch does not swap
    for k, v in got.items():
        assert v._data.tobytes() == want[k]._data.tobytes(), k


def test_big_endian_untyped_storages_are_swapped_by_dtype(tmp_path: Path) -> None:
    """uint16/32/64 tensors sit on untyped (byte) storages: elman swaps them by the
    tensor's dtype (torch 2.13 leaves them unswapped; docs/differences.md)."""
    import zipfile

    values = {
        "u16": np.array([1, 258, 65535], np.uint16),
        "u32": np.array([1, 2**31 + 5], np.uint32),
        "u64": np.array([3, 2**63 + 7], np.uint64),
        "f32": np.array([1.5, -2.0], np.float32),
    }
    buf = io.BytesIO()
    elman.save({k: elman.from_numpy(v) for k, v in values.items()}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.endswith("byteorder"):
                body = b"big"
            elif "/data/" in info.filename:
                arr = list(values.values())[int(info.filename.rsplit("/", 1)[1])]
                body = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
            dst.writestr(info.filename, body)
    got = elman.load(_write(tmp_path, out.getvalue()))
    for k, v in values.items():
        assert got[k].dtype == v.dtype and np.array_equal(got[k].numpy(), v), k


def _rezip(data: bytes, name: str, edit) -> bytes:
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info.filename, edit(body) if info.filename == name else body)
    return buf.getvalue()


def test_describe_lists_without_executing(tmp_path: Path) -> None:
    desc = elman.io.describe(FIXTURES / "whole_module.pt")
    assert "torch.nn.modules.rnn.RNN" in desc["refused"]
    classes = {o["class"]: o["attributes"] for o in desc["objects"]}
    assert classes["torch.nn.modules.rnn.RNN"]["hidden_size"] == 3
    assert classes["torch.nn.modules.rnn.RNN"]["num_layers"] == 2
    names = [t["name"] for t in desc["tensors"]]
    assert names[:2] == ["0.weight_ih_l0", "0.weight_hh_l0"] and "1.weight" in names
    ckpt = elman.io.describe(FIXTURES / "checkpoint.pt")
    assert ckpt["refused"] == [] and ckpt["values"]["epoch"] == 3
    legacy = elman.io.describe(FIXTURES / "legacy_state.pt")
    assert legacy["format"] == "legacy" and len(legacy["tensors"]) == 16
    with pytest.raises(CheckpointError):
        elman.io.describe(_write(tmp_path, b"junk"))
