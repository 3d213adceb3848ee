"""Time to solve the training anchors, elman against torch, same data and initial weights.

    PYTHONPATH=src nice -n 19 python benchmarks/time_to_solve.py --json tts.json [--quick]
        [--anchor adding --anchor sine --anchor packed --anchor charlm] [--chunks alternate]

Each anchor builds its model in elman (elman's seed and init), loads those weights into the
same model in torch, and trains both with Adam and clip_grad_norm_(1.0) on the same stream
of batches (batch k is a function of the seed and k), validating every ``eval_every`` steps
until the validation metric reaches the anchor's target or ``max_steps`` pass.

The two libraries run interleaved in chunks of ``eval_every`` steps (a chunk of elman, a
chunk of torch, and the order swapped every chunk), not one whole run after the other: on a
shared machine the load changes over minutes, and a run of 30-60 s per library would
otherwise meet different loads. Each library's wall time is the sum of its own chunks
(training steps and validations); per step is its training time over its steps.

Anchors (shared/reference/training-anchors.md, src/elman/cli/tasks.py):
  adding   T = 100, IRNN recipe: RNN(2, 100, relu) + Linear on the last step, W_hh = I,
           biases 0, W_ih ~ N(0, 0.001²); Adam 1e-3, batch 32, validation on 1,000 fixed
           examples every 500 steps until MSE < 0.002.
  sine     `elman train sine`'s task and model (RNN(1, 32, tanh) + Linear(32, 5) on the
           last step; Adam 3e-3, batch 32), validation every 50 steps (an epoch) until MSE
           below 4x the noise variance (0.01).
  packed   a packed bidirectional classifier: lengths 10-60, 4 features, the label says
           whether feature 0 sums above 0 over the sequence; RNN(4, 64, bi, tanh) +
           Linear(128, 2) on the final hidden states; Adam 2e-3, batch 32, validation
           accuracy >= 0.95 on 1,000 sequences every 100 steps.
  charlm   a character language model with truncated BPTT on text from a seeded
           second-order Markov source (16 symbols, 3 successors per context): 32 streams,
           windows of 50 steps, the hidden state carried across windows (detached);
           Embedding(16, 16) + RNN(16, 128, tanh) + Linear(128, 16); Adam 2e-3; validation
           every 200 steps until the cross-entropy is within 0.05 nats of the source's own.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _anchors  # noqa: E402


def run_anchor(anchor: Any, torch: Any, order: str) -> dict[str, Any]:
    import elman

    elman.manual_seed(anchor.seed)
    libs = [("elman", elman)] + ([("torch", torch)] if torch is not None else [])
    runs = _anchors.build_runs(anchor, libs)
    chunk = 0
    while any(not r.done for r in runs.values()):
        names = list(runs)
        if order == "alternate" and chunk % 2:
            names.reverse()
        for name in names:
            if not runs[name].done:
                runs[name].chunk()
        chunk += 1
    out: dict[str, Any] = {"anchor": anchor.name, "config": anchor.config()}
    for name, r in runs.items():
        out[name] = r.report()
    if "torch" in runs:
        e, t = out["elman"], out["torch"]
        out["wall_ratio"] = t["wall_s"] / e["wall_s"]
        out["per_step_ratio"] = t["per_step_s"] / e["per_step_s"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", type=Path, default=Path("time-to-solve.json"))
    p.add_argument("--anchor", action="append", choices=sorted(_anchors.ANCHORS))
    p.add_argument("--quick", action="store_true", help="small sizes, few steps: a smoke run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for both libraries (elman.set_num_threads, torch.set_num_threads); "
        "default: each library's own (OMP_NUM_THREADS, else the CPUs)",
    )
    p.add_argument(
        "--chunks",
        choices=("alternate", "elman-first"),
        default="alternate",
        help="order of the two libraries' chunks: swapped every chunk, or elman first always",
    )
    args = p.parse_args(argv)
    torch = None
    if not args.no_torch:
        import torch
    import elman
    from elman.cli.bench_timing import machine_info

    if args.threads:
        elman.set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)

    results = []
    for name in args.anchor or list(_anchors.ANCHORS):
        anchor = _anchors.ANCHORS[name](args.quick, args.seed)
        t = time.perf_counter()
        res = run_anchor(anchor, torch, args.chunks)
        res["total_wall_s"] = time.perf_counter() - t
        results.append(res)
        print(_anchors.summary(res), flush=True)
        payload = {
            "machine": machine_info(
                {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
                if torch is not None
                else {}
            ),
            "elman_threads": elman.get_num_threads(),
            "quick": args.quick,
            "chunks": args.chunks,
            "results": results,
        }
        args.json.write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
