"""The ONNX acceptance campaign (not collected by pytest):

    PYTHONPATH=src python tests/interop/campaign_onnx.py --models 1000 --seed 0

Draws random models (onnx_models.spec: every RNN option, heads, Embedding, lengths= and
packed input, h0 or not, float32/float64), exports each traced at one (N, T), and runs it
at another (N, T) in onnxruntime (float32) and through elman.onnx.load (both dtypes).
Prints the counts, the worst error relative to the outputs' scale per runtime and dtype,
and every failure; exits 1 if any model fails.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import onnx_models as M  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    kinds: collections.Counter[str] = collections.Counter()
    worst: dict[str, float] = {}
    failures = []
    start = time.perf_counter()
    for _ in range(a.models):
        s = M.spec(rng)
        kinds[f"{s['kind']}/{s['dtype']}"] += 1
        runtimes = M.runtimes_for(s)
        try:
            r = M.check(s, rng, runtimes)
            want = 0 if s["kind"] == "cell" else s["num_layers"]
            if r["rnn_nodes"] != want:
                failures.append({"spec": s, "why": f"{r['rnn_nodes']} RNN nodes, want {want}"})
            for rt, err in r["errors"].items():
                key = f"{rt}/{s['dtype']}"
                worst[key] = max(worst.get(key, 0.0), err)
                if err > M.tolerance(s):
                    failures.append({"spec": s, "why": f"{rt} error {err:.3g}"})
        except Exception as e:  # a campaign reports every failure, then exits non-zero
            failures.append({"spec": s, "why": f"{type(e).__name__}: {e}"})
            traceback.print_exc()
    summary = {
        "models": a.models,
        "seed": a.seed,
        "seconds": round(time.perf_counter() - start, 1),
        "kinds": dict(sorted(kinds.items())),
        "worst_relative_error": worst,
        "failures": failures,
    }
    print(json.dumps(summary, indent=1))
    if a.json:
        a.json.write_text(json.dumps(summary, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
