"""``elman train``: train a built-in task, with checkpoints, metrics and a progress bar."""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from .tasks import TASKS, SequenceModel, Task

# per-task defaults: `elman train sine` with no flags finishes in about a minute here
DEFAULTS: dict[str, dict[str, Any]] = {
    "sine": dict(
        epochs=40,
        batch_size=32,
        lr=3e-3,
        hidden_size=32,
        num_layers=1,
        seq_len=40,
        nonlinearity="tanh",
        clip=1.0,
        optimizer="adam",
    ),
    "adding": dict(
        epochs=40,
        batch_size=32,
        lr=1e-3,
        hidden_size=100,
        num_layers=1,
        seq_len=100,
        nonlinearity="relu",
        clip=1.0,
        optimizer="adam",
        stop_below=0.002,
    ),
    "text": dict(
        epochs=10,
        batch_size=32,
        lr=2e-3,
        hidden_size=256,
        num_layers=1,
        seq_len=64,
        nonlinearity="tanh",
        clip=1.0,
        optimizer="adam",
    ),
}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train a built-in task (sine, adding, text) and save a checkpoint",
        description=(
            "Train an RNN + Linear model on a task generated in code (no downloads): "
            "'sine' forecasts noisy sums of sine waves (vs the last-value baseline); "
            "'adding' is the adding problem (vs always answering 1); 'text' is a "
            "character-level language model on --data FILE (vs character frequencies). "
            "Writes OUT/checkpoint (safetensors weights + state), OUT/metrics.json and "
            "OUT/loss.png (with matplotlib). Ctrl-C saves a checkpoint; --resume continues "
            "exactly where the run stopped. Unset options take per-task defaults."
        ),
    )
    p.add_argument("task", choices=sorted(TASKS), help="what to train")
    p.add_argument("--out", type=Path, help="output directory (default: runs/TASK)")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    p.add_argument("--epochs", type=int, help="epochs (adding: evaluations, --eval-every apart)")
    p.add_argument("--batch-size", type=int, help="sequences per step")
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument(
        "--optimizer", choices=("adam", "adamw", "sgd", "rmsprop", "adagrad"), help="optimizer"
    )
    p.add_argument("--momentum", type=float, default=0.9, help="momentum for sgd/rmsprop")
    p.add_argument("--weight-decay", type=float, default=0.0, help="weight decay")
    p.add_argument("--clip", type=float, help="clip the gradient norm to this (0: off)")
    p.add_argument("--hidden-size", type=int, help="RNN hidden size")
    p.add_argument("--num-layers", type=int, help="stacked RNN layers")
    p.add_argument("--nonlinearity", choices=("tanh", "relu"), help="RNN activation")
    p.add_argument(
        "--init",
        choices=("default", "identity"),
        default="default",
        help="'identity': the IRNN recipe (W_hh = I, zero biases, small W_ih)",
    )
    p.add_argument("--dropout", type=float, default=0.0, help="dropout between RNN layers")
    p.add_argument("--seq-len", type=int, help="time steps per example")
    p.add_argument("--seed", type=int, default=0, help="seed for data, weights and dropout")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument(
        "--checkpoint-every", type=int, default=200, help="also save every N steps (0: per epoch)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--stop-below", type=float, help="stop once the validation loss is below this")
    # task-specific
    p.add_argument("--horizon", type=int, default=5, help="sine: values to forecast")
    p.add_argument("--series", type=int, default=2000, help="sine: number of series")
    p.add_argument("--noise", type=float, default=0.05, help="sine: noise std")
    p.add_argument("--eval-every", type=int, default=500, help="adding: steps per evaluation")
    p.add_argument("--data", type=Path, help="text: a UTF-8 text file to learn")
    p.add_argument("--embed-size", type=int, default=32, help="text: character embedding size")
    p.set_defaults(run=run)


def fill_defaults(args: argparse.Namespace) -> argparse.Namespace:
    for key, value in DEFAULTS[args.task].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.out is None:
        args.out = Path("runs") / args.task
    return args


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


def evaluate(model: SequenceModel, task: Task, batch: int = 256) -> float:
    import elman

    x, y = task.validation()
    model.eval()
    total, count = 0.0, 0
    with elman.no_grad():
        for i in range(0, len(x), batch):
            pred, _ = model(elman.tensor(x[i : i + batch]))
            n = len(x[i : i + batch])
            total += float(task.loss(pred, y[i : i + batch]).item()) * n
            count += n
    model.train()
    return total / count


class Run:
    """The state of one training run: what a checkpoint holds besides weights."""

    def __init__(self, args: argparse.Namespace) -> None:
        import elman

        self.args = args
        if args.task == "text" and args.resume:
            vocab = _saved_vocab(args.out)
            self.task: Task = TASKS["text"](args, vocab=vocab)
        else:
            self.task = TASKS[args.task](args)
        elman.manual_seed(args.seed)
        self.config = self.task.model_config()
        self.model = SequenceModel(self.config)
        self.optimizer = make_optimizer(args, self.model.parameters())
        self.epoch, self.position, self.step = 0, 0, 0
        self.loss_sum, self.loss_count = 0.0, 0
        self.history: list[dict[str, Any]] = []
        self.step_losses: list[float] = []
        self.baseline = self.task.baseline()
        self.elapsed = 0.0

    def extra(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "args": {
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in vars(self.args).items()
                if k != "run"
            },
            "epoch": self.epoch,
            "position": self.position,
            "step": self.step,
            "loss_sum": self.loss_sum,
            "loss_count": self.loss_count,
            "history": self.history,
            "step_losses": self.step_losses,
            "baseline": self.baseline,
            "elapsed": self.elapsed,
        }

    def save(self) -> None:
        from elman.io import save_checkpoint

        save_checkpoint(
            self.args.out / "checkpoint",
            model=self.model,
            optimizer=self.optimizer,
            extra=self.extra(),
        )

    def restore(self) -> None:
        from elman.io import load_checkpoint

        path = self.args.out / "checkpoint"
        from elman.io import CheckpointError

        try:
            extra = load_checkpoint(path, restore_rng=False)["extra"]
            if extra["config"] != self.config:
                raise SystemExit(
                    "elman train: --resume with a different model configuration than the saved "
                    f"run ({path}); use the same flags or another --out"
                )
            load_checkpoint(path, model=self.model, optimizer=self.optimizer)
        except FileNotFoundError:
            raise SystemExit(
                f"elman train: --resume, but there is no checkpoint at {path}"
            ) from None
        except CheckpointError as exc:
            raise SystemExit(f"elman train: cannot resume from {path}: {exc}") from None
        for key in (
            "epoch",
            "position",
            "step",
            "loss_sum",
            "loss_count",
            "history",
            "step_losses",
            "elapsed",
        ):
            setattr(self, key, extra[key])


def _saved_vocab(out: Path) -> str | None:
    try:
        meta = json.loads((out / "checkpoint" / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    return _find_key(meta, "vocab")


def _find_key(tree: Any, key: str) -> Any:
    if isinstance(tree, dict):
        if key in tree and isinstance(tree[key], str):
            return tree[key]
        for v in tree.values():
            found = _find_key(v, key)
            if found is not None:
                return found
    elif isinstance(tree, list):
        for v in tree:
            found = _find_key(v, key)
            if found is not None:
                return found
    return None


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


def write_metrics(run: Run) -> None:
    out = run.args.out
    payload = {
        "task": run.args.task,
        "baseline": run.baseline,
        "baseline_kind": (run.task.baseline.__doc__ or "").strip(),
        "epochs": run.history,
        "step_losses": run.step_losses,
        "seconds": run.elapsed,
    }
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(payload, indent=1))
    tmp.replace(out / "metrics.json")


def plot(run: Run) -> str | None:
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
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(f"elman train {run.args.task}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(run.args.out / "loss.png", dpi=100)
    plt.close(fig)
    return None


def run(args: argparse.Namespace) -> int:
    args = fill_defaults(args)
    args.out.mkdir(parents=True, exist_ok=True)
    state = Run(args)
    if args.resume:
        state.restore()
        print(f"resuming {args.task} at epoch {state.epoch + 1}, step {state.step}")
    from tqdm import tqdm

    task = state.task
    total = args.epochs * task.steps_per_epoch
    bar = tqdm(
        total=total,
        initial=state.step,
        disable=args.no_progress,
        unit="step",
        dynamic_ncols=True,
        desc=args.task,
    )
    started = time.perf_counter() - state.elapsed
    try:
        while state.epoch < args.epochs:
            while state.position < task.steps_per_epoch:
                x, y = task.batch(state.epoch, state.position)
                loss = train_step(state, x, y)
                if not math.isfinite(loss):
                    raise SystemExit(
                        f"elman train: the loss became {loss} at step {state.step}; try a lower "
                        "--lr or --clip"
                    )
                state.position += 1
                state.step += 1
                state.loss_sum += loss
                state.loss_count += 1
                state.step_losses.append(loss)
                bar.update(1)
                bar.set_postfix(epoch=state.epoch + 1, loss=f"{loss:.4g}")
                if args.checkpoint_every and state.step % args.checkpoint_every == 0:
                    state.elapsed = time.perf_counter() - started
                    state.save()
            val = evaluate(state.model, task)
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
            state.save()
            write_metrics(state)
            bar.write(
                f"epoch {state.epoch}/{args.epochs}: train {state.history[-1]['train_loss']:.5g}"
                f"  val {val:.5g}  baseline {state.baseline:.5g}"
            )
            if args.stop_below is not None and val < args.stop_below:
                bar.write(f"validation loss {val:.5g} < --stop-below {args.stop_below}: done")
                break
    except KeyboardInterrupt:
        bar.close()
        state.elapsed = time.perf_counter() - started
        state.save()
        write_metrics(state)
        print(
            f"\ninterrupted: checkpoint saved in {args.out / 'checkpoint'}; "
            f"continue with the same command and --resume"
        )
        return 130
    bar.close()
    write_metrics(state)  # also when a resumed run had nothing left to do
    note = plot(state)
    final = state.history[-1]["val_loss"] if state.history else float("nan")
    print(
        f"done in {state.elapsed:.1f} s: validation loss {final:.5g}, baseline "
        f"{state.baseline:.5g} ({state.baseline / final:.1f}x better)"
    )
    print(
        f"wrote {args.out / 'checkpoint'}, {args.out / 'metrics.json'}"
        + ("" if note else f", {args.out / 'loss.png'}")
    )
    if note:
        print(note)
    return 0
