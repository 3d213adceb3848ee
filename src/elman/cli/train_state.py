"""The state of one ``elman train`` run and how it reaches the disk.

``OUT/checkpoint`` holds everything needed to continue (weights, optimizer, RNG, counters,
history, the run's flags); ``OUT/best`` the weights of the epoch with the lowest validation
loss; ``OUT/metrics.json`` the history. Every write is atomic (a temporary sibling renamed
into place), so a kill or a full disk leaves the previous version complete. Weights that are
not finite are never written.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import UserError, os_reason
from .tasks import TASKS, SequenceModel, Task
from .train_config import run_identity


@dataclass(eq=False)
class Progress:
    """How far a run is: the counters a checkpoint's ``extra`` holds, under these names.

    Fields marked ``optional`` may be missing from a checkpoint written by an older
    version (their default is used); the others must be there."""

    epoch: int = 0  # epochs finished
    position: int = 0  # batches done in the current epoch
    step: int = 0  # batches done in all
    loss_sum: float = 0.0  # training loss summed over the current epoch's batches
    loss_count: int = 0  # ... and how many
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per epoch
    step_losses: list[float] = field(default_factory=list)  # every batch's loss
    elapsed: float = field(default=0.0, metadata={"optional": True})  # training seconds

    def progress(self) -> dict[str, Any]:
        """The counters by name (the lists themselves, not copies)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(Progress)}

    def set_progress(self, saved: dict[str, Any]) -> None:
        """Take the counters from a checkpoint's ``extra``."""
        for f in dataclasses.fields(Progress):
            if f.name in saved or not f.metadata.get("optional"):
                setattr(self, f.name, saved[f.name])
            else:
                setattr(self, f.name, f.default)


def make_optimizer(args: argparse.Namespace, params: Any) -> Any:
    from elman import optim

    wd = args.weight_decay
    if args.optimizer == "adam":
        return optim.Adam(params, lr=args.lr, weight_decay=wd)
    if args.optimizer == "adamw":
        return optim.AdamW(params, lr=args.lr, weight_decay=wd)
    if args.optimizer == "sgd":
        return optim.SGD(params, lr=args.lr, momentum=args.momentum, weight_decay=wd)
    if args.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=args.lr, momentum=args.momentum, weight_decay=wd)
    return optim.Adagrad(params, lr=args.lr, weight_decay=wd)


class Run(Progress):
    """Task, model, optimizer and the counters (:class:`Progress`) of one run: what a
    checkpoint holds."""

    def __init__(self, args: argparse.Namespace, vocab: str | None = None) -> None:
        import elman

        self.args = args
        self.task: Task = TASKS[args.task](args, vocab=vocab)
        elman.manual_seed(args.seed)
        self.config = self.task.model_config()
        try:
            self.model = SequenceModel(self.config)
            self.optimizer = make_optimizer(args, self.model.parameters())
        except (ValueError, TypeError) as exc:  # a configuration the library refuses
            raise UserError(f"cannot build the model: {exc}") from None
        super().__init__()  # the counters at zero
        self.baseline = self.task.baseline()
        self.saved_step: int | None = None  # the step of the checkpoint on disk

    @property
    def best(self) -> dict[str, Any] | None:
        """The history entry with the lowest validation loss (the first one on ties)."""
        if not self.history:
            return None
        return min(self.history, key=lambda h: h["val_loss"])

    def finished(self) -> bool:
        if self.epoch >= self.args.epochs:
            return True
        stop = self.args.stop_below
        return stop is not None and bool(self.history) and self.history[-1]["val_loss"] < stop

    def extra(self) -> dict[str, Any]:
        flags = {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(self.args).items()
            if k not in ("run", "command")
        }
        return {
            "config": self.config,
            "run": run_identity(self.args),
            "args": flags,
            **self.progress(),
            "baseline": self.baseline,
        }

    def _weights_finite(self) -> bool:
        return all(bool(np.isfinite(p.detach().numpy()).all()) for p in self.model.parameters())

    def save(self) -> None:
        """Write OUT/checkpoint; refuse non-finite weights (the last good one stays)."""
        from elman.io import save_checkpoint

        if not self._weights_finite():
            raise UserError(self.nan_message("the weights became NaN/inf"))
        path = self.args.out / "checkpoint"
        try:
            save_checkpoint(path, model=self.model, optimizer=self.optimizer, extra=self.extra())
        except OSError as exc:
            raise UserError(f"cannot write {path}: {os_reason(exc)}; {self.kept()}") from None
        self.saved_step = self.step

    def save_best(self) -> None:
        """Write OUT/best: the model, its configuration, epoch and validation loss."""
        from elman.io import save_checkpoint

        best = self.best
        assert best is not None
        path = self.args.out / "best"
        extra = {"config": self.config, "run": run_identity(self.args), **best}
        try:
            save_checkpoint(path, model=self.model, extra=extra, rng=False)
        except OSError as exc:
            raise UserError(f"cannot write {path}: {os_reason(exc)}; {self.kept()}") from None

    def kept(self) -> str:
        where = self.args.out / "checkpoint"
        if self.saved_step is None:
            return "nothing was saved"
        return f"the previous checkpoint (step {self.saved_step}) is kept in {where}"

    def nan_message(self, what: str) -> str:
        return (
            f"{what} at step {self.step} (epoch {self.epoch + 1}): stopped; "
            f"{self.kept()}; try a lower --lr, or --clip"
        )

    def restore(self) -> None:
        """Load OUT/checkpoint into this run: weights, optimizer, RNG and counters."""
        from elman.io import CheckpointError, load_checkpoint

        path = self.args.out / "checkpoint"
        try:
            loaded = load_checkpoint(path, model=self.model, optimizer=self.optimizer)
        except (CheckpointError, OSError) as exc:
            raise UserError(f"cannot resume from {path}: {exc}") from None
        self.set_progress(loaded["extra"])
        self.saved_step = self.step


def write_metrics(run: Run) -> None:
    out = run.args.out
    best = run.best
    payload = {
        "task": run.args.task,
        "baseline": run.baseline,
        "baseline_kind": (run.task.baseline.__doc__ or "").strip(),
        "best": None
        if best is None
        else {"epoch": best["epoch"], "step": best["step"], "val_loss": best["val_loss"]},
        "epochs": run.history,
        "step_losses": run.step_losses,
        "seconds": run.elapsed,
    }
    _write_file(out / "metrics.json", json.dumps(payload, indent=1).encode())


def _write_file(path: Path, data: bytes) -> None:
    from elman.io._atomic import atomic_write_file

    try:
        atomic_write_file(path, data)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {os_reason(exc)}") from None


def plot(run: Run) -> str | None:
    """Write OUT/loss.png; returns a note instead when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "loss.png skipped: matplotlib is not installed (pip install 'elman[plot]')"
    epochs = [h["epoch"] for h in run.history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, [h["train_loss"] for h in run.history], label="train")
    ax.plot(epochs, [h["val_loss"] for h in run.history], label="validation")
    ax.axhline(run.baseline, color="gray", linestyle="--", label="baseline")
    best = run.best
    if best is not None:
        ax.plot([best["epoch"]], [best["val_loss"]], "o", color="C1", label="best")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(f"elman train {run.args.task}")
    ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    _write_file(run.args.out / "loss.png", buffer.getvalue())
    return None
