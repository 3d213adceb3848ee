"""Few steps of a wide hidden size against torch, for two (or more) source trees: the shapes
where the quiet sweep of 2026-12-07 (seed 18) had elman slower than torch, and held-out
shapes of the same kind drawn here (L 1-16, N 1-256, I 1-1024, H 150-1024 log-uniform, 1-3
layers, uni/bidirectional, float32/float64, dense/packed; forward multiply-adds <= 2e8).

Each round runs ``elman bench`` (torch interleaved in the same process, medians of
``--repeat`` repetitions) once per tree and per (dtype, packed) group of shapes, the trees
alternated within every round so that load on the machine hits them alike; the table is the
median over rounds of each tree's torch/elman ratio (> 1: elman faster), forward and
forward+backward (and the same with the ratio of the repetitions' minima).

    python benchmarks/few_steps.py --tree before=/path/to/old/src --tree after=src \
        --rounds 3 --held-out 24 --out benchmarks/results-few-steps.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from typing import Any

import numpy as np

# (L, N, I, H, layers, bidirectional, dtype, packed): elman slower than torch in the sweep
NAMED = [
    (1, 79, 1, 716, 1, True, "float32", False),
    (2, 52, 23, 679, 1, True, "float32", False),
    (7, 33, 148, 308, 2, True, "float32", False),
    (1, 15, 125, 166, 2, True, "float32", False),
    (1, 1, 252, 755, 2, False, "float32", True),
    (1, 219, 14, 214, 1, True, "float32", True),
    (1, 50, 669, 47, 3, False, "float32", True),
    (11, 16, 84, 388, 2, False, "float64", False),
    (2, 5, 5, 287, 2, False, "float64", False),
    (1, 27, 532, 569, 3, True, "float64", False),
    (5, 80, 1, 170, 2, False, "float64", False),
    (1, 9, 703, 220, 1, False, "float64", False),
    (1, 15, 125, 811, 3, False, "float64", True),
    (1, 36, 124, 327, 1, True, "float64", True),
    (1, 135, 23, 259, 3, False, "float64", True),
    (12, 46, 482, 245, 1, True, "float64", True),
    (7, 2, 299, 445, 2, False, "float64", True),
    (3, 169, 2, 154, 2, True, "float64", True),
]
RANGES = {"L": (1, 16), "N": (1, 256), "I": (1, 1024), "H": (150, 1024)}
BUDGET = 2e8


def _log_uniform(rng: np.random.Generator, lo: int, hi: int) -> int:
    return min(hi, int(math.exp(rng.uniform(math.log(lo), math.log(hi + 1)))))


def held_out(count: int, seed: int) -> list[tuple]:
    """``count`` shapes of the few-steps wide-H kind (see the module), the same per seed."""
    rng = np.random.default_rng(seed)
    out: list[tuple] = []
    while len(out) < count:
        L, N, I, H = (_log_uniform(rng, *RANGES[k]) for k in ("L", "N", "I", "H"))
        layers, bi, f64, packed = (int(v) for v in rng.integers((1, 0, 0, 0), (4, 2, 2, 2)))
        D = 2 if bi else 1
        madds = L * N * D * H * ((I + H) + (layers - 1) * (D * H + H))
        if madds <= BUDGET:
            out.append(
                (L, N, I, H, layers, bool(bi), "float64" if f64 else "float32", bool(packed))
            )
    return out


def key(s: tuple) -> str:
    L, N, I, H, layers, bi, dtype, packed = s
    return f"{L},{N},{I},{H},{layers},{2 if bi else 1},{dtype},{'packed' if packed else 'dense'}"


def bench(src: str, shapes: list[tuple], repeat: int, torch_threads: int = 0) -> dict[str, Any]:
    """One ``elman bench`` run of ``shapes`` (one dtype, one layout) with ``src`` first on
    the path: per shape key, torch's median over elman's, forward and forward+backward."""
    dtype, packed = shapes[0][6], shapes[0][7]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        cmd = [
            sys.executable,
            "-c",
            "import sys; from elman.cli.main import main; sys.exit(main())",
        ]
        cmd += ["bench", "--dtype", dtype, "--repeat", str(repeat), "--json", out]
        cmd += ["--torch-threads", str(torch_threads)]
        cmd += ["--packed"] if packed else []
        for L, N, I, H, layers, bi, *_ in shapes:
            cmd += ["--shape", f"{L},{N},{I},{H},{layers}" + (",bi" if bi else "")]
        env = {**os.environ, "PYTHONPATH": src}
        subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
        with open(out) as f:
            results = json.load(f)["results"]
    got = {}
    for s, r in zip(shapes, results, strict=True):
        assert tuple(r["shape"][:5]) == s[:5], (r["shape"], s)
        got[key(s)] = {
            k: {
                "median": r[k]["ratios"]["torch"],
                "min": min(r[k]["torch_s"]) / min(r[k]["elman_s"]),
            }
            for k in ("fwd", "fb")
        }
    return got


def in_process(before: str, shapes: list[tuple], repeat: int, seed: int = 0) -> dict[str, Any]:
    """elman (this tree), the ``before`` tree's elman (its ``elman`` package copied under
    the name ``elman_before``: the kernels and nn import each other relatively) and torch
    in ONE process, interleaved in every repetition (``elman bench``'s :func:`measure`):
    per shape key, the medians and minima of each (seconds), forward and forward+backward."""
    import importlib
    import shutil

    from elman.cli.bench_peers import TorchPeer
    from elman.cli.bench_timing import Case, elman_contestant, measure

    root = tempfile.mkdtemp()
    # (with its __pycache__: copy2 keeps the sources' times, so Numba's cache stays valid)
    shutil.copytree(os.path.join(before, "elman"), os.path.join(root, "elman_before"))
    sys.path.insert(0, root)
    old = importlib.import_module("elman_before")
    torch = TorchPeer()
    got = {}
    for s in shapes:
        L, N, I, H, layers, bi, dtype, packed = s
        case = Case((L, N, I, H, layers, bi), dtype, packed, seed)
        contestants = [elman_contestant(case), elman_contestant(case, old, "before")]
        contestants.append(torch.contestant(case))
        r = measure(contestants, repeat, 0.002, True, settle=0.02)
        got[key(s)] = {
            k: {
                n: {"median": statistics.median(r[k][f"{n}_s"]), "min": min(r[k][f"{n}_s"])}
                for n in ("elman", "before", "torch")
            }
            for k in ("fwd", "fb")
        }
        print(key(s), {k: round(r[k]["ratios"]["torch"], 2) for k in ("fwd", "fb")}, flush=True)
    return got


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tree", action="append", required=True, help="NAME=path/to/src")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--held-out", type=int, default=24)
    p.add_argument("--seed", type=int, default=1807)
    p.add_argument("--only", choices=["named", "held-out"], default=None)
    p.add_argument("--torch-threads", type=int, default=0, help="as elman bench's")
    p.add_argument("--out", required=True)
    p.add_argument(
        "--in-process",
        action="store_true",
        help="one process: this tree's elman, the first --tree's as elman_before, torch",
    )
    args = p.parse_args()
    trees = dict(t.split("=", 1) for t in args.tree)
    shapes = [] if args.only == "held-out" else [(*s, "named") for s in NAMED]
    if args.only != "named":
        shapes += [(*s, "held-out") for s in held_out(args.held_out, args.seed)]
    groups: dict[tuple, list[tuple]] = {}
    for s in shapes:
        groups.setdefault((s[6], s[7]), []).append(s[:8])
    kind = {key(s[:8]): s[8] for s in shapes}
    if args.in_process:
        before = next(iter(trees.values()))
        runs = [
            in_process(before, [s[:8] for s in shapes], args.repeat) for _ in range(args.rounds)
        ]
        with open(args.out, "w") as f:
            json.dump({"before": before, "kind": kind, "rounds": runs, "argv": sys.argv[1:]}, f)
        print(in_process_table({"kind": kind, "rounds": runs}))
        return
    data: dict[str, Any] = {"trees": trees, "rounds": [], "kind": kind, "argv": sys.argv[1:]}
    for r in range(args.rounds):
        this: dict[str, dict] = {name: {} for name in trees}
        order = list(trees) if r % 2 == 0 else list(reversed(trees))
        for group in groups.values():
            for name in order:
                this[name].update(bench(trees[name], group, args.repeat, args.torch_threads))
                print(
                    f"round {r + 1}: {name} {group[0][6]} {'packed' if group[0][7] else 'dense'}",
                    flush=True,
                )
        data["rounds"].append(this)
        with open(args.out, "w") as f:
            json.dump(data, f, indent=1)
    print(table(data, "median"))
    print()
    print(table(data, "min"))


def table(data: dict[str, Any], stat: str = "median") -> str:
    """Markdown: per shape the median over rounds of each tree's ratio, fwd and fwd+bwd;
    ``stat``: the ratio of the repetitions' medians, or of their minima ("min": on a loaded
    machine torch's two OpenMP threads stall far more often than elman's calls)."""
    names = list(data["trees"])
    head = "| shape (L,N,I,H,layers,D,dtype,layout) | kind | " + " | ".join(
        f"{n} fwd | {n} fwd+bwd" for n in names
    )
    lines = [head + " |", "|" + "---|" * (2 + 2 * len(names))]
    for k, kind in data["kind"].items():
        cells = []
        for n in names:
            for ph in ("fwd", "fb"):
                vals = [rd[n][k][ph][stat] for rd in data["rounds"] if k in rd[n]]
                cells.append(f"{statistics.median(vals):.2f}" if vals else "-")
        lines.append(f"| {k} | {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def in_process_table(data: dict[str, Any]) -> str:
    """Markdown from :func:`in_process` runs: torch/elman before and after (ratio of the
    medians; of the minima in brackets) and before/after (elman's speed-up), the median
    over rounds."""
    lines = [
        "| shape (L,N,I,H,layers,D,dtype,layout) | kind | fwd: torch/before | torch/after"
        " | after speed-up | fwd+bwd: torch/before | torch/after | after speed-up |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def cell(k: str, ph: str, num: str, den: str) -> str:
        out = []
        for stat in ("median", "min"):
            vals = [rd[k][ph][num][stat] / rd[k][ph][den][stat] for rd in data["rounds"]]
            out.append(statistics.median(vals))
        return f"{out[0]:.2f} ({out[1]:.2f})"

    for k, kind in data["kind"].items():
        cells = []
        for ph in ("fwd", "fb"):
            cells += [cell(k, ph, "torch", "before"), cell(k, ph, "torch", "elman")]
            cells.append(cell(k, ph, "before", "elman"))
        lines.append(f"| {k} | {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
