"""elman.io round trips, every value bit for bit (and every type, for nested optimizer state):
models, optimizer state, extra and metadata, RNG state, a resumed run equal to an
uninterrupted one, safetensors weights files; torch reads our weights files and we read
torch's (when torch is installed); importing elman does not import safetensors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from checkpoint_models import (
    FakeOptimizer,
    Net,
    assert_bit_equal,
    assert_same_tree,
    nested_state,
    weights_of,
)

import elman
from conftest import requires_torch
from elman.io import load_checkpoint, load_weights, save_checkpoint, save_weights


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
