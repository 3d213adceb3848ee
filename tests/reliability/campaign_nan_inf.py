"""Long NaN/inf campaign against torch: RNN and RNNCell in every kernel variant, the autograd
ops and losses, gradient clipping and the optimizers.

* RNN cases (nan_inf_harness.py): random small configurations (1-3 layers, uni- or
  bidirectional, with or without bias, tanh or relu, float32 or float64, time-major,
  batch_first, unbatched, packed or ``lengths=``, the fast or the general lane, dropout
  between layers now and then) with NaN, +inf or -inf in one to three elements of x, h0,
  a weight, a bias or an incoming gradient. torch runs each once; elman runs it in every
  kernel variant (the dispatcher's choice forced in turn) and, in a second process, with
  the NumPy reference (``ELMAN_DISABLE_JIT=1``).
* op cases (nan_inf_ops.py): every expression of its table with random poison in its
  inputs and in the incoming gradient.
* training cases (nan_inf_train.py): clip_grad_norm_ / clip_grad_value_ and three steps of
  each optimizer with poison in a gradient or a parameter.

Every output and gradient (and optimizer state) is compared: NaN positions, ±inf positions
and signs, finite values within tolerance; torch's error text where torch raises.

Run (needs torch):

    PYTHONPATH=src python tests/reliability/campaign_nan_inf.py --cases 3000 --seed 0

It prints one JSON line: cases and runs per part, mismatches (total and per variant / op),
and the first few mismatching cases (``--show`` how many). Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nan_inf_ops as ops  # noqa: E402
import nan_inf_train as train  # noqa: E402
from nan_inf_harness import compare, make_arrays, random_case, run_elman, run_torch  # noqa: E402

REFERENCE = "reference"


def _variants() -> list[str]:
    from elman._kernels import dispatch

    return sorted(dispatch.VARIANTS)


class Tally:
    def __init__(self, show: int) -> None:
        self.runs, self.show = 0, show
        self.counts: dict[str, int] = {}
        self.examples: list[dict[str, Any]] = []

    def add(self, key: str, what: str, problems: list[str]) -> None:
        self.runs += 1
        self.counts.setdefault(key, 0)
        if problems:
            self.counts[key] += 1
            if len(self.examples) < self.show:
                self.examples.append({"where": key, "case": what, "problems": problems})

    def summary(self, cases: int) -> dict[str, Any]:
        return {"cases": cases, "runs": self.runs, "mismatches": sum(self.counts.values()),
                "by": self.counts, "examples": self.examples}  # fmt: skip


def rnn_part(cases: int, seed: int, variants: list[str], show: int, torch: Any) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    jit = REFERENCE not in variants
    if jit:
        from elman._kernels import dispatch
    tally = Tally(show)
    for k in range(cases):
        case = random_case(rng, seed=seed * 1_000_003 + k)
        arrays = make_arrays(case)
        want = run_torch(case, {n: a.copy() for n, a in arrays.items()}, torch)
        for v in variants:
            if jit:
                dispatch.FORCED = v
            got = run_elman(case, {n: a.copy() for n, a in arrays.items()})
            tally.add(v, case.to_json(), compare(got, want, case.dtype))
    if jit:
        dispatch.FORCED = ""
    return tally.summary(cases)


def ops_part(cases: int, seed: int, show: int, torch: Any) -> dict[str, Any]:
    import elman

    rng = np.random.default_rng(seed + 1)
    tally = Tally(show)
    names = sorted(ops.OPS)
    for k in range(cases):
        op, dtype = names[k % len(names)], ("float32", "float64")[(k // len(names)) % 2]
        poison, grad_poison = ops.random_poison(rng, len(ops.OPS[op][1]))
        arrays, r2 = ops.make_inputs(op, dtype, int(rng.integers(1 << 30)), poison)
        _, shape = ops.run_op(torch, "torch", op, [a.copy() for a in arrays], None)
        g = ops.make_grad(shape, dtype, r2, grad_poison)
        want, _ = ops.run_op(torch, "torch", op, [a.copy() for a in arrays], g.copy())
        got, _ = ops.run_op(elman, "elman", op, [a.copy() for a in arrays], g.copy())
        what = json.dumps({"op": op, "dtype": dtype, "poison": poison, "grad": grad_poison})
        tally.add(op, what, compare(got, want, dtype))
    return tally.summary(cases)


def train_part(cases: int, seed: int, show: int, torch: Any) -> dict[str, Any]:
    import elman

    rng = np.random.default_rng(seed + 2)
    tally = Tally(show)
    names = sorted(train.OPTIMIZERS)
    for k in range(cases):
        dtype = ("float32", "float64")[k % 2]
        if k % 3 == 0:  # clipping
            poison = train.random_poison(rng, 1)
            how = "norm" if rng.random() < 0.75 else "value"
            norm, error = float(rng.choice(train.NORMS)), bool(rng.random() < 0.3)
            arrays = train.make_arrays(dtype, k, poison)
            want = train.run_clip(torch, {n: a.copy() for n, a in arrays.items()}, how, norm, error)
            got = train.run_clip(elman, {n: a.copy() for n, a in arrays.items()}, how, norm, error)
            key = f"clip_grad_{how}" + ("_error" if error and how == "norm" else "")
            what = {"how": how, "norm": norm, "error_if_nonfinite": error}
        else:
            name = names[k % len(names)]
            poison = train.random_poison(rng)
            arrays = train.make_arrays(dtype, k, poison)
            want = train.run_optimizer(torch, {n: a.copy() for n, a in arrays.items()}, name)
            got = train.run_optimizer(elman, {n: a.copy() for n, a in arrays.items()}, name)
            key, what = name, {"optimizer": name}
        problems = _compare_or_error(got, want, dtype)
        tally.add(key, json.dumps({**what, "dtype": dtype, "seed": k, "poison": poison}), problems)
    return tally.summary(cases)


def _compare_or_error(got: dict[str, Any], want: dict[str, Any], dtype: str) -> list[str]:
    if "error" in got or "error" in want:
        a, e = str(got.get("error", "no error")), str(want.get("error", "no error"))
        return [] if a == e else [f"error: {a!r} vs torch {e!r}"]
    return compare(got, want, dtype)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=3000, help="RNN cases")
    parser.add_argument("--op-cases", type=int, default=None, help="default: 2 x --cases")
    parser.add_argument("--train-cases", type=int, default=None, help="default: --cases / 2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=10, help="mismatching cases to print")
    parser.add_argument("--variants", default="all", help="comma-separated, 'all' or 'reference'")
    parser.add_argument("--no-reference", action="store_true", help="skip the NumPy reference")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        if args.variants == REFERENCE:
            print(json.dumps(rnn_part(args.cases, args.seed, [REFERENCE], args.show, torch)))
            return 0
        variants = _variants() if args.variants == "all" else args.variants.split(",")
        rnn = rnn_part(args.cases, args.seed, variants, args.show, torch)
        n_ops = 2 * args.cases if args.op_cases is None else args.op_cases
        n_train = args.cases // 2 if args.train_cases is None else args.train_cases
        result = {
            "rnn": rnn,
            "ops": ops_part(n_ops, args.seed, args.show, torch),
            "train": train_part(n_train, args.seed, args.show, torch),
        }
    if not args.no_reference:
        ref = _reference(args)
        rnn["runs"] += ref["runs"]
        rnn["mismatches"] += ref["mismatches"]
        rnn["by"][REFERENCE] = ref["by"][REFERENCE]
        rnn["examples"] += ref["examples"][: max(0, args.show - len(rnn["examples"]))]
    result["cases"] = sum(part["cases"] for part in result.values())
    result["runs"] = sum(part["runs"] for part in result.values() if isinstance(part, dict))
    result["mismatches"] = sum(
        part["mismatches"] for part in result.values() if isinstance(part, dict)
    )
    result["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result))
    return 1 if result["mismatches"] else 0


def _reference(args: argparse.Namespace) -> dict[str, Any]:
    """The RNN cases with the NumPy reference kernels, in a process of its own (the switch
    is read at import)."""
    cmd = [sys.executable, __file__, "--variants", REFERENCE, "--cases", str(args.cases)]
    cmd += ["--seed", str(args.seed), "--show", str(args.show)]
    env = {**os.environ, "ELMAN_DISABLE_JIT": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
