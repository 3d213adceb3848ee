"""The long thread campaign (issue 13): concurrent calls are bit-identical to sequential ones.

For every kernel variant (forced with ``ELMAN_KERNEL_VARIANT`` in a child process, so the
public API runs it: ``nn.RNN`` + ``nn.Linear`` + MSE, forward and backward through the
autograd engine), four Python threads each train-step their own model ``--calls / 4``
times at once; every output, loss and gradient must equal, bit for bit, what the same
call gave when made alone beforehand. Half of the models are bidirectional. A child that
does not finish within ``--deadline`` seconds counts as a hang.

Not collected by pytest (no ``test_`` prefix). Run::

    PYTHONPATH=src python tests/reliability/campaign_threads.py --calls 1000 --json out.json

It prints one JSON summary (per variant: calls, arrays compared, mismatches, the worst
difference, seconds) and exits 1 if any variant had a mismatch, an error or a hang.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np

SHAPE = dict(T=160, N=4, I=8, H=64, layers=2)  # weight gradients sum over 640 rows


def _model(seed: int) -> tuple[Any, Any, Any, Any]:
    import elman

    elman.manual_seed(seed)
    bi = seed % 2 == 1
    rnn = elman.nn.RNN(SHAPE["I"], SHAPE["H"], SHAPE["layers"], bidirectional=bi)
    head = elman.nn.Linear(SHAPE["H"] * (2 if bi else 1), 700)  # a held product: 4.6e5 MACs
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((SHAPE["T"], SHAPE["N"], SHAPE["I"])).astype(np.float32)
    y = rng.standard_normal((SHAPE["T"], SHAPE["N"], 700)).astype(np.float32)
    return rnn, head, elman.tensor(x), elman.tensor(y)


def _step(model: tuple[Any, Any, Any, Any]) -> list[np.ndarray]:
    """One forward+backward; every array it produces, copied."""
    import elman

    rnn, head, x, y = model
    for p in [*rnn.parameters(), *head.parameters()]:
        p.grad = None
    xg = x.detach().requires_grad_(True)
    out, hn = rnn(xg)
    loss = elman.nn.functional.mse_loss(head(out), y) + (hn * hn).mean()
    loss.backward()
    arrays = [out, hn, loss, xg.grad, *(p.grad for p in [*rnn.parameters(), *head.parameters()])]
    return [np.array(a.detach().numpy()) for a in arrays]


def _name(variant: Any) -> str:
    return str(variant.name)


def worker(calls: int, threads: int) -> dict[str, Any]:
    """In the child: ``threads`` threads, ``calls`` calls in all, against the alone calls."""
    from elman._kernels import dispatch

    T, N = SHAPE["T"], SHAPE["N"]
    models = [_model(seed) for seed in range(threads)]
    expected = [_step(m) for m in models]
    per_thread = -(-calls // threads)
    mismatches: list[str] = []
    worst = [0.0]
    compared = [0]
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def run(k: int) -> None:
        try:
            start.wait()
            for c in range(per_thread):
                got = _step(models[k])
                with lock:
                    for j, (a, b) in enumerate(zip(got, expected[k], strict=True)):
                        compared[0] += 1
                        if not np.array_equal(a, b, equal_nan=True):
                            diff = float(np.nanmax(np.abs(a.astype(np.float64) - b)))
                            worst[0] = max(worst[0], diff)
                            mismatches.append(f"thread {k} call {c} array {j}: {diff:.3g}")
        except BaseException as exc:  # reported in the summary
            errors.append(repr(exc))

    t0 = time.perf_counter()
    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {
        "forced": os.environ.get("ELMAN_KERNEL_VARIANT", ""),
        "chosen": _name(dispatch.choose(T * N, N, SHAPE["I"], SHAPE["H"], SHAPE["layers"], 1)),
        "calls": per_thread * threads,
        "arrays_compared": compared[0],
        "mismatches": len(mismatches),
        "first_mismatches": mismatches[:5],
        "worst_difference": worst[0],
        "errors": errors[:5],
        "seconds": round(time.perf_counter() - t0, 2),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=1000, help="calls per variant (all threads)")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--variants", nargs="*", help="default: every variant")
    p.add_argument("--deadline", type=float, default=1800.0, help="seconds per variant")
    p.add_argument("--json", help="also write the summary here")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.calls, args.threads)))
        return 0
    from elman._kernels import dispatch

    summary: dict[str, Any] = {"shape": SHAPE, "threads": args.threads, "variants": {}}
    failed = False
    for name in args.variants or sorted(dispatch.VARIANTS):
        env = {**os.environ, "ELMAN_KERNEL_VARIANT": name}
        cmd = [sys.executable, __file__, "--worker", "--calls", str(args.calls)]
        cmd += ["--threads", str(args.threads)]
        try:
            done = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=args.deadline
            )
            if done.returncode != 0:
                result: dict[str, Any] = {"errors": [done.stderr[-2000:]]}
            else:
                result = json.loads(done.stdout.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            result = {"hang": True, "errors": [f"no result after {args.deadline} s"]}
        failed |= bool(result.get("errors") or result.get("mismatches") or result.get("hang"))
        summary["variants"][name] = result
        print(f"{name}: {json.dumps(result)}", file=sys.stderr)
    summary["ok"] = not failed
    text = json.dumps(summary, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
