"""The long kill -9 campaign of ``elman train`` (not collected by pytest; minutes long).

    PYTHONPATH=src python tests/reliability/campaign_kill.py --kills 120 --json kill.json

One uninterrupted run is the reference. Then, over and over: a fresh run folder, a run that
is SIGKILLed (after a random delay, or as soon as a chosen save is seen in progress:
checkpoint files being written, a checkpoint between its two commit renames, best/ being
written, metrics.json being written), a check that every checkpoint in the folder loads
and verifies, then ``--resume`` (or a fresh start when the kill came before the first
save), killed again up to ``--per-run`` times, and finally resumed to the end. Every
finished run must equal the reference bit for bit: last and best weights, every step's
loss, every epoch's losses. Prints a summary and writes it as JSON.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kill_harness import (  # noqa: E402
    CONFIG,
    SAVE_MARKS,
    Result,
    check_after_kill,
    run_to_end,
    start_and_kill,
)

# saves per run of CONFIG: the checkpoint before the first step, every 3 of the 30 steps and
# at each of the 3 epochs' ends (mostly the same step); best/ and metrics.json once per epoch
SAVES_PER_RUN = {"checkpoint": 12, "best": 3, "metrics": 3}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=120, help="SIGKILLs to deliver")
    parser.add_argument("--per-run", type=int, default=4, help="most kills before a run ends")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="where to write the summary")
    parser.add_argument("--workdir", type=Path, help="default: a temporary folder")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="elman-kill-"))
    work.mkdir(parents=True, exist_ok=True)

    t0 = time.monotonic()
    run_to_end(work / "reference")
    reference = Result.read(work / "reference")
    duration = time.monotonic() - t0
    print(f"reference run: {duration:.1f} s, {len(reference.step_losses)} steps", flush=True)

    kills = 0
    hits: collections.Counter[str] = collections.Counter()
    states: collections.Counter[str] = collections.Counter()
    corrupt, problems, runs, exact = 0, [], 0, 0
    started = time.monotonic()
    while kills < args.kills:
        out = work / f"run{runs:04d}"
        shutil.rmtree(out, ignore_errors=True)
        resume = False
        for _ in range(args.per_run):
            if kills >= args.kills:
                break
            if rng.random() < 0.4:
                hit = start_and_kill(out, resume, delay=rng.uniform(0.0, duration))
            else:
                mark = rng.choice(sorted(SAVE_MARKS))
                skip = rng.randrange(0, SAVES_PER_RUN[mark.split("-")[0]])
                hit = start_and_kill(out, resume, marks=(mark,), skip=skip)
            if hit == "finished":
                break
            kills += 1
            hits[hit] += 1
            check = check_after_kill(out)
            states[f"checkpoint {check.checkpoint}"] += 1
            states[f"best {check.best}"] += 1
            if check.problems:
                corrupt += 1
                problems.append({"run": runs, "kill": kills, "problems": check.problems})
            resume = check.checkpoint in ("ok", "recovered")
        else:
            hit = ""
        if hit != "finished":
            run_to_end(out, *(["--resume"] if resume else []))
        runs += 1
        same = Result.read(out).same_as(reference)
        exact += same
        if not same:
            problems.append({"run": runs - 1, "problems": ["differs from the reference"]})
        else:
            shutil.rmtree(out, ignore_errors=True)
        print(
            f"kills {kills}/{args.kills}  runs {runs}  exact {exact}/{runs}  corrupt {corrupt}"
            f"  ({time.monotonic() - started:.0f} s)",
            flush=True,
        )

    summary = {
        "config": CONFIG,
        "kills": kills,
        "runs": runs,
        "exact_resumes": exact,
        "corrupt_after_kill": corrupt,
        "kills_by_moment": dict(sorted(hits.items())),
        "states_after_kill": dict(sorted(states.items())),
        "problems": problems,
        "seconds": round(time.monotonic() - started, 1),
        "reference_run_seconds": round(duration, 2),
        "seed": args.seed,
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    ok = corrupt == 0 and exact == runs
    if ok and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
