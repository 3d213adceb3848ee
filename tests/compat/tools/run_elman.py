"""Run the compat corpus on elman (``python -m elman run``, quick mode) against torch's record.

Usage (from the repository root)::

    PYTHONPATH=src python tests/compat/tools/run_elman.py          # every script
    PYTHONPATH=src python tests/compat/tools/run_elman.py 04 17    # names starting so
    PYTHONPATH=src python tests/compat/tools/run_elman.py --full   # the full configuration

Each script runs in its own process from an empty temporary folder, with
``OMP_NUM_THREADS=1``, and its ``FINAL`` line is compared with ``expected.json``: same keys,
values within ``RTOL`` (relative) of torch's. One line per script: ``ok``, ``DIFF`` (ran, other
numbers) or ``FAIL`` (the last stderr line).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_corpus import EXPECTED, SCRIPTS, parse_final  # noqa: E402

RTOL = 1e-4  # float32 noise after a few hundred optimiser steps: see tests/compat/README.md
TIMEOUT = 600


def run_on_elman(script: Path, quick: bool = True) -> tuple[dict[str, float] | None, str, float]:
    """(metrics or None, the last stderr line, seconds) of ``elman run script``."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("COMPAT_QUICK", None)
    if quick:
        env["COMPAT_QUICK"] = "1"
    with tempfile.TemporaryDirectory() as cwd:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "elman", "run", str(script)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        seconds = time.perf_counter() - start
    err = [line for line in proc.stderr.splitlines() if line.strip()]
    if proc.returncode != 0:
        return None, err[-1] if err else f"exit {proc.returncode}", seconds
    try:
        return parse_final(proc.stdout), "", seconds
    except ValueError as exc:
        return None, str(exc), seconds


def compare(got: dict[str, float], want: dict[str, float], rtol: float = RTOL) -> list[str]:
    """The keys whose values differ beyond ``rtol`` (or are missing on one side)."""
    bad = [k for k in want if k not in got] + [k for k in got if k not in want]
    for k in want.keys() & got.keys():
        a, b = got[k], want[k]
        if not (math.isclose(a, b, rel_tol=rtol, abs_tol=1e-7) or (a != a and b != b)):
            bad.append(k)
    return sorted(bad)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prefixes", nargs="*")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--markdown", action="store_true", help="print docs/compat.md's table rows")
    parser.add_argument(
        "--versus-torch",
        action="store_true",
        help="also run each script under torch right before it (same load): both times",
    )
    args = parser.parse_args()
    expected = json.loads(EXPECTED.read_text())
    mode = "full" if args.full else "quick"
    scripts = sorted(SCRIPTS.glob("*.py"))
    if args.prefixes:
        scripts = [s for s in scripts if s.name.startswith(tuple(args.prefixes))]
    counts = {"ok": 0, "DIFF": 0, "FAIL": 0}
    for script in scripts:
        want = expected[script.name][mode]
        if args.versus_torch:
            from run_corpus import run as run_torch

            want = run_torch(script, quick=not args.full)
        got, err, seconds = run_on_elman(script, quick=not args.full)
        if got is None:
            status, detail = "FAIL", err
        else:
            bad = compare(got, want["metrics"])
            status = "DIFF" if bad else "ok"
            detail = " ".join(f"{k}={got.get(k)} (torch {want['metrics'].get(k)})" for k in bad)
        counts[status] += 1
        if args.markdown:
            shown = "; ".join(f"{k}={v:.8g}" for k, v in (got or {}).items()) or detail
            same = {"ok": "yes", "DIFF": "differs: " + detail, "FAIL": "no"}[status]
            print(f"| `{script.name}` | {same} | {shown} | {seconds:.1f} / {want['seconds']:.1f} |")
            continue
        print(
            f"{status:4} {script.name} {seconds:.1f}s (torch {want['seconds']:.1f}s) {detail}",
            flush=True,
        )
    print(f"{counts['ok']} ok, {counts['DIFF']} differ, {counts['FAIL']} fail of {len(scripts)}")
    return 0 if counts["ok"] == len(scripts) else 1


if __name__ == "__main__":
    sys.exit(main())
