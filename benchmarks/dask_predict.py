"""``elman predict --workers N`` over a large on-disk input: peak memory per process and
throughput, against one plain process reading the same chunks (issue 17).

    python benchmarks/dask_predict.py --dir /tmp/elman-dask-bench [--gb 4.2] [--json F]

Makes (once; never commit it) ``DIR/x.npy``, float32 rows of ``--seq-len`` past values of a
sine model, at least ``--gb`` GB, and a checkpoint ``DIR/best``; then runs, each in its own
process tree, watched every 0.2 s through /proc (VmHWM: each process's peak resident set):

* ``plain``: one Python process, no Dask: the same chunks read by memory map, one model
  call each, predictions written with ``np.lib.format.open_memmap``;
* ``elman predict CHECKPOINT --input x.npy --output out --workers N`` for N = 1 and 2
  (client, scheduler, nannies and workers: every process of the tree).

``--numba`` instead times the first call of a fresh worker with Numba's on-disk cache warm
against an empty cache folder (every kernel compiled in every worker).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parent / "src")
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}

PLAIN = """
import sys, time, numpy as np
from pathlib import Path
import elman
from elman.cli.use import load_model
from elman.distributed._sources import NpyFile, cuts, read_rows
ckpt, path, out, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
model = load_model(Path(ckpt))
src = NpyFile.open(path)
n = src.shape[0]
pred = None
with elman.no_grad():
    for a, b in cuts(n, rows):
        x = read_rows(src, 0, a, b)[:, :, None]
        p = model(elman.tensor(x))[0].numpy()
        if pred is None:
            pred = np.lib.format.open_memmap(out, mode="w+", dtype=p.dtype, shape=(n, p.shape[1]))
        pred[a:b] = p
pred.flush()
"""


def make_data(folder: Path, gb: float, seq_len: int, hidden: int) -> tuple[Path, Path]:
    sys.path.insert(0, SRC)
    import elman
    from elman.cli.tasks import SequenceModel
    from elman.io import save_checkpoint

    folder.mkdir(parents=True, exist_ok=True)
    ckpt = folder / "best"
    if not ckpt.exists():
        config = {
            "task": "sine", "hidden_size": hidden, "num_layers": 1, "nonlinearity": "tanh",
            "init": "default", "dtype": "float32", "dropout": 0.0, "many_to_one": True,
            "input_size": 1, "output_size": 5, "seq_len": seq_len,
        }  # fmt: skip
        elman.manual_seed(0)
        save_checkpoint(ckpt, model=SequenceModel(config), extra={"config": config}, rng=False)
    x = folder / "x.npy"
    n = int(np.ceil(gb * 1e9 / (4 * seq_len)))
    if not x.exists() or np.load(x, mmap_mode="r").shape != (n, seq_len):
        tmp = folder / "x.npy.part"
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, seq_len))
        rng = np.random.default_rng(0)
        t = np.arange(seq_len)
        step = 1 << 16
        for a in range(0, n, step):
            b = min(a + step, n)
            phase = rng.uniform(0, 2 * np.pi, size=(b - a, 1))
            out[a:b] = np.sin(2 * np.pi * t / 17.0 + phase) + rng.normal(0, 0.1, (b - a, seq_len))
        out.flush()
        del out
        os.replace(tmp, x)
    return ckpt, x


def watch(argv: list[str], cwd: Path) -> dict[str, object]:
    """Run ``argv``; the peak resident memory of every process of its tree, and wall time."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peaks: dict[int, tuple[str, int]] = {}
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in tree:
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
                name = " ".join(p.cmdline())[-60:]
            except (OSError, StopIteration, psutil.Error):
                continue
            peaks[p.pid] = (name, max(hwm, peaks.get(p.pid, ("", 0))[1]))
        time.sleep(0.2)
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:6]} failed: {err.decode()[-2000:]}")
    mib = {pid: (name, kb / 1024) for pid, (name, kb) in peaks.items()}
    return {
        "wall_s": wall,
        "processes": len(mib),
        "max_peak_rss_mib": max(v for _, v in mib.values()),
        "peaks_mib": sorted((round(v, 1), name) for name, v in mib.values()),
        "stdout": out.decode()[-300:],
    }


def numba_cache(workers: int) -> dict[str, object]:
    """Seconds of a fresh worker's first model call (import + kernels), warm vs empty cache."""
    code = """
import os, sys, time, json
from elman.distributed import connect
def first():
    t = time.perf_counter()
    import numpy as np, elman
    from elman import nn
    elman.manual_seed(0)
    m = nn.RNN(1, 16, batch_first=True)
    with elman.no_grad():
        m(np.zeros((200, 50, 1), dtype="float32"))
    return time.perf_counter() - t
with connect(workers=int(sys.argv[1])) as c:
    c.wait_for_workers(int(sys.argv[1]))
    print(json.dumps(sorted(c.run(first).values())))
"""
    result = {}
    for mode in ("warm", "empty"):
        env = dict(ENV)
        if mode == "empty":
            env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="elman-numba-empty-")
        r = subprocess.run(
            [sys.executable, "-c", code, str(workers)], env=env, capture_output=True, timeout=900
        )
        result[mode] = json.loads(r.stdout.decode().strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path("/tmp/elman-dask-bench"))
    ap.add_argument("--gb", type=float, default=4.2)
    ap.add_argument("--seq-len", type=int, default=200)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--numba", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.numba:
        report: dict[str, object] = {"numba_first_call_s": numba_cache(2)}
    else:
        ckpt, x = make_data(args.dir, args.gb, args.seq_len, args.hidden)
        n = np.load(x, mmap_mode="r").shape[0]
        sys.path.insert(0, SRC)
        from elman.cli.scale import default_chunk_rows
        from elman.cli.use import load_model

        rows = default_chunk_rows(load_model(ckpt).config, np.load(x, mmap_mode="r"))
        report = {"rows": n, "bytes": x.stat().st_size, "chunk_rows": rows}
        runs = [("plain", [sys.executable, "-c", PLAIN, str(ckpt), str(x), "plain.npy", str(rows)])]
        for w in args.workers:
            out = args.dir / f"out{w}"
            subprocess.run(["rm", "-rf", str(out)], check=True)
            runs.append((f"workers={w}", [sys.executable, "-m", "elman", "predict", str(ckpt),
                         "--input", str(x), "--output", str(out), "--workers", str(w),
                         "--no-progress"]))  # fmt: skip
        for name, argv in runs:
            r = watch(argv, args.dir)
            r["sequences_per_s"] = n / r["wall_s"]  # type: ignore[operator]
            report[name] = r
            print(
                name, {k: v for k, v in r.items() if k not in ("peaks_mib", "stdout")}, flush=True
            )
        plain = np.load(args.dir / "plain.npy", mmap_mode="r")
        for w in args.workers:
            same = np.array_equal(np.load(args.dir / f"out{w}" / "x.npy", mmap_mode="r"), plain)
            report[f"workers={w}"]["equal_to_plain"] = same  # type: ignore[index]
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
