"""elman.distributed on a real Dask LocalCluster (2 worker processes, 1 thread each):
predict equals one in-process model(x) call bit for bit (dense, padded with lengths,
ragged from arrays and from files), parts land on disk once and whole, sweeps are
resumable and report failures, and a worker SIGKILLed mid-job changes nothing."""

from __future__ import annotations

import faulthandler
import json
import os
import pickle
import signal
import sys
import time

import numpy as np
import pytest

import elman
from elman import nn

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

import elman.distributed as ed  # noqa: E402  (after the skips: needs dask)
from elman.distributed._parts import write_once  # noqa: E402
from elman.distributed._sources import MIN_ROWS, cuts  # noqa: E402
from elman.nn.utils.rnn import (  # noqa: E402
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    unpack_sequence,
)

# the helpers below run on the workers, which cannot import this test file by name
cloudpickle.register_pickle_by_value(sys.modules[__name__])

HANG = 240  # seconds: a hung test dumps its stacks and ends the run instead of waiting


@pytest.fixture(autouse=True)
def _no_hang():
    faulthandler.dump_traceback_later(HANG, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def client():
    faulthandler.dump_traceback_later(HANG, exit=True)
    with ed.connect(workers=2) as c:
        c.wait_for_workers(2, timeout=120)
        yield c
    faulthandler.cancel_dump_traceback_later()


def _rnn(dtype="float32", **kw):
    elman.manual_seed(0)
    return nn.RNN(3, 16, num_layers=2, dtype=dtype, **kw)


def _x(n, steps=12, dtype="float32", seed=0):
    return np.random.default_rng(seed).standard_normal((n, steps, 3)).astype(dtype)


def _one_call(model, x):
    with elman.no_grad():
        out, h = model(x)
    return out.numpy(), h.numpy()


def _compute(client, *arrays):
    return [f.result(timeout=120) for f in client.compute(list(arrays))]


def test_cuts_keep_batched_kernels():
    assert cuts(20 * MIN_ROWS, 10) == [(i * MIN_ROWS, (i + 1) * MIN_ROWS) for i in range(20)]
    assert cuts(300, 129) == [(0, 129), (129, 300)]  # a last chunk of 42 joins the one before
    assert cuts(50, 1000) == [(0, 50)]
    with pytest.raises(ValueError, match="chunk_rows"):
        cuts(10, 0)


def test_small_chunks_would_differ_from_one_call():
    """Why MIN_ROWS: batches of one sequence and tiny batches round differently. If this
    ever passes with equality, the floor can go."""
    model = nn.RNN(1, 8, batch_first=True)
    x = _x(300, dtype="float32")[:, :, :1]
    whole, _ = _one_call(model, x)
    tiny = np.concatenate([_one_call(model, x[i : i + 10])[0] for i in range(0, 300, 10)])
    assert not np.array_equal(tiny, whole)
    np.testing.assert_allclose(tiny, whole, rtol=1e-5, atol=1e-6)


def test_predict_dense_20_chunks_bit_identical(client, tmp_path):
    model = _rnn(batch_first=True)
    x = _x(20 * MIN_ROWS)
    out_ref, h_ref = _one_call(model, x)
    np.save(tmp_path / "x.npy", x)
    for source in (x, np.load(tmp_path / "x.npy", mmap_mode="r"), str(tmp_path / "x.npy")):
        out, h = ed.predict(model, source, chunk_rows=MIN_ROWS)
        assert out.numblocks[0] == 20 and h.numblocks[1] == 20
        # the weights are one graph key that every chunk's task depends on (sent to a
        # worker once, not with each task), and a file's data is not in the graph at all
        graph = dict(out.__dask_graph__())
        assert sum(str(k).startswith("elman-model-") for k in graph) == 1
        if not isinstance(source, np.ndarray):
            assert len(pickle.dumps(graph)) < 200_000 < x.nbytes
        got_out, got_h = _compute(client, out, h)
        assert np.array_equal(got_out, out_ref) and np.array_equal(got_h, h_ref)


def test_predict_time_major_float64_dask_array_and_lengths(client):
    model = _rnn("float64", bidirectional=True)  # batch_first=False: (L, N, H_in)
    x = np.ascontiguousarray(_x(3 * MIN_ROWS + 5, dtype="float64").transpose(1, 0, 2))
    lengths = np.random.default_rng(2).integers(1, x.shape[0] + 1, size=x.shape[1])
    with elman.no_grad():
        packed = pack_padded_sequence(elman.tensor(x), lengths, enforce_sorted=False)
        out_p, h_p = model(packed)
        out_ref = pad_packed_sequence(out_p, total_length=x.shape[0])[0].numpy()
    xs = dask.array.from_array(x, chunks=(-1, 100, -1))
    out, h = ed.predict(model, xs, lengths=lengths, chunk_rows=MIN_ROWS)
    got_out, got_h = _compute(client, out, h)
    assert np.array_equal(got_out, out_ref) and np.array_equal(got_h, h_p.numpy())
    got_out, got_h = _compute(client, *ed.predict(model, xs, chunk_rows=MIN_ROWS))
    ref = _one_call(model, x)
    assert np.array_equal(got_out, ref[0]) and np.array_equal(got_h, ref[1])


def test_predict_ragged_values_and_files(client, tmp_path):
    model = _rnn(batch_first=True)
    n = 20 * MIN_ROWS
    lengths = np.random.default_rng(3).integers(1, 20, size=n)
    values = np.random.default_rng(4).standard_normal((int(lengths.sum()), 3)).astype("float32")
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    seqs = [values[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    with elman.no_grad():
        out_p, h_p = model(pack_sequence([elman.tensor(s) for s in seqs], enforce_sorted=False))
        ref = np.concatenate([u.numpy() for u in unpack_sequence(out_p)])
    np.save(tmp_path / "values.npy", values)
    ragged = ed.Ragged.from_lengths(np.load(tmp_path / "values.npy", mmap_mode="r"), lengths)
    out, h = ed.predict(model, ragged, chunk_rows=MIN_ROWS)
    assert out.numblocks[0] == 20
    got_out, got_h = _compute(client, out, h)
    assert np.array_equal(got_out, ref) and np.array_equal(got_h, h_p.numpy())
    # one .npy file per sequence (fewer of them: files are slow to make)
    m = 2 * MIN_ROWS + 7
    files = []
    for i in range(m):
        files.append(tmp_path / f"s{i:04d}.npy")
        np.save(files[-1], seqs[i])
    got_out, got_h = _compute(client, *ed.predict(model, ed.Ragged.from_files(files)))
    with elman.no_grad():
        o, hh = model(pack_sequence([elman.tensor(s) for s in seqs[:m]], enforce_sorted=False))
    assert np.array_equal(got_out, np.concatenate([u.numpy() for u in unpack_sequence(o)]))
    assert np.array_equal(got_h, hh.numpy())


def test_write_once_never_overwrites(tmp_path):
    path = tmp_path / "p.npy"
    assert write_once(path, np.arange(3))
    assert not write_once(path, np.zeros(3))
    assert np.array_equal(np.load(path), np.arange(3)) and os.listdir(tmp_path) == ["p.npy"]


# ---- faults: a worker SIGKILLed in the middle of a job ----------------------------------


def slow(block):
    time.sleep(0.3)  # long enough to be killed in the middle of the job
    return block


def _killer(client, ready, done, seen):
    """A thread that SIGKILLs one worker process once ``ready()`` holds (its nanny starts a
    new one), noting in ``seen`` how many results ``done()`` counted at that moment."""
    import threading

    def run():
        deadline = time.monotonic() + 60
        while not ready():
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        pids = client.run(os.getpid)
        seen.append(done())
        os.kill(next(iter(pids.values())), signal.SIGKILL)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_predict_survives_a_killed_worker(client, tmp_path):
    model = _rnn(batch_first=True)
    x = _x(20 * MIN_ROWS, seed=5)
    out_ref, _ = _one_call(model, x)
    out, _ = ed.predict(model, x, chunk_rows=MIN_ROWS, prepare=slow)
    folder = tmp_path / "parts"
    parts, seen = lambda: len(list(folder.glob("part-*"))), []
    killer = _killer(client, lambda: folder.exists() and parts() >= 2, parts, seen)
    ed.write_parts(out, folder, client=client)
    killer.join(timeout=60)
    assert seen and seen[0] < 20  # killed in the middle of the job
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    manifest = json.loads((folder / "parts.json").read_text())
    got = np.concatenate([np.load(folder / f"part-{i:06d}.npy") for i in range(20)])
    assert manifest["rows"] == [MIN_ROWS] * 20 and np.array_equal(got, out_ref)
    client.wait_for_workers(2, timeout=120)


def train_tiny(config, run_dir):
    """A real (tiny) training run: 10 SGD steps of an RNN; its validation loss."""
    rng = np.random.default_rng(config["seed"])
    x = rng.standard_normal((32, 8, 2)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None].astype("float32")
    elman.manual_seed(config["seed"])
    if config["lr"] < 0:
        raise ValueError(f"lr must be > 0, got {config['lr']}")
    rnn, head = nn.RNN(2, config["hidden"], batch_first=True), nn.Linear(config["hidden"], 1)
    opt = elman.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=config["lr"])
    time.sleep(config.get("sleep", 0.0))
    for _ in range(10):
        out, _ = rnn(elman.tensor(x))
        loss = nn.functional.mse_loss(head(out[:, -1]), elman.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    (run_dir / "weights.txt").write_text("trained")
    return {"val_loss": float(loss.item())}


GRID = {"hidden": [4, 8], "seed": [0, 1, 2], "lr": [0.01]}


def _clean(config, tmp_path):
    d = tmp_path / f"clean-{len(list(tmp_path.iterdir()))}"
    d.mkdir()
    return train_tiny(config, d)["val_loss"]


def test_sweep_grid_rerun_and_failure(client, tmp_path):
    out = tmp_path / "sweep"
    records = ed.sweep(train_tiny, GRID, client=client, out_dir=out, plot=False)
    assert len(records) == 6 and all(r["status"] == "ok" for r in records)
    for r in records:  # the same numbers as the configuration trained here
        assert r["val_loss"] == _clean(r["config"], tmp_path)
        assert (out / r["name"] / "weights.txt").read_text() == "trained"
    stamps = {r["name"]: (out / r["name"] / "result.json").stat().st_mtime_ns for r in records}
    again = ed.sweep(train_tiny, GRID, client=client, out_dir=out, plot=False)
    assert all(r["skipped"] for r in again)
    assert stamps == {
        r["name"]: (out / r["name"] / "result.json").stat().st_mtime_ns for r in again
    }
    mixed = ed.sweep(
        train_tiny, {**GRID, "lr": [0.01, -1.0]}, client=client, out_dir=out, plot=False
    )
    failed = [r for r in mixed if r["status"] == "failed"]
    assert len(mixed) == 12 and len(failed) == 6
    assert all("ValueError: lr must be > 0, got -1.0" in r["error"] for r in failed)
    assert all(not (out / r["name"]).exists() for r in failed)
    table = (out / "results.csv").read_text().splitlines()
    assert table[0] == "hidden,seed,lr,name,status,val_loss,seconds,error" and len(table) == 13
    assert len(json.loads((out / "results.json").read_text())) == 12
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_sweep_survives_a_killed_worker(client, tmp_path):
    grid = {**GRID, "sleep": [1.0]}
    out = tmp_path / "sweep"
    finished, seen = lambda: len(list(out.glob("*/result.json"))), []
    killer = _killer(client, lambda: out.exists() and any(out.glob(".*.tmp-*")), finished, seen)
    records = ed.sweep(train_tiny, grid, client=client, out_dir=out, plot=False)
    killer.join(timeout=60)
    assert seen and seen[0] < 6  # killed in the middle of the sweep
    assert len(records) == 6 and all(r["status"] == "ok" for r in records)
    for r in records:
        assert r["val_loss"] == _clean(r["config"], tmp_path)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(r["name"] for r in records)
    client.wait_for_workers(2, timeout=120)


def test_workers_start_with_the_malloc_setting_and_one_thread(client):
    """Dask's own pre-spawn settings stay (one OpenMP/BLAS thread, its trim threshold) and
    MALLOC_MMAP_THRESHOLD_ joins them (docs/scaling.md: page faults)."""
    keys = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")
    envs = client.run(lambda: {k: os.environ.get(k) for k in keys})
    assert (
        list(envs.values())
        == [
            {
                "MALLOC_MMAP_THRESHOLD_": "33554432",
                "MALLOC_TRIM_THRESHOLD_": "65536",
                "OMP_NUM_THREADS": "1",
            }
        ]
        * 2
    )
