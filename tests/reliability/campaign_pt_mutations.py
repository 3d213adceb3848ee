"""Campaign: elman.load on thousands of mutated .pt files (not collected by pytest).

    PYTHONPATH=src python tests/reliability/campaign_pt_mutations.py [--n 3000] [--seed 0]

Each run mutates the golden files of tests/fixtures/pt (tests/pt_mutate.py: a byte, a byte
or run of the pickle, an integer of the pickle, a global name, a storage's length, the
file's length), loads each result (one in four through mmap=True) and judges it: a
correct load (tensors inside their buffers; equal to torch.load when torch also loads it,
if torch is installed) or a clean error (UnsafeFileError / CheckpointError naming the
file). It prints the counts per outcome and per mutation, the time, and every failure;
exit status 1 if any. The figures of the recorded runs are in docs/interop.md.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pt_mutate import bases, judge, mutate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="mutations (default 3000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-torch", action="store_true", help="skip the torch comparison")
    args = parser.parse_args()
    torch = None
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            torch = None
    rng = random.Random(args.seed)
    files = bases()
    outcomes: collections.Counter[str] = collections.Counter()
    per_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    failures = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            name = rng.choice(sorted(files))
            kind, data = mutate(files[name], rng)
            mapped = Path(tmp) / "m.pt" if i % 4 == 3 else None
            try:
                outcome = judge(data, torch, mapped)
            except AssertionError as e:
                outcome = "FAILED"
                failures.append((i, name, kind, str(e)[:300]))
            outcomes[outcome] += 1
            per_kind[kind][outcome] += 1
    elapsed = time.perf_counter() - start
    print(f"{args.n} mutated files, seed {args.seed}, torch comparison: {torch is not None}")
    print(f"outcomes: {dict(outcomes)}; {elapsed:.1f} s ({1e3 * elapsed / args.n:.2f} ms/file)")
    for kind, counts in sorted(per_kind.items()):
        print(f"  {kind:12s} {dict(counts)}")
    for failure in failures:
        print("FAILED", *failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
