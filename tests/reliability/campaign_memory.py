"""Campaign: peak memory of RNN calls over a grid of shapes (not collected by pytest).

    PYTHONPATH=src python tests/reliability/campaign_memory.py [--quick] [--json FILE]
        [--src DIR] [--budget-mb 256] [--part infer|train|steps|all] [--torch]

Each case runs in a fresh process (memory_harness.py: warm-up call, peak RSS reset, the
measured call; glibc malloc pinned to mmap for large blocks). Two parts:

* inference under ``no_grad``: 10^6 steps, or fewer where the output would pass
  ``--budget-mb``; every size N 1-64, H 4-256, 1-3 layers, one and two directions, the four
  input layouts, float32 and float64, each kernel variant forced (``ELMAN_KERNEL_VARIANT``),
  the general path (a replaced parameter), the NumPy reference, dropout in training mode.
  Reported: the peak's growth beyond the output (the bar: O(N*H), plus 8 bytes a step);
* training (forward with the graph, then ``(out.sum() + h_n.sum()).backward()``): the
  peak's growth per element of the layers' outputs, T*N*D*H*layers (sized to ~64 MiB of
  them): the constant of docs/reliability.md;
* training over time: 300 steps (forward, backward, Adam) on one batch, the resident set
  after every step: it must not grow once the first steps have allocated what they keep.

``--torch`` runs torch.nn.RNN on the same case in the same run (a fresh process each;
the default-variant cases only: torch has no variants).

``--src`` measures another checkout's elman (e.g. the code before a change). The tables
print as Markdown; ``--json`` keeps every record. The figures of the recorded run are in
docs/reliability.md (Memory).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from memory_harness import run_case  # noqa: E402

MiB = 1 << 20
VARIANTS = [
    "fused",
    "layered-axpy",
    "layered-dot",
    "layered-outer",
    "layered-gemm",
    "layered-split",
    "layered-pairs",
    "layered-rows",
    "layered-rows-outer",
]
# (I, H, N): from a scalar series to a wide batch
SHAPES = [(1, 4, 1), (2, 16, 1), (4, 32, 4), (1, 64, 1), (8, 64, 8), (16, 128, 8),
          (32, 256, 16), (64, 256, 64)]  # fmt: skip


# the --quick inference grid: (I, H, N, layers, bidirectional, layout, dtype)
QUICK = [(2, 16, 1, 2, False, "time", "float32"), (2, 16, 1, 2, True, "batch", "float32"),
         (1, 64, 1, 2, False, "batch", "float32"), (1, 64, 1, 3, True, "time", "float64"),
         (8, 64, 8, 2, True, "time", "float32"), (8, 64, 8, 3, False, "packed", "float32"),
         (32, 256, 16, 2, False, "batch", "float32"), (32, 256, 16, 2, True, "time", "float64"),
         (2, 16, 1, 2, False, "unbatched", "float32")]  # fmt: skip


def _steps(I: int, H: int, N: int, D: int, item: int, budget: int, cap: int) -> int:
    return max(100, min(cap, budget // (N * D * H * item)))


def inference_cases(budget: int, quick: bool) -> list[dict[str, Any]]:
    cases = []

    def add(I, H, N, layers=2, bi=False, layout="time", dtype="float32", **extra):
        item, N = (4 if dtype == "float32" else 8), (1 if layout == "unbatched" else N)
        T = _steps(I, H, N, 2 if bi else 1, item, budget, extra.pop("cap", 10**6))
        case = dict(I=I, H=H, layers=layers, bi=bi, N=N, T=T, layout=layout, dtype=dtype)
        cases.append({**case, "mode": "infer", "variant": "", **extra})

    if quick:  # the recorded run: a few shapes, each kernel variant once
        for I, H, N, layers, bi, layout, dtype in QUICK:
            add(I, H, N, layers, bi, layout, dtype)
        for variant in VARIANTS:
            cap = 10**6 if variant != "fused" else 20_000  # fused: meant for tiny H
            add(16, 128, 8, 2, False, "batch", variant=variant, cap=cap)
        add(16, 128, 8, 2, True, "batch", variant="layered-pairs")  # the directions paired
        add(8, 64, 8, 3, True, "packed", lane="general")
        add(4, 32, 4, 2, True, "batch", jit=False, cap=20_000)  # the NumPy reference: slow
        return cases
    for I, H, N in SHAPES:
        for layers in (1, 2, 3):
            for bi in (False, True):
                add(I, H, N, layers, bi)
    for I, H, N in [(2, 16, 1), (8, 64, 8), (32, 256, 16)]:
        for layout in ("batch", "unbatched", "packed"):
            for bi in (False, True):
                add(I, H, N, 2, bi, layout)
        add(I, H, N, 2, True, "batch", "float64")
    for variant in VARIANTS:
        for I, H, N in [(2, 16, 4), (16, 128, 8)]:
            cap = 10**6 if variant != "fused" or H <= 32 else 20_000  # fused: tiny H only
            for bi in (False, True):
                add(I, H, N, 2, bi, "batch", variant=variant, cap=cap)
    add(1, 64, 1, 2, False, "batch", lane="general")
    add(8, 64, 8, 3, True, "packed", lane="general")
    add(4, 32, 4, 2, True, "batch", jit=False, cap=20_000)  # the NumPy reference: slow
    add(1, 64, 1, 3, False, "time", dropout=0.5)  # train mode under no_grad: masks drawn
    return cases


def training_cases(quick: bool) -> list[dict[str, Any]]:
    cases = []
    target = 64 * MiB  # bytes of T*N*D*H*layers elements

    def add(I, H, N, layers=2, bi=False, layout="time", dtype="float32", **extra):
        item, D = (4 if dtype == "float32" else 8), (2 if bi else 1)
        T = max(100, target // (N * D * H * layers * item))
        case = dict(I=I, H=H, layers=layers, bi=bi, N=N, T=T, layout=layout, dtype=dtype)
        cases.append({**case, "mode": "train", "variant": "", **extra})

    shapes = [(1, 16, 1), (4, 32, 4), (1, 64, 1), (16, 128, 8), (32, 256, 16)]
    for I, H, N in shapes[::2] if quick else shapes:
        for layers in (2,) if quick else (1, 2, 3):
            for bi in (False, True):
                add(I, H, N, layers, bi)
    for extra in ({"layout": "batch"}, {"layout": "packed"}, {"dtype": "float64"},
                  {"dropout": 0.5}, {"dropout": 0.5, "layers": 3}):  # fmt: skip
        add(8, 64, 8, **{"layers": 2, **extra})
    for variant in [] if quick else VARIANTS:
        add(16, 128, 8, 2, False, variant=variant)
    return cases


def describe(r: dict[str, Any]) -> str:
    s = f"I={r['I']} H={r['H']} N={r['N']} L{r['layers']}{' bi' if r['bi'] else ''}"
    s += f" {r['layout']}{' f64' if r['dtype'] == 'float64' else ''}"
    if r.get("lane") == "general":
        s += " general path"
    if r.get("jit") is False:
        s += " reference"
    if r.get("dropout"):
        s += f" dropout {r['dropout']} (train mode)"
    return s


def picked(r: dict[str, Any]) -> str:
    return r["variant"] + " (forced)" if r["variant"] else r["picked"]


def steps_cases() -> list[dict[str, Any]]:
    """Training over time: a few shapes, 300 steps each."""
    cases = []
    for I, H, N, L, layers, bi in [(1, 16, 1, 2000, 2, False), (8, 64, 8, 500, 2, True),
                                   (16, 128, 8, 200, 3, False)]:  # fmt: skip
        case = dict(I=I, H=H, layers=layers, bi=bi, N=N, T=L, layout="time", dtype="float32")
        cases.append({**case, "mode": "steps", "variant": "", "steps": 300})
    return cases


def _with_torch(case: dict[str, Any], on: bool) -> dict[str, Any] | None:
    """The same case on torch, or None (not asked, a forced variant, another lane)."""
    if not on or case.get("variant") or case.get("lane") or case.get("jit", True) is False:
        return None
    return run_case({**case, "lib": "torch"}, timeout=3600)


def run_steps(args: argparse.Namespace, records: list[dict[str, Any]]) -> None:
    print("\n| training over time | lib | steps | RSS after step 10 MiB | after step 300 MiB "
          "| growth 10 -> 300 KiB | min -> max after step 10 KiB |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|")
    for case in steps_cases():
        for lib in ["elman", "torch"] if args.torch else ["elman"]:
            r = run_case({**case, "lib": lib}, timeout=3600, src=args.src)
            records.append(r)
            rss = r["rss_steps"][9:]
            print(f"| {describe(r)} | {r['picked']} | {case['steps']} | {rss[0] / MiB:.1f} "
                  f"| {rss[-1] / MiB:.1f} | {(rss[-1] - rss[0]) / 1024:.0f} "
                  f"| {(max(rss) - min(rss)) / 1024:.0f} |", flush=True)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a reduced grid")
    parser.add_argument("--json", help="write every record here")
    parser.add_argument("--src", help="import elman from this folder (default: this checkout)")
    parser.add_argument("--budget-mb", type=int, default=256, help="largest inference output")
    parser.add_argument("--part", choices=["infer", "train", "steps", "all"], default="all")
    parser.add_argument("--torch", action="store_true", help="torch on the same cases")
    args = parser.parse_args()
    records: list[dict[str, Any]] = []
    start = time.perf_counter()
    if args.part in ("infer", "all"):
        print("| inference under no_grad | variant | steps | output MiB | peak growth MiB "
              "| beyond the output MiB | kept MiB | torch: peak growth MiB |")  # fmt: skip
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for case in inference_cases(args.budget_mb * MiB, args.quick):
            r = run_case(case, timeout=1800, src=args.src)
            records.append(r)
            t = _with_torch(case, args.torch)
            records += [t] if t else []
            out, grow = r["out_bytes"] / MiB, r["growth"] / MiB
            tg = f"{t['growth'] / MiB:.1f}" if t else "-"
            print(f"| {describe(r)} | {picked(r)} | {r['T']:,} | {out:.1f} | {grow:.1f} "
                  f"| {grow - out:.1f} | {r['kept'] / MiB:.1f} | {tg} |", flush=True)  # fmt: skip
    if args.part in ("train", "all"):
        print("\n| training | variant | steps | T*N*D*H*layers MiB | peak growth MiB "
              "| growth per element | (layers + 3) / layers | torch: per element |")  # fmt: skip
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for case in training_cases(args.quick):
            r = run_case(case, timeout=1800, src=args.src)
            records.append(r)
            t = _with_torch(case, args.torch)
            records += [t] if t else []
            unit, grow = r["lndh_bytes"] / MiB, r["growth"] / MiB
            model = (r["layers"] + 3) / r["layers"]
            tg = f"{t['growth'] / t['lndh_bytes']:.2f}" if t else "-"
            print(f"| {describe(r)} | {picked(r)} | {r['T']:,} | {unit:.1f} | {grow:.1f} "
                  f"| {grow / unit:.2f} | {model:.2f} | {tg} |", flush=True)  # fmt: skip
    if args.part in ("steps", "all"):
        run_steps(args, records)
    mine = [r for r in records if r.get("lib", "elman") == "elman"]
    infer = [r for r in mine if r["mode"] == "infer" and r.get("jit", True)]
    if infer:
        worst = max(infer, key=lambda r: r["growth"] - r["out_bytes"])
        print(f"\ninference: {len(infer)} compiled cases, at most "
              f"{(worst['growth'] - worst['out_bytes']) / MiB:.1f} MiB beyond the output "
              f"({describe(worst)})")  # fmt: skip
    train = [r for r in mine if r["mode"] == "train"]
    if train:
        worst = max(train, key=lambda r: r["growth"] / r["lndh_bytes"])
        print(f"training: {len(train)} cases, at most {worst['growth'] / worst['lndh_bytes']:.2f}"
              f" bytes of peak per byte of layer outputs ({describe(worst)})")  # fmt: skip
    print(f"{time.perf_counter() - start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
