"""What an ``elman train --out`` folder holds, and clearing a run out of it.

A run folder holds ``checkpoint/`` (the last state), ``best/`` (the weights of the best
validation loss), ``metrics.json`` and ``loss.png``, plus the leftovers a killed save may
leave (``checkpoint.tmp-*``, ``checkpoint.bak-*``, ...), which the next save removes.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import UserError, os_reason

RUN_FILES = ("checkpoint", "best", "metrics.json", "loss.png")
CHECKPOINT_FILES = {"meta.json", "model.safetensors", "state.safetensors"}
_LEFTOVER = re.compile(
    r"(?:checkpoint|best|metrics\.json|loss\.png)\.(?:tmp-[0-9a-f]{16}|bak-\d{20}-[0-9a-f]{8})"
)


@dataclass
class OutFolder:
    """The state of an --out folder.

    ``kind``: ``"new"`` (missing, empty, or only leftovers of a run killed before its first
    save), ``"run"`` (a loadable checkpoint: ``saved`` is its ``extra``), ``"broken"`` (run
    outputs without a loadable checkpoint: ``problem`` says why) or ``"foreign"`` (other
    files: ``foreign`` names some).
    """

    path: Path
    kind: str
    saved: dict[str, Any] | None = None
    problem: str = ""
    foreign: list[str] = field(default_factory=list)


def inspect(path: Path) -> OutFolder:
    """Classify folder ``path`` (see :class:`OutFolder`) without changing anything."""
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {path} is a file; give a folder")
    try:
        names = sorted(p.name for p in path.iterdir()) if path.exists() else []
    except OSError as exc:
        raise UserError(f"--out {path}: cannot list it: {os_reason(exc)}") from None
    ours = [n for n in names if n in RUN_FILES]
    foreign = [n for n in names if n not in RUN_FILES and not _LEFTOVER.fullmatch(n)]
    has_checkpoint = "checkpoint" in names or any(n.startswith("checkpoint.bak-") for n in names)
    if has_checkpoint:
        from elman.io import CheckpointError, load_checkpoint

        try:
            saved = load_checkpoint(path / "checkpoint", restore_rng=False)["extra"]
        except (CheckpointError, OSError) as exc:
            return OutFolder(path, "broken", problem=str(exc))
        if not isinstance(saved, dict) or ("run" not in saved and "args" not in saved):
            problem = "its checkpoint was not written by elman train"
            return OutFolder(path, "broken", problem=problem)
        return OutFolder(path, "run", saved=saved, foreign=foreign)
    if ours:
        return OutFolder(path, "broken", problem=f"it holds {', '.join(ours)} but no checkpoint")
    if foreign:
        return OutFolder(path, "foreign", foreign=foreign)
    return OutFolder(path, "new")


def clear_run(path: Path) -> None:
    """Remove a run's own outputs from ``path`` (never other files)."""
    for name in sorted(p.name for p in path.iterdir()):
        if name not in RUN_FILES and not _LEFTOVER.fullmatch(name):
            continue
        entry = path / name
        try:
            if entry.is_dir() and not entry.is_symlink():
                stray = set(p.name for p in entry.iterdir()) - CHECKPOINT_FILES
                if stray:
                    raise UserError(
                        f"--overwrite: {entry} holds files elman did not write "
                        f"({', '.join(sorted(stray)[:3])}); move them away first"
                    )
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError as exc:
            raise UserError(f"--overwrite: cannot remove {entry}: {os_reason(exc)}") from None
