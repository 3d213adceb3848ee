"""``elman train``: train a built-in task, with checkpoints, metrics and a progress bar.

The run's life: check the flags and the --out folder; build the task and model; write a
checkpoint before the first step (so a kill at any moment can be resumed); train, saving
every ``--checkpoint-every`` steps and at every epoch's end (best weights first, then the
checkpoint, then metrics.json). Ctrl-C is honoured between two steps (never inside one) and
saves; a second Ctrl-C stops at once. A loss or weights that become NaN/inf stop the run
with the last good checkpoint left in place.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import EXIT_INTERRUPTED, UserError, check_memory, os_reason
from ._interrupts import Interrupts
from ._outdir import OutFolder, clear_run, inspect
from ._report import versus
from .train_config import (
    CHANGEABLE,
    add_arguments,
    check_data,
    differences,
    flag_name,
    memory_estimate,
    resolve,
    run_identity,
)
from .train_state import Run, plot, write_metrics


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train a built-in task (sine, adding, text) and save a checkpoint",
        description=(
            "Train an RNN + Linear model on a task generated in code (no downloads): "
            "'sine' forecasts noisy sums of sine waves (vs the last-value baseline); "
            "'adding' is the adding problem (vs always answering 1); 'text' is a "
            "character-level language model on --data FILE (vs character frequencies). "
            "Writes OUT/checkpoint (the last state), OUT/best (the weights of the best "
            "validation loss), OUT/metrics.json and OUT/loss.png (with matplotlib). "
            "Ctrl-C saves a checkpoint; --resume continues exactly where the run stopped, "
            "with the run's own flags (only --epochs, --stop-below, --checkpoint-every and "
            "--no-progress may change). Unset flags take the per-task defaults shown below."
        ),
    )
    add_arguments(p)
    p.set_defaults(run=run)


def train_step(run: Run, x: np.ndarray, y: np.ndarray) -> float:
    import elman
    from elman.nn.utils import clip_grad_norm_

    pred, _ = run.model(elman.tensor(x))
    loss = run.task.loss(pred, y)
    run.optimizer.zero_grad()
    loss.backward()
    if run.args.clip:
        clip_grad_norm_(run.model.parameters(), run.args.clip)
    run.optimizer.step()
    return float(loss.item())


def evaluate(run: Run, batch: int = 256) -> float:
    import elman

    x, y = run.task.validation()
    run.model.eval()
    total, count = 0.0, 0
    with elman.no_grad():
        for i in range(0, len(x), batch):
            pred, _ = run.model(elman.tensor(x[i : i + batch]))
            n = len(x[i : i + batch])
            total += float(run.task.loss(pred, y[i : i + batch]).item()) * n
            count += n
    run.model.train()
    return total / count


class _Stop(Exception):
    """Ctrl-C was honoured at a step boundary."""


def prepare(args: argparse.Namespace) -> tuple[argparse.Namespace, OutFolder]:
    """Resolve the flags against the defaults or the saved run and check the --out folder."""
    out = inspect(args.out if args.out is not None else _default_out(args))
    args.out = out.path
    if args.resume and args.overwrite:
        raise UserError("--resume continues the run in --out, --overwrite replaces it: pick one")
    if args.resume:
        if out.kind != "run":
            raise UserError(_no_run_to_resume(out))
        saved = out.saved or {}
        flags = saved.get("args", {})
        if flags.get("task", args.task) != args.task:
            raise UserError(
                f"--resume: {out.path} holds a {flags['task']} run, not {args.task}; "
                f"use 'elman train {flags['task']} --resume' or another --out"
            )
        args = resolve(args, flags)
        check_data(args)
        conflicts = differences(saved.get("run", {}), run_identity(args))
        if conflicts:
            raise UserError(
                f"--resume keeps the run's own configuration, and {out.path} was trained with "
                + "; ".join(conflicts)
                + f" (only {', '.join(flag_name(k) for k in CHANGEABLE)} may change); "
                "start a new run with another --out, or --overwrite"
            )
        return args, out
    args = resolve(args)
    check_data(args)
    if out.kind == "run" and not args.overwrite:
        if _finished_same_run(out, args):
            args.resume = True  # nothing to train: the resume path reports the run as it is
            args.again = True
            return args, out
        raise UserError(_occupied(out, args))
    if out.kind == "broken" and not args.overwrite:
        raise UserError(
            f"{out.path} holds a run that cannot be continued ({out.problem}); "
            "--overwrite replaces it, or choose another --out"
        )
    if out.kind == "foreign" and not args.overwrite:
        raise UserError(
            f"--out {out.path} already holds other files ({', '.join(out.foreign[:3])}); "
            "choose a new or empty folder (or --overwrite to write elman's files among them)"
        )
    return args, out


def _default_out(args: argparse.Namespace) -> Path:
    return Path("runs") / args.task


def _no_run_to_resume(out: OutFolder) -> str:
    if out.kind == "broken":
        return f"cannot resume from {out.path}: {out.problem}"
    if out.kind == "foreign":
        return f"--resume: {out.path} holds no elman run (it holds {', '.join(out.foreign[:3])})"
    return (
        f"--resume: there is no checkpoint in {out.path} (the run stopped before its first "
        "save, or never started); run the command without --resume"
    )


def _finished_same_run(out: OutFolder, args: argparse.Namespace) -> bool:
    """Whether ``out`` holds this very run (same identity and length), finished: running
    the same command again then reports it instead of refusing or training it again."""
    saved = out.saved or {}
    flags = saved.get("args", {})
    if flags.get("task") != args.task or flags.get("epochs") != args.epochs:
        return False
    if differences(saved.get("run", {}), run_identity(args)):
        return False
    stop = flags.get("stop_below")
    history = saved.get("history") or []
    below = stop is not None and bool(history) and history[-1].get("val_loss", stop) < stop
    return saved.get("epoch", 0) >= args.epochs or below


def _occupied(out: OutFolder, args: argparse.Namespace) -> str:
    saved = out.saved or {}
    flags = saved.get("args", {})
    done, total = saved.get("epoch", 0), flags.get("epochs", "?")
    if flags.get("task") != args.task:
        what = f"a {flags.get('task')} run"
    else:
        diff = differences(saved.get("run", {}), run_identity(args))
        if not diff:
            return (
                f"{out.path} already holds this run ({done} of {total} epochs done); continue "
                "it with --resume (add --epochs N to change its length), or start it again "
                "with --overwrite"
            )
        what = "a different run (" + "; ".join(diff[:4]) + ")"
    return f"{out.path} holds {what}; choose another --out, or --overwrite to replace it"


def run(args: argparse.Namespace) -> int:
    args, out = prepare(args)
    check_memory(memory_estimate(args), "these sizes")
    vocab = None
    if args.resume:
        vocab = (out.saved or {}).get("config", {}).get("vocab")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        if args.overwrite:
            clear_run(args.out)
    except OSError as exc:
        raise UserError(f"cannot create --out {args.out}: {os_reason(exc)}") from None
    state = Run(args, vocab=vocab)
    with Interrupts() as interrupts:
        if args.resume:
            state.restore()
            if not _check_resume_length(state):
                return _report(state)  # the report again: metrics.json, loss.png
            _say(None, f"resuming {args.task} at epoch {state.epoch + 1}, step {state.step}")
        else:
            with interrupts.save_window():
                state.save()  # before any step: a kill from now on can be resumed
        try:
            # overflow to inf/NaN is handled by the checks of the loop, not warned about
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                _loop(state, interrupts)
        except _Stop:
            return _interrupted(state, interrupts)
        except KeyboardInterrupt:
            print(
                f"elman train: {interrupts.word} again: stopped without saving; {state.kept()}",
                file=sys.stderr,
            )
            return interrupts.exit_code
    try:
        return _report(state)
    except KeyboardInterrupt:
        print(
            f"elman train: interrupted after training finished; {args.out / 'checkpoint'} and "
            f"{args.out / 'best'} are complete (--resume writes the report again)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


def _check_resume_length(state: Run) -> bool:
    """False when the resumed run has nothing left to do (it is reported as it is)."""
    if state.epoch > state.args.epochs:
        raise UserError(
            f"--epochs {state.args.epochs}: the run in {state.args.out} has done "
            f"{state.epoch} epochs already; give more to train it longer"
        )
    if not state.finished():
        return True
    longer = "--resume --epochs N" if getattr(state.args, "again", False) else "--epochs N"
    if state.epoch >= state.args.epochs:
        why = f"its {state.epoch} epochs are done; {longer} (more) trains it longer"
    else:
        why = (
            f"its validation loss went below --stop-below {state.args.stop_below}; a lower "
            "--stop-below trains it longer"
        )
    print(f"the run in {state.args.out} is already finished: {why}")
    return False


def _loop(state: Run, interrupts: Interrupts) -> None:
    from tqdm import tqdm

    args, task = state.args, state.task
    show = not args.no_progress and sys.stderr.isatty()
    bar = tqdm(
        total=args.epochs * task.steps_per_epoch,
        initial=state.step,
        disable=not show,
        unit="step",
        dynamic_ncols=True,
        desc=args.task,
        file=sys.stderr,
    )
    started = time.perf_counter() - state.elapsed
    try:
        while not state.finished():
            if interrupts.requested:
                raise _Stop
            while state.position < task.steps_per_epoch:
                x, y = task.batch(state.epoch, state.position)
                loss = train_step(state, x, y)
                if not math.isfinite(loss):
                    raise UserError(state.nan_message(f"the loss became {loss}"))
                state.position += 1
                state.step += 1
                state.loss_sum += loss
                state.loss_count += 1
                state.step_losses.append(loss)
                bar.update(1)
                if show:
                    bar.set_postfix(epoch=state.epoch + 1, loss=f"{loss:.4g}", refresh=False)
                if args.checkpoint_every and state.step % args.checkpoint_every == 0:
                    state.elapsed = time.perf_counter() - started
                    with interrupts.save_window():
                        state.save()
                if interrupts.requested:
                    raise _Stop
            _end_epoch(state, interrupts, started, bar if show else None)
    finally:
        state.elapsed = time.perf_counter() - started
        bar.close()


def _end_epoch(state: Run, interrupts: Interrupts, started: float, bar: Any) -> None:
    val = evaluate(state)
    if not math.isfinite(val):
        raise UserError(state.nan_message(f"the validation loss became {val}"))
    state.history.append(
        {
            "epoch": state.epoch + 1,
            "step": state.step,
            "train_loss": state.loss_sum / max(state.loss_count, 1),
            "val_loss": val,
            "baseline": state.baseline,
        }
    )
    state.epoch, state.position = state.epoch + 1, 0
    state.loss_sum, state.loss_count = 0.0, 0
    state.elapsed = time.perf_counter() - started
    with interrupts.save_window():
        if state.best is state.history[-1]:
            state.save_best()  # first: a kill before the checkpoint redoes this epoch
        state.save()
        write_metrics(state)
    best = "  (best so far)" if state.best is state.history[-1] else ""
    _say(
        bar,
        f"epoch {state.epoch}/{state.args.epochs}: train {state.history[-1]['train_loss']:.5g}"
        f"  val {val:.5g}  baseline {state.baseline:.5g}{best}",
    )
    stop = state.args.stop_below
    if stop is not None and val < stop:
        _say(bar, f"validation loss {val:.5g} < --stop-below {stop}: done")


def _say(bar: Any, line: str) -> None:
    if bar is not None:
        bar.write(line)
    else:
        print(line, flush=True)


def _interrupted(state: Run, interrupts: Interrupts) -> int:
    with interrupts.save_window():
        if state.saved_step != state.step:
            state.save()
        write_metrics(state)
    sys.stdout.flush()
    print(
        f"elman train: {interrupts.word} at step {state.step}: checkpoint saved in "
        f"{state.args.out / 'checkpoint'}; continue with --resume",
        file=sys.stderr,
    )
    return interrupts.exit_code


def _report(state: Run) -> int:
    args = state.args
    write_metrics(state)
    note = plot(state)
    best = state.best
    if best is None:  # cannot happen: --epochs >= 1
        return 0
    last = state.history[-1]
    print(
        f"done in {state.elapsed:.1f} s: best validation loss {best['val_loss']:.5g} at epoch "
        f"{best['epoch']} of {last['epoch']}"
        + ("" if best is last else f" (last epoch: {last['val_loss']:.5g})")
        + f", {versus(best['val_loss'], state.baseline)}"
    )
    files = [args.out / "checkpoint", args.out / "best", args.out / "metrics.json"]
    if note is None:
        files.append(args.out / "loss.png")
    print(f"wrote {', '.join(str(f) for f in files)}")
    if note:
        print(note)
    return 0
