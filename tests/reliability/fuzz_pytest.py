"""The quick fuzzing run in pytest: each target for a few derandomised examples.

ELMAN_FUZZ_EXAMPLES sets the examples per target (default 20; the long campaign is
campaign_fuzz.py). Without torch (or with ELMAN_TEST_NO_TORCH=1) the same cases check
elman's own invariants: documented exception types only, and agreement with the NumPy
references where one exists.
"""

from __future__ import annotations

import os

from fuzz_targets import AREAS, Target
from fuzz_verdict import run_target
from hypothesis import HealthCheck, Phase, given, settings

EXAMPLES = int(os.environ.get("ELMAN_FUZZ_EXAMPLES", "20"))


def targets(area: str) -> list[Target]:
    return list(AREAS[area])


def ids(ts: list[Target]) -> list[str]:
    return [t.name for t in ts]


def fuzz(target: Target, examples: int = EXAMPLES) -> None:
    """Run ``target`` on derandomised cases; fail on the first verdict that is not ok."""

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @given(args=target.strategy)
    def check(args: object) -> None:
        v = run_target(target, args)
        assert v.kind == "ok" or v.pending, v.report(target.name, args)

    check()
