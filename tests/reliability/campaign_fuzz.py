"""The long fuzzing campaign (not collected by pytest): every public entry point of elman run
side by side with torch on property-generated valid and invalid arguments. Prints a JSON
summary: cases per entry point, crashes, hangs, undocumented exception types, silent
differences (NaN/inf cases counted apart), and the documented differences that applied.

    PYTHONPATH=src python tests/reliability/campaign_fuzz.py --cases 20000 --seed 1 \
        --log runs/fuzz-seed1.jsonl

With ``--log``, each target's result is appended to that file as soon as it is done, so a
campaign stopped midway keeps what it found; the same command with ``--resume`` runs only
the targets not in the log yet, and the summary covers all of them.

Each group of targets runs in its own worker process, so that a crash (a signal, a hard
exit) is counted rather than ending the campaign; a case has a time bound, and a worker a
bound for all its cases. See docs/reliability.md, "Fuzzing the public boundary".
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def worker(names: list[str], per_target: int, seed: int, show: int, log: str) -> None:
    """Run the named targets in this process; one JSON line per target on stdout (and
    appended to ``log``, if given, the moment the target is done)."""
    from fuzz_targets import ALL

    by_name = {t.name: t for t in ALL}
    for name in names:
        print(json.dumps({"start": name}), flush=True)
        line = json.dumps(run_one(by_name[name], per_target, seed, show))
        if log:
            with open(log, "a", encoding="utf-8") as f:  # one short write per line
                f.write(line + "\n")
        print(line, flush=True)


def _logged(log: str) -> dict[str, Any]:
    """The targets already done in ``log`` (a campaign stopped midway), by name."""
    done: dict[str, Any] = {}
    if log and os.path.exists(log):
        with open(log, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    done[rec["target"]] = rec
    return done


def run_one(target: Any, per_target: int, seed: int, show: int) -> dict[str, Any]:
    """``per_target`` generated cases of one target; counts by verdict, and a few reports."""
    from fuzz_verdict import run_target
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    stats: collections.Counter[str] = collections.Counter()
    allowed: collections.Counter[str] = collections.Counter()
    examples: list[str] = []
    slowest = [0.0]

    @settings(
        max_examples=per_target,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(args=target.strategy)
    def run(args: Any) -> None:
        try:
            v = run_target(target, args, seed=seed)
        except Exception as e:  # noqa: BLE001 - a fault of the harness, counted apart
            stats["harness"] += 1
            examples.append(f"{target.name}: harness {type(e).__name__}: {e}\n  case: {args!r}")
            return
        stats["cases"] += 1
        if v.elman is not None and v.torch is not None:
            stats["both_ok" if v.elman.ok and v.torch.ok else "torch_ran"] += 1
        stats["elman_ok" if v.elman is not None and v.elman.ok else "elman_raised"] += 1
        tag = "/nan" if v.nan else "/extreme" if v.extreme else ""
        stats[v.kind + (tag if v.kind != "ok" else "")] += 1
        if v.pending:
            stats["pending"] += 1
        if v.elman is not None and any(w.startswith("RuntimeWarning") for w in v.elman.warned):
            stats["numpy_warnings"] += 1  # (NumPy's overflow/invalid warnings reach users)
        if v.allowed:
            allowed[v.allowed] += 1
        if v.slow_first:  # past the bound once (a Numba compile under load), then finished
            stats["slow_first_run"] += 1
            examples.append(
                f"{target.name}: slow first run ({v.slow_first:.1f} s, again in "
                f"{v.elman.seconds if v.elman else 0:.1f} s, then {v.kind})\n  case: {args!r}"[
                    :2000
                ]
            )
        slowest[0] = max(slowest[0], v.elman.seconds if v.elman else 0.0)
        if v.kind != "ok" and len(examples) < show:
            examples.append(v.report(target.name, args))

    began = time.time()
    hseed(seed)(run)()
    return {
        "target": target.name,
        "seconds": round(time.time() - began, 2),
        "stats": dict(stats),
        "allowed": dict(allowed),
        "examples": examples,
        "slowest_s": round(slowest[0], 3),
    }


def _groups(names: list[str], jobs: int) -> list[list[str]]:
    groups: list[list[str]] = [[] for _ in range(max(1, jobs * 3))]
    for i, n in enumerate(names):
        groups[i % len(groups)].append(n)
    return [g for g in groups if g]


def _spawn(group: list[str], args: argparse.Namespace, per: int) -> subprocess.Popen[str]:
    cmd = [sys.executable, __file__, "--worker", ",".join(group), "--per-target", str(per)]
    cmd += ["--seed", str(args.seed), "--show", str(args.show), "--log", args.log]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=12000, help="total cases (spread over targets)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=2, help="worker processes at a time")
    p.add_argument("--only", default="", help="run targets whose name contains this")
    p.add_argument("--show", type=int, default=3, help="examples kept per target")
    p.add_argument("--worker-timeout", type=float, default=3600.0)
    p.add_argument("--log", default="", help="append each target's result to this JSONL file")
    p.add_argument("--resume", action="store_true", help="skip the targets already in --log")
    p.add_argument("--worker", default="", help=argparse.SUPPRESS)
    p.add_argument("--per-target", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args.worker.split(","), args.per_target, args.seed, args.show, args.log)
        return
    if args.log and not args.resume and os.path.exists(args.log):
        p.error(f"{args.log} exists: add --resume to continue that campaign, or remove it")

    from fuzz_targets import ALL

    names = [t.name for t in ALL if args.only in t.name]
    per = max(1, math.ceil(args.cases / max(1, len(names))))
    start = time.time()
    results: dict[str, Any] = _logged(args.log) if args.resume else {}
    names = [n for n in names if n not in results]
    crashes: list[str] = []
    pending = collections.deque(_groups(names, args.jobs))
    running: list[tuple[list[str], subprocess.Popen[str], float]] = []
    while pending or running:
        while pending and len(running) < args.jobs:
            group = pending.popleft()
            running.append((group, _spawn(group, args, per), time.time()))
        time.sleep(0.5)
        for item in list(running):
            group, proc, began = item
            if proc.poll() is None and time.time() - began < args.worker_timeout:
                continue
            if proc.poll() is None:
                proc.kill()
            out, err = proc.communicate()
            running.remove(item)
            current = None
            for line in out.splitlines():
                rec = json.loads(line) if line.startswith("{") else {}
                if "start" in rec:
                    current = rec["start"]
                elif "target" in rec:
                    results[rec["target"]] = rec
                    current = None
            if current is not None or proc.returncode != 0:
                crashes.append(
                    f"worker for {group} ended with {proc.returncode} in {current}: "
                    f"{err.strip()[-2000:]}"
                )
    result = summary(results, crashes, time.time() - start, args)
    print(json.dumps(result, indent=1))
    findings = (
        "crashes",
        "hangs",
        "undocumented_exception_types",
        "silent_differences",
        "outcome_mismatches",
        "exception_type_mismatches",
        "empty_messages",
        "harness_errors",
    )
    sys.exit(1 if any(result[k] for k in findings) else 0)  # (run_long.py reads the status)


def summary(results: dict[str, Any], crashes: list[str], seconds: float, args: Any) -> Any:
    total: collections.Counter[str] = collections.Counter()
    allowed: collections.Counter[str] = collections.Counter()
    per_entry: dict[str, int] = {}
    examples: list[str] = []
    for name, rec in sorted(results.items()):
        total.update(rec["stats"])
        allowed.update(rec["allowed"])
        per_entry[name] = rec["stats"].get("cases", 0)
        examples += rec["examples"]

    def count(kind: str) -> int:
        return sum(total.get(kind + tag, 0) for tag in ("", "/nan", "/extreme"))

    return {
        "command": "PYTHONPATH=src python tests/reliability/campaign_fuzz.py "
        f"--cases {args.cases} --seed {args.seed}" + (f" --log {args.log}" if args.log else ""),
        "seconds_this_run": round(seconds, 1),
        "seconds_in_workers": round(sum(r.get("seconds", 0.0) for r in results.values()), 1),
        "torch": os.environ.get("ELMAN_TEST_NO_TORCH", "") in ("", "0"),
        "entry_points": len(per_entry),
        "cases": total.get("cases", 0),
        "elman_succeeded": total.get("elman_ok", 0),
        "elman_refused": total.get("elman_raised", 0),
        "both_succeeded_and_compared": total.get("both_ok", 0),
        "crashes": len(crashes),
        "hangs": count("hang"),
        "slow_first_runs_that_finished_when_run_again": total.get("slow_first_run", 0),
        "undocumented_exception_types": count("undocumented"),
        "silent_differences": count("silent"),
        "outcome_mismatches": count("mismatch"),
        "exception_type_mismatches": count("type"),
        "empty_messages": count("message"),
        "harness_errors": total.get("harness", 0),
        "silent_differences_pending_other_work": total.get("pending", 0),
        "cases_where_elman_emitted_numpy_runtime_warnings": total.get("numpy_warnings", 0),
        "of_which_with_nan_or_inf": {k: v for k, v in total.items() if k.endswith("/nan")},
        "of_which_with_huge_finite_values": {
            k: v for k, v in total.items() if k.endswith("/extreme")
        },
        "documented_differences_applied": dict(allowed.most_common()),
        "cases_per_entry_point": per_entry,
        "crash_details": crashes,
        "examples": examples,
    }


if __name__ == "__main__":
    main()
