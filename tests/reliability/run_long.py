"""Every long reliability campaign in one command: the figures docs/reliability.md quotes.

    PYTHONPATH=src python tests/reliability/run_long.py                # the full profile (hours)
    PYTHONPATH=src python tests/reliability/run_long.py --smoke        # each one tiny (minutes)
    PYTHONPATH=src python tests/reliability/run_long.py --only kill,threads --logs long-logs

It finds every ``campaign_*.py`` beside it and runs each in a process of its own, one after
another (they measure time and load the machine: running two at once would make both
slower and their figures worse), with the arguments of the chosen profile below, a time
bound, and its whole output kept in ``--logs/<name>.log``. It prints one line per campaign
(exit status, seconds, the last line the campaign printed) and exits 1 if any campaign
failed, hung past its bound or could not start. A campaign that needs torch is skipped,
and said so, when torch is not installed.

Not collected by pytest (no ``test_`` prefix); tests/reliability/test_run_long.py checks
that every campaign has a profile here, so a new campaign cannot be left out of the run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: name -> (full arguments, smoke arguments or None to skip it there, needs torch)
PROFILES: dict[str, tuple[list[str], list[str] | None, bool]] = {
    "fuzz": (["--cases", "20000", "--seed", "1"], ["--cases", "330", "--seed", "1"], True),
    "kill": (["--kills", "120", "--seed", "0"], ["--kills", "4", "--seed", "0"], False),
    "memory": (["--budget-mb", "256"], ["--quick", "--part", "steps"], False),
    "nan_inf": (["--cases", "3000", "--seed", "0"], ["--cases", "20", "--no-reference"], True),
    "pt_mutations": (["--n", "18000", "--seed", "0"], ["--n", "200", "--seed", "0"], False),
    "threads": (["--calls", "1000"], ["--calls", "16"], False),
}

#: seconds a campaign may run before it counts as hung
BOUND = {"full": 6 * 3600, "smoke": 900}


def campaigns() -> list[str]:
    """The names of the campaign scripts beside this file (``campaign_<name>.py``)."""
    return sorted(p.stem.removeprefix("campaign_") for p in HERE.glob("campaign_*.py"))


def _have_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def _last_line(text: str) -> str:
    """The campaign's verdict: its last line, or its closing JSON summary on one line."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[-1] == "}":  # a summary printed with indent=1: show it compactly
        for at in range(len(lines) - 1, -1, -1):
            if lines[at] == "{":
                try:
                    summary = json.loads("\n".join(lines[at:]))
                except ValueError:
                    break
                return json.dumps(summary, separators=(",", ":"))[:200]
    return lines[-1][:200]


def run_one(name: str, profile: str, logs: Path) -> dict:
    """Run one campaign; its outcome as a dict (status, seconds, last line)."""
    full, smoke, needs_torch = PROFILES.get(name, ([], [], False))
    args = full if profile == "full" else smoke
    if args is None:
        return {"name": name, "status": "skipped", "why": f"not in the {profile} profile"}
    if needs_torch and not _have_torch():
        return {"name": name, "status": "skipped", "why": "needs torch (the oracle)"}
    cmd = [sys.executable, str(HERE / f"campaign_{name}.py"), *args]
    log = logs / f"{name}.log"
    start = time.monotonic()
    try:
        with log.open("w") as out:
            out.write("$ " + " ".join(cmd) + "\n")
            out.flush()
            done = subprocess.run(
                cmd, stdout=out, stderr=subprocess.STDOUT, timeout=BOUND[profile], env=os.environ
            )
        status = "ok" if done.returncode == 0 else f"failed (exit {done.returncode})"
    except subprocess.TimeoutExpired:
        status = f"hung (over {BOUND[profile]} s)"
    seconds = round(time.monotonic() - start, 1)
    return {
        "name": name,
        "status": status,
        "seconds": seconds,
        "command": " ".join(cmd[1:]),
        "last": _last_line(log.read_text(errors="replace")),
        "log": str(log),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny runs: does each one work")
    parser.add_argument("--only", default="", help="comma-separated campaign names")
    parser.add_argument("--logs", type=Path, default=Path("long-logs"), help="log folder")
    parser.add_argument("--json", type=Path, help="write the summary here too")
    parser.add_argument("--list", action="store_true", help="list the campaigns and stop")
    args = parser.parse_args(argv)
    names = campaigns()
    if args.list:
        for name in names:
            print(name, " ".join(PROFILES.get(name, ([], [], False))[0]))
        return 0
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"no such campaign: {', '.join(unknown)} (have: {', '.join(names)})")
        names = [n for n in names if n in wanted]
    profile = "smoke" if args.smoke else "full"
    args.logs.mkdir(parents=True, exist_ok=True)
    results = []
    for name in names:
        result = run_one(name, profile, args.logs)
        results.append(result)
        took = f"{result['seconds']:>8.1f} s" if "seconds" in result else " " * 10
        detail = result.get("last") or result.get("why", "")
        print(f"{name:<14} {result['status']:<18} {took}  {detail}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"profile": profile, "campaigns": results}, indent=1))
    failed = [r for r in results if r["status"] not in ("ok", "skipped")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
