"""The Dask side of the ``elman`` command: ``elman predict --scheduler`` and ``elman sweep``
against a scheduler and two workers started as separate OS processes with Dask's own
``dask scheduler`` / ``dask worker`` commands; and, without Dask, the exact ``pip install``
that is missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import elman
from elman.cli.main import main
from elman.cli.use import load_model

SRC = str(Path(elman.__file__).resolve().parents[1])
HINT = 'pip install "elman[dask]"'


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([SRC, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _python(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=_env()
    )


def _checkpoint(path: Path, hidden: int = 8) -> Path:
    """An ``elman train sine``-style checkpoint (model + its configuration), made directly."""
    from elman.cli.tasks import SequenceModel
    from elman.io import save_checkpoint

    config = {
        "task": "sine", "hidden_size": hidden, "num_layers": 1, "nonlinearity": "tanh",
        "init": "default", "dtype": "float32", "dropout": 0.0, "many_to_one": True,
        "input_size": 1, "output_size": 5, "seq_len": 20,
    }  # fmt: skip
    elman.manual_seed(0)
    save_checkpoint(path, model=SequenceModel(config), extra={"config": config}, rng=False)
    return path


def test_import_elman_does_not_import_dask():
    r = _python(
        "import sys, elman, elman.nn, elman.io, elman.optim, elman.cli.main\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


NO_DASK = "import sys\nsys.modules['dask'] = None  # as if the extra were not installed\n"


def test_without_dask_the_missing_install_is_named(tmp_path):
    r = _python(NO_DASK + "import elman.distributed")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == (
        f"ImportError: elman.distributed needs Dask (dask and distributed): {HINT}"
    )
    ckpt = _checkpoint(tmp_path / "best")
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((3, 20), dtype="float32"))
    commands = [
        ["predict", str(ckpt), "--input", str(x), "--output", "o", "--workers", "2"],
        ["predict", str(ckpt), "--input", str(x), "--output", "o", "--scheduler", "tcp://h:1"],
        ["sweep", "sine", "--grid", "lr=1e-3", "--workers", "2", "--out", str(tmp_path / "s")],
    ]  # fmt: skip
    for argv in commands:
        r = _python(NO_DASK + f"from elman.cli.main import main\nsys.exit(main({argv!r}))")
        assert r.returncode == 1, r.stderr
        assert r.stderr == (
            f"elman {argv[0]}: --workers/--scheduler need Dask, which is not installed: {HINT}\n"
        )
    assert not (tmp_path / "s").exists() and not (tmp_path / "o").exists()


def test_sweep_grid_flags_are_checked(tmp_path, capsys):
    out = str(tmp_path / "s")
    assert main(["sweep", "sine", "--grid", "lr=1e-3", "hiden-size=4", "--out", out]) == 1
    err = capsys.readouterr().err
    assert "hiden-size is not a flag of 'elman train'; did you mean hidden-size?" in err
    assert main(["sweep", "sine", "--grid", "lr", "--workers", "2", "--out", out]) == 1
    assert "expected FLAG=VALUE" in capsys.readouterr().err
    assert main(["sweep", "sine", "--grid", "lr=1e-3", "--out", out]) == 1
    assert "give --workers N" in capsys.readouterr().err


# ---- a cluster of separate processes: dask scheduler + 2 x dask worker ---------------------


def _start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as f:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            argv, stdout=f, stderr=subprocess.STDOUT, env=_env(), start_new_session=True
        )


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:  # each in its own session: the group holds the worker and its nanny
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)


@pytest.fixture
def scheduler(tmp_path):
    pytest.importorskip("distributed")
    dask_cmd = Path(sys.executable).parent / "dask"
    if not dask_cmd.exists():
        pytest.skip("the dask command is not installed next to this Python")
    file = tmp_path / "scheduler.json"
    common = ["--no-dashboard"]
    procs = [_start([str(dask_cmd), "scheduler", "--host", "127.0.0.1", "--port", "0",
                     "--scheduler-file", str(file), *common],
                    tmp_path / "scheduler.log")]  # fmt: skip
    try:
        for i in range(2):
            procs.append(
                _start(
                    [str(dask_cmd), "worker", "--scheduler-file", str(file), "--nthreads", "1",
                     "--nworkers", "1", "--host", "127.0.0.1", *common],
                    tmp_path / f"worker{i}.log",
                )
            )  # fmt: skip
        from distributed import Client

        deadline = time.monotonic() + 90
        while not file.exists():
            assert time.monotonic() < deadline, (tmp_path / "scheduler.log").read_text()
            time.sleep(0.1)
        address = json.loads(file.read_text())["address"]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)
            assert len(set(client.run(os.getpid).values())) == 2  # two worker processes
        yield address
    finally:
        _stop(procs)


def test_predict_and_sweep_on_dask_scheduler_and_workers(scheduler, tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / "best")
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    data.mkdir()
    for name, n in (("a", 6 * 129 + 5), ("b", 40)):
        np.save(data / f"{name}.npy", rng.standard_normal((n, 20)).astype("float32"))
        assert main(["predict", str(ckpt), "--input", str(data / f"{name}.npy"),
                     "--output", str(tmp_path / f"ref_{name}.npy")]) == 0  # fmt: skip
    argv = [sys.executable, "-m", "elman", "predict", str(ckpt), "--input", str(data / "*.npy"),
            "--output", str(tmp_path / "out"), "--scheduler", scheduler,
            "--chunk-rows", "129"]  # fmt: skip
    r = subprocess.run(argv, capture_output=True, text=True, timeout=180, env=_env())
    assert r.returncode == 0, r.stderr
    assert "wrote 779 predictions of shape (5,)" in r.stdout
    model = load_model(ckpt)
    for name in ("a", "b"):
        got = np.load(tmp_path / "out" / f"{name}.npy")
        assert np.array_equal(got, np.load(tmp_path / f"ref_{name}.npy"))  # plain predict
        with elman.no_grad():  # one call on the whole file
            whole = model(elman.tensor(np.load(data / f"{name}.npy")[:, :, None]))[0]
        assert np.array_equal(got, whole.numpy())
    assert sorted(os.listdir(tmp_path / "out")) == ["a.npy", "b.npy"]  # no parts left over
    r = subprocess.run(argv, capture_output=True, text=True, timeout=180, env=_env())
    assert r.returncode == 0 and r.stdout.count("is there already: skipped") == 2
    # a sweep of the real `elman train`, one configuration refused by its flag check
    out = tmp_path / "sweep"
    code = main(["sweep", "sine", "--grid", "hidden-size=4,6", "lr=0.01,-1", "epochs=1",
                 "series=40", "seq-len=8", "--scheduler", scheduler, "--out", str(out),
                 "--no-progress"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert "2 of 4 configurations failed; hidden-size=4_lr=-1_epochs=1" in captured.err
    assert "--lr: must be > 0, got -1" in captured.err
    results = json.loads((out / "results.json").read_text())
    ok = [r for r in results if r["status"] == "ok"]
    assert len(ok) == 2 and len((out / "results.csv").read_text().splitlines()) == 5
    for r in ok:
        metrics = json.loads((out / r["name"] / "metrics.json").read_text())
        assert r["val_loss"] == metrics["best"]["val_loss"]
        assert (out / r["name"] / "best" / "meta.json").exists()
