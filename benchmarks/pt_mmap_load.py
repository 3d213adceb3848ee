"""Time and memory of elman.load on a 400 MB state dict, mapped and read (and torch.load).

    PYTHONPATH=src python benchmarks/pt_mmap_load.py [--mb 400] [--repeat 5] [--dir /tmp]

Writes a state dict of float32 tensors (200 of 2 MB; written by torch.save when torch is
installed, else by elman.save) and loads it in fresh processes, interleaved: each run
reports the wall time of the load call and the resident memory it added (VmRSS from
/proc/self/status, after the call minus before). Medians of --repeat runs are printed; the
figures in docs/interop.md come from this script.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, sys, time
def rss():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
lib, path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
if lib == 'elman':
    import elman
    load = lambda: elman.load(path, mmap=(mode == 'mmap'))
else:
    import torch
    load = lambda: torch.load(path, mmap=(mode == 'mmap'), weights_only=True)
before = rss()
t = time.perf_counter()
sd = load()
elapsed = time.perf_counter() - t
added = rss() - before
n = len(sd)
print(json.dumps({"seconds": elapsed, "rss_added": added, "tensors": n}))
"""


def _write(path: Path, mb: int) -> str:
    count, per = mb // 2, (2 << 20) // 4
    try:
        import torch

        sd = {f"layer{i}.weight": torch.randn(per) for i in range(count)}
        torch.save(sd, path)
        return "torch.save"
    except ImportError:
        import numpy as np

        import elman

        rng = np.random.default_rng(0)
        sd = {
            f"layer{i}.weight": elman.from_numpy(rng.standard_normal(per, np.float32))
            for i in range(count)
        }
        elman.save(sd, path)
        return "elman.save"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()
    path = Path(args.dir) / "elman_bench_state_dict.pt"
    writer = _write(path, args.mb)
    size = path.stat().st_size
    cases = [("elman", "mmap"), ("elman", "read")]
    try:
        import torch  # noqa: F401

        cases += [("torch", "mmap"), ("torch", "read")]
    except ImportError:
        pass
    results: dict[str, list[dict[str, float]]] = {f"{lib} {mode}": [] for lib, mode in cases}
    try:
        for _ in range(args.repeat):
            for lib, mode in cases:  # interleaved, each in a fresh process
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, lib, str(path), mode],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=600,
                    env={**os.environ, "OMP_NUM_THREADS": "1"},
                )
                results[f"{lib} {mode}"].append(json.loads(out.stdout))
    finally:
        path.unlink(missing_ok=True)
    print(
        f"state dict: {size / 1e6:.0f} MB in {args.mb // 2} tensors ({writer}); "
        f"medians of {args.repeat} fresh processes"
    )
    for name, runs in results.items():
        sec = statistics.median(r["seconds"] for r in runs)
        rss = statistics.median(r["rss_added"] for r in runs) / 1e6
        worst = max(r["seconds"] for r in runs)
        print(f"  {name:12s} {sec * 1e3:8.1f} ms (worst {worst * 1e3:.1f})   +{rss:7.1f} MB RSS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
