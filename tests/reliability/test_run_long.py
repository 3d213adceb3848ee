"""The long-campaign runner knows every campaign, and its arguments are ones they accept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import run_long

HERE = Path(__file__).resolve().parent


def test_every_campaign_has_a_profile() -> None:
    """A new campaign_*.py must be given its full and smoke arguments in run_long.PROFILES
    (or it would silently run with its defaults)."""
    found = run_long.campaigns()
    assert found, "no campaign scripts found"
    assert sorted(set(found) - set(run_long.PROFILES)) == []
    assert sorted(set(run_long.PROFILES) - set(found)) == [], "a profile without its script"


def test_profile_arguments_parse() -> None:
    """Each campaign accepts the arguments of both profiles (argparse would exit 2)."""
    for name in run_long.campaigns():
        full, smoke, _ = run_long.PROFILES[name]
        for args in (full, smoke or []):
            script = HERE / f"campaign_{name}.py"
            probe = (
                "import sys, argparse, runpy\n"
                "real = argparse.ArgumentParser.parse_args\n"
                "def parse(self, args=None, namespace=None):\n"
                "    real(self, args, namespace)\n"
                "    raise SystemExit(0)\n"
                "argparse.ArgumentParser.parse_args = parse\n"
                f"sys.argv = [{str(script)!r}, *{args!r}]\n"
                f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
            )
            done = subprocess.run(
                [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, (name, args, done.stderr[-500:])


def test_unknown_campaign_is_one_clear_error(tmp_path: Path) -> None:
    cmd = [sys.executable, str(HERE / "run_long.py"), "--only", "nope", "--logs", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "no such campaign: nope" in done.stderr
