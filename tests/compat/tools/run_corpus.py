"""Run every compat corpus script under real torch, full and quick, and record the results.

Usage (from the repository root, with the venv that has torch)::

    python tests/compat/tools/run_corpus.py                  # all scripts -> expected.json
    python tests/compat/tools/run_corpus.py 04 17            # only scripts whose name starts so
    python tests/compat/tools/run_corpus.py --table          # print the README table

Each script runs in its own process (``sys.executable``), from a fresh temporary directory,
with ``OMP_NUM_THREADS=1`` (the machine is shared; torch's tiny ops slow down badly when two
threads fight over two busy cores) and, for the quick run, ``COMPAT_QUICK=1``. Its last stdout
line must be the metric line ``FINAL key=value ...``. ``--check-threads`` runs the quick mode a
second time with torch's default thread count and reports any metric that differs (the
metrics are meant not to depend on it).

Output: ``tests/compat/expected.json`` (script -> torch version, metrics and wall seconds for
the full and the quick run), merged into what is already there.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMPAT = Path(__file__).resolve().parent.parent
SCRIPTS = COMPAT / "scripts"
EXPECTED = COMPAT / "expected.json"
FINAL_RE = re.compile(r"^FINAL( [a-z_]+=[-+0-9.eEinfa]+)+$")
TIMEOUT = 900


def parse_final(stdout: str) -> dict[str, float]:
    """The metrics of the script's last stdout line ``FINAL k=v k=v``; raises if absent."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines or not FINAL_RE.match(lines[-1]):
        raise ValueError(f"last line is not a FINAL metric line: {lines[-1:]!r}")
    pairs = (item.split("=", 1) for item in lines[-1].split()[1:])
    return {key: float(value) for key, value in pairs}


def run(script: Path, quick: bool, threads: int | None = 1) -> dict:
    env = dict(os.environ)
    env.pop("COMPAT_QUICK", None)
    if quick:
        env["COMPAT_QUICK"] = "1"
    if threads is None:
        env.pop("OMP_NUM_THREADS", None)
    else:
        env["OMP_NUM_THREADS"] = str(threads)
    with tempfile.TemporaryDirectory() as cwd:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(script)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{script.name} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return {"metrics": parse_final(proc.stdout), "seconds": round(seconds, 2)}


def docstring_facts(script: Path) -> tuple[str, str]:
    """(what it trains, which surveyed scripts it stands for) from the module docstring."""
    doc = ast.get_docstring(ast.parse(script.read_text())) or ""
    summary = " ".join(doc.split("\n\n")[0].split())
    stands = re.search(r"Stands for (.*?) of docs/compat\.md", " ".join(doc.split()))
    return summary, stands.group(1) if stands else ""


def fmt(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.6g}" for k, v in metrics.items())


def table(expected: dict) -> str:
    rows = [
        "| script | what it trains | stands for | torch full | torch quick | seconds full/quick |",
        "|---|---|---|---|---|---|",
    ]
    for script in sorted(SCRIPTS.glob("*.py")):
        entry = expected.get(script.name)
        if entry is None:
            continue
        summary, stands = docstring_facts(script)
        rows.append(
            f"| `{script.name}` | {summary} | {stands} | {fmt(entry['full']['metrics'])} "
            f"| {fmt(entry['quick']['metrics'])} "
            f"| {entry['full']['seconds']:.1f} / {entry['quick']['seconds']:.1f} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prefixes", nargs="*", help="only scripts whose name starts with these")
    parser.add_argument("--table", action="store_true", help="print the README table and stop")
    parser.add_argument("--check-threads", action="store_true")
    args = parser.parse_args()

    expected = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
    if args.table:
        print(table(expected))
        return 0
    import torch  # the oracle's version is part of the record

    scripts = sorted(SCRIPTS.glob("*.py"))
    if args.prefixes:
        scripts = [s for s in scripts if s.name.startswith(tuple(args.prefixes))]
    failures = 0
    for script in scripts:
        try:
            full = run(script, quick=False)
            quick = run(script, quick=True)
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
            print(f"FAIL {script.name}: {exc}", flush=True)
            failures += 1
            continue
        expected[script.name] = {"torch": torch.__version__, "full": full, "quick": quick}
        print(
            f"{script.name}: full {fmt(full['metrics'])} ({full['seconds']} s); "
            f"quick {fmt(quick['metrics'])} ({quick['seconds']} s)",
            flush=True,
        )
        if args.check_threads:
            again = run(script, quick=True, threads=None)
            if again["metrics"] != quick["metrics"]:
                print(f"  thread-dependent: {fmt(again['metrics'])}", flush=True)
        EXPECTED.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
