"""elman.io: safetensors weights and crash-safe, verified checkpoints.

Round trips compare every value bit for bit (and every type, for nested optimizer state);
damaged checkpoints must be refused with a message naming the file and the fault; a crash
injected at every step of an atomic save must leave the old or the new checkpoint loadable;
torch reads our weights files and we read torch's (when torch is installed).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import elman
from conftest import requires_torch, to_numpy
from elman.io import CheckpointError, load_checkpoint, load_weights, save_checkpoint, save_weights
from elman.io.checkpoint import _meta_digest


class Net(elman.nn.Module):
    def __init__(self, dtype: Any = np.float32) -> None:
        super().__init__()
        self.rnn = elman.nn.RNN(3, 5, num_layers=2, bidirectional=True, dtype=dtype)
        self.head = elman.nn.Linear(10, 2, dtype=dtype)


def weights_of(module: Any) -> dict[str, np.ndarray]:
    return {k: to_numpy(v) for k, v in module.state_dict().items()}


def assert_bit_equal(a: np.ndarray, b: np.ndarray, what: str = "") -> None:
    assert type(a) is type(b), f"{what}: {type(a)} != {type(b)}"
    assert a.dtype == b.dtype and a.shape == b.shape, (
        f"{what}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
    )
    assert a.tobytes() == b.tobytes(), f"{what}: values differ"


def assert_same_tree(got: Any, want: Any, where: str = "state") -> None:
    """Equal values and equal types all the way down (tuples stay tuples, int keys ints)."""
    assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, dict):
        assert list(got) == list(want), f"{where}: keys {list(got)} != {list(want)}"
        for k in want:
            assert type(next(g for g in got if g == k)) is type(k), f"{where}: key type of {k!r}"
            assert_same_tree(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), f"{where}: length"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same_tree(g, w, f"{where}[{i}]")
    elif isinstance(want, (np.ndarray, np.generic)):
        assert_bit_equal(np.asarray(got), np.asarray(want), where)
        assert type(got) is type(want), where
    elif isinstance(want, elman.Tensor):
        assert got.requires_grad == want.requires_grad, where
        assert_bit_equal(got.detach().numpy(), want.detach().numpy(), where)
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got), where
    else:
        assert got == want and repr(got) == repr(want), f"{where}: {got!r} != {want!r}"


class FakeOptimizer:
    """Holds any nested state; load_state_dict keeps what it is given."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def state_dict(self) -> Any:
        return self.state

    def load_state_dict(self, state: Any) -> None:
        self.state = state


def nested_state() -> dict[str, Any]:
    shared = np.arange(4, dtype=np.float64)
    return {
        "state": {
            0: {
                "step": 3,
                "exp_avg": np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
                "exp_avg_sq": np.array([1e-300, 5e-324, np.nan, -np.inf]),
                "shared": shared,
            },
            1: {
                "step": np.float32(2.5),
                "count": np.int64(-(2**62)),
                "flag": np.bool_(True),
                "momentum_buffer": None,
                "idx": np.array([-1, 2**40], dtype=np.int64),
                "t": elman.tensor([1.5, -2.0], requires_grad=True),
                "again": shared,
            },
        },
        "param_groups": [
            {
                "lr": 0.001,
                "betas": (0.9, 0.999),
                "eps": 1e-8,
                "amsgrad": False,
                "nesterov": True,
                "weight_decay": 0,
                "params": [0, 1],
                "name": "encoder",
                "maximize": None,
            },
        ],
        "__version__": 7,
        (1, "a"): ["tuple", "key"],
        "floats": [math.inf, -math.inf, math.nan, -0.0, 1 / 3, 2**70],
        "empty": {"d": {}, "l": [], "t": (), "a": np.zeros((0, 3), dtype=np.float32)},
        "scalar0d": np.array(4.25),
        "uint8": np.frombuffer(b"\x00\xff\x10", dtype=np.uint8).copy(),
    }


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return tmp_path / "ckpt"


# ---- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_model_round_trip_is_bit_exact(ckpt: Path, dtype: Any) -> None:
    net = Net(dtype)
    save_checkpoint(ckpt, model=net, extra={"epoch": 4})
    elman.manual_seed(1)
    fresh = Net(dtype)
    assert not np.array_equal(weights_of(fresh)["head.weight"], weights_of(net)["head.weight"])
    out = load_checkpoint(ckpt, model=fresh)
    want = weights_of(net)
    assert list(out["model"]) == list(want)  # state-dict order kept
    for k, v in weights_of(fresh).items():
        assert_bit_equal(v, want[k], k)
        assert_bit_equal(out["model"][k], want[k], k)
    assert sorted(os.listdir(ckpt)) == ["meta.json", "model.safetensors", "state.safetensors"]
    assert os.listdir(ckpt.parent) == ["ckpt"]  # no temporary or backup left behind


def test_nested_optimizer_state_round_trip(ckpt: Path) -> None:
    want = nested_state()
    save_checkpoint(
        ckpt,
        optimizer=FakeOptimizer(nested_state()),
        scheduler=FakeOptimizer({"last_epoch": 3, "_last_lr": [0.5], "base_lrs": (1.0,)}),
    )
    opt, sched = FakeOptimizer(None), FakeOptimizer(None)
    out = load_checkpoint(ckpt, optimizer=opt, scheduler=sched)
    assert_same_tree(opt.state, want, "optimizer")
    assert_same_tree(sched.state, {"last_epoch": 3, "_last_lr": [0.5], "base_lrs": (1.0,)})
    assert out["optimizer"] is opt.state
    # one array referenced twice comes back as one array; loaded arrays are writable
    assert opt.state["state"][0]["shared"] is opt.state["state"][1]["again"]
    opt.state["state"][0]["exp_avg"] += 1
    meta = json.loads((ckpt / "meta.json").read_text())
    assert meta["scheduler"]["_last_lr"] == [0.5]  # plain JSON where possible
    assert meta["scheduler"]["base_lrs"] == {"__tuple__": [1.0]}
    assert "NaN" not in (ckpt / "meta.json").read_text()  # standard JSON only


def test_extra_and_metadata(ckpt: Path) -> None:
    extra = {"config": {"hidden": 5, "layers": [2, 3]}, "epoch": 7, "losses": np.array([0.5, 0.25])}
    save_checkpoint(ckpt, extra=extra, rng=False)
    assert sorted(os.listdir(ckpt)) == ["meta.json", "state.safetensors"]
    out = load_checkpoint(ckpt)
    assert_same_tree(out["extra"], extra, "extra")
    assert out["model"] is None and out["optimizer"] is None and out["rng_state"] is None
    md = out["metadata"]
    assert (md["format_version"], md["elman_version"]) == (1, elman.__version__)
    assert md["path"] == str(ckpt) and md["recovered"] is False


def test_real_optimizer_resume_matches_uninterrupted_run(ckpt: Path) -> None:
    if not hasattr(elman, "optim"):
        pytest.skip("elman.optim not available")

    def make() -> tuple[Any, Any, Any]:
        elman.manual_seed(5)
        model = elman.nn.RNN(3, 4, num_layers=2, dropout=0.5)  # dropout draws random numbers
        opt = elman.optim.Adam(model.parameters(), lr=0.01)
        return model, opt, elman.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    def train(model: Any, opt: Any, sched: Any, steps: int) -> None:
        for _ in range(steps):
            out, _ = model(elman.randn(6, 2, 3))
            opt.zero_grad()
            (out * out).mean().backward()
            opt.step()
            sched.step()

    full = make()
    train(*full, 6)
    first = make()
    train(*first, 3)
    save_checkpoint(ckpt, model=first[0], optimizer=first[1], scheduler=first[2])
    elman.manual_seed(999)  # a new process would start from another state
    resumed = make()
    load_checkpoint(ckpt, model=resumed[0], optimizer=resumed[1], scheduler=resumed[2])
    train(*resumed, 3)
    for k, v in weights_of(full[0]).items():
        assert_bit_equal(weights_of(resumed[0])[k], v, k)
    assert resumed[2].get_last_lr() == full[2].get_last_lr()


def test_rng_state_is_restored(ckpt: Path) -> None:
    save_checkpoint(ckpt)
    after_save = elman.randn(40).numpy().copy(), elman.rand(3, dtype=elman.float64).numpy().copy()
    elman.manual_seed(123)
    out = load_checkpoint(ckpt)
    assert out["rng_state"].dtype == np.uint8 and out["rng_state"].shape == (5056,)
    assert_bit_equal(elman.randn(40).numpy(), after_save[0])
    assert_bit_equal(elman.rand(3, dtype=elman.float64).numpy(), after_save[1])
    elman.manual_seed(123)
    expected = elman.get_rng_state()
    load_checkpoint(ckpt, restore_rng=False)
    assert_bit_equal(elman.get_rng_state(), expected)


def test_weights_file_round_trip(tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    net = Net()
    path = tmp_path / "net.safetensors"
    save_weights(path, net)
    got = load_weights(path)
    assert list(os.listdir(tmp_path)) == ["net.safetensors"]
    for k, v in weights_of(net).items():
        assert_bit_equal(got[k], v, k)
        assert_bit_equal(load_file(str(path))[k], v, k)  # plain safetensors reads it too
    sd = {"a": np.array([1, 2], dtype=np.int64), "b": elman.tensor([0.5]), "c": np.float64(2)}
    save_weights(path, sd)  # replaces the file
    got = load_weights(path)
    assert sorted(got) == ["a", "b", "c"] and got["c"].shape == ()
    assert_bit_equal(got["b"], np.array([0.5], dtype=np.float32))
    fresh = Net()
    save_weights(path, net.state_dict())
    fresh.load_state_dict(load_weights(path))
    for k, v in weights_of(net).items():
        assert_bit_equal(weights_of(fresh)[k], v, k)


# ---- refusing damaged checkpoints --------------------------------------------------------


def _flip(path: Path, where: int) -> None:
    data = bytearray(path.read_bytes())
    data[where] ^= 0x01
    path.write_bytes(bytes(data))


def _rewrite_meta(ckpt: Path, resign: bool = True, **changes: Any) -> None:
    meta = json.loads((ckpt / "meta.json").read_text())
    meta.update(changes)
    if resign:  # a consistent meta.json, so that only the change under test is wrong
        meta["meta_sha256"] = _meta_digest(meta)
    (ckpt / "meta.json").write_text(json.dumps(meta))


DAMAGE = {
    "truncated": (
        lambda c: (c / "model.safetensors").write_bytes(
            (c / "model.safetensors").read_bytes()[:-7]
        ),
        r"model\.safetensors: size is \d+ bytes but "
        r"meta\.json records \d+ \(truncated",
    ),
    "flipped byte in weights": (
        lambda c: _flip(c / "model.safetensors", -3),
        r"model\.safetensors: SHA-256 is .* altered or corrupted",
    ),
    "flipped byte in state": (
        lambda c: _flip(c / "state.safetensors", 100),
        r"state\.safetensors: SHA-256 is .* altered or corrupted",
    ),
    "deleted file": (
        lambda c: (c / "state.safetensors").unlink(),
        r"state\.safetensors: missing \(meta\.json lists \d+ bytes\)",
    ),
    "extra file": (
        lambda c: (c / "notes.txt").write_text("hi"),
        r"unexpected file\(s\) not listed in meta\.json: notes\.txt",
    ),
    "bad JSON": (
        lambda c: (c / "meta.json").write_text('{"format": "elman.checkpoint",'),
        r"meta\.json: malformed JSON",
    ),
    "wrong version": (
        lambda c: _rewrite_meta(c, format_version=2),
        r"meta\.json: unsupported checkpoint format version 2; elman .* reads "
        r"version 1",
    ),
    "edited file table": (
        lambda c: _rewrite_meta(c, resign=False, files={}),
        r"meta\.json: contents do not match the recorded meta_sha256",
    ),
    "edited value": (
        lambda c: (c / "meta.json").write_text(
            (c / "meta.json").read_text().replace('"epoch": 4', '"epoch": 5')
        ),
        r"meta\.json: contents do not match the recorded meta_sha256",
    ),
    "not a checkpoint": (
        lambda c: _rewrite_meta(c, format="other"),
        r"meta\.json: not an elman checkpoint \(format 'other'\)",
    ),
    "deleted meta": (lambda c: (c / "meta.json").unlink(), r"meta\.json: missing"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_checkpoint_is_refused(ckpt: Path, damage: str) -> None:
    net = Net()
    save_checkpoint(ckpt, model=net, optimizer=FakeOptimizer(nested_state()), extra={"epoch": 4})
    mutate, message = DAMAGE[damage]
    mutate(ckpt)
    target, opt = Net(), FakeOptimizer("untouched")
    before = weights_of(target)
    state = elman.get_rng_state()
    elman.randn(3)  # the generator moves on; a refused load must not restore it
    moved = elman.get_rng_state()
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(ckpt, model=target, optimizer=opt)
    assert isinstance(info.value, ValueError)
    for k, v in weights_of(target).items():  # nothing was loaded
        assert_bit_equal(v, before[k], k)
    assert opt.state == "untouched"
    assert_bit_equal(elman.get_rng_state(), moved)
    assert not np.array_equal(moved, state)


def test_missing_and_mismatched_checkpoints(ckpt: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_checkpoint(ckpt)
    save_weights(tmp_path / "w.safetensors", {"x": np.ones(2)})
    with pytest.raises(CheckpointError, match="not a checkpoint directory"):
        load_checkpoint(tmp_path / "w.safetensors")
    save_checkpoint(ckpt, extra={"epoch": 1})
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        load_checkpoint(ckpt, optimizer=FakeOptimizer(None))
    with pytest.raises(CheckpointError, match="holds no model state"):
        load_checkpoint(ckpt, model=Net())


def test_damaged_weights_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_weights(path, {"x": np.arange(6, dtype=np.float32)})
    _flip(path, -2)
    with pytest.raises(CheckpointError, match=r"w\.safetensors: tensor data do not match the SHA"):
        load_weights(path)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(CheckpointError, match=r"w\.safetensors: not a valid safetensors file"):
        load_weights(path)
    path.write_bytes(b"\x05\x00")
    with pytest.raises(CheckpointError, match=r"not a safetensors file \(only 2 bytes\)"):
        load_weights(path)


def test_unstorable_values_are_rejected_before_writing(ckpt: Path) -> None:
    save_checkpoint(ckpt, extra={"epoch": 1})
    cases = [
        (
            {"optimizer": FakeOptimizer({"fn": len})},
            r"optimizer\['fn'\]: cannot store an object of type builtin_function_or_method",
        ),
        (
            {"extra": {"z": np.ones(2, dtype=np.complex128)}},
            r"extra\['z'\]: arrays of dtype complex128 cannot be stored",
        ),
        ({"extra": {"s": np.array(["a"])}}, r"extra\['s'\]: arrays of dtype <U1"),
        ({"extra": [1, 2]}, "extra must be a dict"),
    ]
    for kwargs, message in cases:
        with pytest.raises(TypeError, match=message):
            save_checkpoint(ckpt, **kwargs)
    assert load_checkpoint(ckpt)["extra"] == {"epoch": 1}
    assert os.listdir(ckpt.parent) == ["ckpt"]


def test_save_never_replaces_foreign_files(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not part of a checkpoint"):
        save_checkpoint(tmp_path / "data", extra={})
    (tmp_path / "file").write_text("precious")
    with pytest.raises(FileExistsError, match="not a checkpoint directory"):
        save_checkpoint(tmp_path / "file", extra={})
    assert (tmp_path / "data" / "keep.txt").read_text() == "precious"
    assert (tmp_path / "file").read_text() == "precious"
    (tmp_path / "empty").mkdir()
    save_checkpoint(tmp_path / "empty", extra={"ok": True})  # an empty directory is fine
    assert load_checkpoint(tmp_path / "empty")["extra"] == {"ok": True}


# ---- crashes during a save ----------------------------------------------------------------


class HardCrash(BaseException):
    """Stands in for a power cut: no except-Exception cleanup or rollback runs."""


def _fail_at(monkeypatch: pytest.MonkeyPatch, k: int, exc: type[BaseException]) -> list[str]:
    """Make the k-th filesystem step raise ``exc``; return the names of the steps taken."""
    steps: list[str] = []

    def wrap(name: str, fn: Any) -> Any:
        def step(*args: Any, **kwargs: Any) -> Any:
            steps.append(name)
            if len(steps) == k:
                raise exc(f"injected failure at step {k} ({name})")
            return fn(*args, **kwargs)

        return step

    for module, name in (
        (os, "mkdir"),
        (os, "fsync"),
        (os, "rename"),
        (os, "replace"),
        (shutil, "rmtree"),
    ):
        monkeypatch.setattr(module, name, wrap(name, getattr(module, name)))
    return steps


@pytest.mark.parametrize("exc", [OSError, HardCrash])
@pytest.mark.parametrize("has_old", [True, False])
def test_crash_at_every_step_leaves_a_loadable_checkpoint(
    tmp_path: Path, has_old: bool, exc: type[BaseException]
) -> None:
    old, new = Net(), Net()
    seen_steps: set[str] = set()
    k = 0
    while True:
        k += 1
        root = tmp_path / f"run{k}"
        root.mkdir()
        ckpt = root / "ckpt"
        if has_old:
            save_checkpoint(ckpt, model=old, extra={"epoch": 1})
        with pytest.MonkeyPatch.context() as mp:
            steps = _fail_at(mp, k, exc)
            try:
                save_checkpoint(ckpt, model=new, extra={"epoch": 2})
                crashed = False
            except exc:
                crashed = True
        seen_steps.update(steps)
        if not crashed:
            break
        try:
            out = load_checkpoint(ckpt, model=Net())
        except FileNotFoundError:
            assert not has_old, f"step {k} ({steps[-1]}): the old checkpoint was lost"
            out = None
        if out is not None:
            epoch = out["extra"]["epoch"]
            assert epoch in ((1, 2) if has_old else (2,)), f"step {k}"
            want = weights_of(old if epoch == 1 else new)
            for name, v in out["model"].items():
                assert_bit_equal(v, want[name], name)
            if exc is OSError:  # an ordinary error rolls back: `ckpt` itself is intact
                assert not out["metadata"]["recovered"], f"step {k} ({steps[-1]})"
        # the next save succeeds and cleans every leftover
        save_checkpoint(ckpt, model=new, extra={"epoch": 3})
        assert load_checkpoint(ckpt)["extra"] == {"epoch": 3}
        assert os.listdir(root) == ["ckpt"], f"step {k}: leftovers {os.listdir(root)}"
    assert k > 5 and {"mkdir", "fsync", "rename"} <= seen_steps
    assert "rmtree" in seen_steps or not has_old


def test_recovery_from_backup_is_reported(ckpt: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_checkpoint(ckpt, extra={"epoch": 1})
    with pytest.MonkeyPatch.context() as mp:
        # mkdir, fsync of state.safetensors, meta.json and the directory, rename, fsync
        steps = _fail_at(mp, 6, HardCrash)
        with pytest.raises(HardCrash):
            save_checkpoint(ckpt, extra={"epoch": 2})
    assert steps[-2:] == ["rename", "fsync"], steps  # crashed with `ckpt` renamed away
    assert not ckpt.exists()
    out = load_checkpoint(ckpt)
    assert out["extra"] == {"epoch": 1} and out["metadata"]["recovered"] is True
    assert ".bak-" in out["metadata"]["path"]


@pytest.mark.parametrize("exc", [OSError, HardCrash])
def test_weights_file_write_is_atomic(tmp_path: Path, exc: type[BaseException]) -> None:
    path = tmp_path / "w.safetensors"
    save_weights(path, {"x": np.zeros(3)})
    for k in (1, 2):  # fsync of the temporary file, then os.replace
        with pytest.MonkeyPatch.context() as mp:
            _fail_at(mp, k, exc)
            with pytest.raises(exc):
                save_weights(path, {"x": np.ones(3)})
        assert_bit_equal(load_weights(path)["x"], np.zeros(3))
    save_weights(path, {"x": np.ones(3)})
    assert_bit_equal(load_weights(path)["x"], np.ones(3))
    assert os.listdir(tmp_path) == ["w.safetensors"]


# ---- torch interop and import cost ------------------------------------------------------


@requires_torch
def test_torch_reads_our_weights(tmp_path: Path, torch_or_skip: Any) -> None:
    torch = torch_or_skip
    from safetensors.torch import load_file

    rnn = elman.nn.RNN(3, 5, num_layers=2, bidirectional=True)
    save_weights(tmp_path / "rnn.safetensors", rnn)
    save_checkpoint(tmp_path / "ckpt", model=rnn)
    for file in (tmp_path / "rnn.safetensors", tmp_path / "ckpt" / "model.safetensors"):
        t_rnn = torch.nn.RNN(3, 5, num_layers=2, bidirectional=True)
        t_rnn.load_state_dict(load_file(str(file)))
        for name, value in t_rnn.state_dict().items():
            assert_bit_equal(value.numpy(), weights_of(rnn)[name], name)


@requires_torch
def test_torch_written_weights_load_into_elman(tmp_path: Path, torch_or_skip: Any) -> None:
    torch = torch_or_skip
    from safetensors.torch import save_file

    t_rnn = torch.nn.RNN(3, 5, num_layers=2, nonlinearity="relu", dtype=torch.float64)
    save_file(t_rnn.state_dict(), str(tmp_path / "t.safetensors"))
    rnn = elman.nn.RNN(3, 5, num_layers=2, nonlinearity="relu", dtype=np.float64)
    rnn.load_state_dict(load_weights(tmp_path / "t.safetensors"))
    for name, value in t_rnn.state_dict().items():
        assert_bit_equal(weights_of(rnn)[name], value.numpy(), name)


def test_import_elman_does_not_import_safetensors() -> None:
    code = (
        "import sys, elman; "
        "assert 'safetensors' not in sys.modules and 'elman.io.checkpoint' not in sys.modules; "
        "assert elman.io.save_checkpoint.__module__ == 'elman.io.checkpoint'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
