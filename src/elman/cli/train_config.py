"""The flags of ``elman train``, their per-task defaults, and what makes two runs the same.

Every flag's argparse default is ``None`` so that the command knows which flags the user
gave: unset flags take the task's default (:data:`DEFAULTS`, shown by ``--help``) for a new
run, and the saved run's value for ``--resume``.

A run is identified by :data:`RUN_KEYS` (task, data, model, optimizer, batch size, seed):
two runs with the same values compute the same numbers. :data:`CHANGEABLE` flags
(``--epochs``, ``--stop-below``, ``--checkpoint-every``, ``--no-progress``) may differ when
a run is resumed; any other flag given with ``--resume`` must equal the saved value.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

from ._errors import UserError, os_reason
from ._parser import integer, number, probability

TASK_NAMES = ("sine", "adding", "text")

# per-task defaults: `elman train sine` with no flags finishes in about a minute
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "sine": dict(
        epochs=40,
        batch_size=32,
        lr=3e-3,
        hidden_size=32,
        seq_len=40,
        nonlinearity="tanh",
    ),
    "adding": dict(
        epochs=40,
        batch_size=32,
        lr=1e-3,
        hidden_size=100,
        seq_len=100,
        nonlinearity="relu",
        stop_below=0.002,
    ),
    "text": dict(
        epochs=10,
        batch_size=32,
        lr=2e-3,
        hidden_size=256,
        seq_len=64,
        nonlinearity="tanh",
    ),
}
COMMON_DEFAULTS: dict[str, Any] = dict(
    num_layers=1,
    optimizer="adam",
    momentum=0.9,
    weight_decay=0.0,
    clip=1.0,
    init="default",
    dropout=0.0,
    seed=0,
    dtype="float32",
    checkpoint_every=200,
    stop_below=None,
    horizon=5,
    series=2000,
    noise=0.05,
    eval_every=500,
    embed_size=32,
    data=None,
)
DEFAULTS = {task: {**COMMON_DEFAULTS, **TASK_DEFAULTS[task]} for task in TASK_NAMES}

# flags that only one task uses: given for another task, they are refused, not ignored
TASK_FLAGS = {
    "horizon": "sine",
    "series": "sine",
    "noise": "sine",
    "eval_every": "adding",
    "data": "text",
    "embed_size": "text",
}
COMMON_RUN_KEYS = (
    "task",
    "seed",
    "dtype",
    "hidden_size",
    "num_layers",
    "nonlinearity",
    "init",
    "dropout",
    "seq_len",
    "batch_size",
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "clip",
)
TASK_RUN_KEYS = {
    "sine": ("horizon", "series", "noise"),
    "adding": ("eval_every",),
    "text": ("data_sha256", "embed_size"),
}
CHANGEABLE = ("epochs", "stop_below", "checkpoint_every", "no_progress")
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")


def _default_help(key: str) -> str:
    """``(default: 32)`` or ``(default: sine 40, adding 40, text 10)``."""
    if key in TASK_DEFAULTS["sine"] or key in TASK_DEFAULTS["adding"]:
        shown = ", ".join(
            f"{task} {'none' if DEFAULTS[task][key] is None else DEFAULTS[task][key]}"
            for task in TASK_NAMES
        )
        return f" (default: {shown})"
    value = COMMON_DEFAULTS[key]
    return f" (default: {'none' if value is None else value})"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Every flag of ``elman train``; defaults ``None`` (filled by :func:`resolve`)."""

    def arg(flag: str, help: str, **kw: Any) -> None:
        key = flag.lstrip("-").replace("-", "_")
        p.add_argument(flag, default=None, help=help + _default_help(key), **kw)

    p.add_argument("task", choices=TASK_NAMES, help="what to train: sine, adding or text")
    p.add_argument("--out", type=Path, help="output folder (default: runs/TASK)")
    p.add_argument(
        "--resume", action="store_true", help="continue the run saved in --out, as it was"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run saved in --out (its checkpoint, best/, metrics.json, loss.png)",
    )
    arg("--epochs", "epochs (adding: evaluations, --eval-every apart)", type=integer(1))
    arg("--batch-size", "sequences per step", type=integer(1))
    arg("--lr", "learning rate", type=number(above=0.0))
    arg("--optimizer", "optimizer", choices=("adam", "adamw", "sgd", "rmsprop", "adagrad"))
    arg("--momentum", "momentum of sgd/rmsprop", type=number(0.0))
    arg("--weight-decay", "weight decay", type=number(0.0))
    arg("--clip", "clip the gradient norm to this (0: off)", type=number(0.0))
    arg("--hidden-size", "RNN hidden size", type=integer(1, 1 << 16))
    arg("--num-layers", "stacked RNN layers", type=integer(1, 1024))
    arg("--nonlinearity", "RNN activation", choices=("tanh", "relu"))
    arg(
        "--init",
        "'identity': the IRNN recipe (W_hh = I, zero biases, small W_ih)",
        choices=("default", "identity"),
    )
    arg("--dropout", "dropout between RNN layers", type=probability)
    arg("--seq-len", "time steps per example", type=integer(1, 10**7))
    arg("--seed", "seed for data, weights and dropout", type=integer(0, 2**63 - 1))
    arg("--dtype", "floating-point type", choices=("float32", "float64"))
    arg("--checkpoint-every", "also save every N steps (0: per epoch only)", type=integer(0))
    p.add_argument(
        "--no-progress",
        action="store_true",
        default=None,
        help="no progress bar (there is none anyway when stderr is not a terminal)",
    )
    arg("--stop-below", "stop once the validation loss is below this", type=number())
    arg("--horizon", "sine: values to forecast", type=integer(1, 10**6))
    arg("--series", "sine: number of series (80%% train, 20%% validation)", type=integer(2))
    arg("--noise", "sine: noise std", type=number(0.0))
    arg("--eval-every", "adding: steps per evaluation", type=integer(1))
    arg("--data", "text: a UTF-8 text file to learn", type=Path)
    arg("--embed-size", "text: character embedding size", type=integer(1, 1 << 16))


def given_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The flags the user set on the command line (their argparse value is not None)."""
    skip = {"task", "out", "resume", "overwrite", "run", "command"}
    return {k: v for k, v in vars(args).items() if k not in skip and v is not None}


def flag_name(key: str) -> str:
    return "--" + key.replace("_", "-")


def check_task_flags(args: argparse.Namespace, given: dict[str, Any], fresh: bool) -> None:
    """Refuse flags that would do nothing: another task's, --momentum without sgd/rmsprop,
    --dropout with one layer (a flag is never silently ignored)."""
    for key in given:
        owner = TASK_FLAGS.get(key)
        if owner is not None and owner != args.task:
            raise UserError(
                f"{flag_name(key)} is a {owner} option; the {args.task} task has no use for it"
            )
    if fresh and args.dropout > 0 and args.num_layers == 1:  # (older runs may hold it)
        raise UserError(
            "--dropout acts between stacked RNN layers: with --num-layers 1 it would do "
            "nothing (use --num-layers 2 or more)"
        )
    if "momentum" in given and args.optimizer not in MOMENTUM_OPTIMIZERS:
        raise UserError(f"--momentum applies to --optimizer sgd or rmsprop, not {args.optimizer}")


def resolve(args: argparse.Namespace, saved: dict[str, Any] | None = None) -> argparse.Namespace:
    """Fill unset flags: from the saved run's flags when resuming, else the task's defaults."""
    given = given_flags(args)
    base = dict(DEFAULTS[args.task])
    if saved is not None:
        base.update({k: v for k, v in saved.items() if k in base})
        if saved.get("data") is not None:
            base["data"] = Path(saved["data"])
    for key, value in base.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    args.no_progress = bool(args.no_progress)
    if args.out is None:
        args.out = Path("runs") / args.task
    check_task_flags(args, given, fresh=saved is None)
    return args


def check_data(args: argparse.Namespace) -> None:
    """text: the --data file exists, is UTF-8 text and is long enough; records its SHA-256."""
    if args.task != "text":
        return
    path = args.data
    if path is None:
        raise UserError("--data FILE is required for the text task (a UTF-8 text file)")
    if not path.exists():
        raise UserError(f"--data {path}: no such file")
    if path.is_dir():
        raise UserError(f"--data {path} is a folder; give a UTF-8 text file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"--data {path}: cannot read it: {os_reason(exc)}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"--data {path} is not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x}); "
            "give a text file"
        ) from None
    if len(text) < args.seq_len + 2:
        raise UserError(
            f"--data {path} has {len(text)} characters; it needs more than "
            f"--seq-len + 1 = {args.seq_len + 1}"
        )
    args.data_sha256 = hashlib.sha256(raw).hexdigest()
    args.data = path.resolve()  # saved absolute: --resume works from any folder


def run_identity(args: argparse.Namespace) -> dict[str, Any]:
    """The values that make a run: equal identities compute equal numbers."""
    keys = COMMON_RUN_KEYS + TASK_RUN_KEYS[args.task]
    return {k: getattr(args, k, None) for k in keys}


def differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """``--lr 0.003, not 0.01`` (saved, then current) for each key whose values differ."""
    out = []
    for key in current:
        if key in saved and saved[key] != current[key]:
            if key == "data_sha256":
                out.append("the --data file's content")
            else:
                out.append(f"{flag_name(key)} {saved[key]}, not {current[key]}")
    return out


def memory_estimate(args: argparse.Namespace) -> int:
    """A generous estimate (bytes) of what training needs: weights with gradients and
    optimizer moments, the activations of a training and a validation batch, and the data."""
    H, L, layers = args.hidden_size, args.seq_len, args.num_layers
    inputs = {"sine": 1, "adding": 2, "text": args.embed_size}[args.task]
    outputs = {"sine": args.horizon, "adding": 1, "text": 256}[args.task]
    params = H * (inputs + H + 2) + (layers - 1) * H * (2 * H + 2) + (H + 1) * outputs
    batch = max(args.batch_size, 256)
    activations = 4 * batch * L * (H * layers + inputs + outputs)
    data = {"sine": args.series * (L + args.horizon), "adding": 1000 * L * 3, "text": 0}
    itemsize = 8 if args.dtype == "float64" else 4
    return itemsize * (4 * params + activations) + 16 * data[args.task]
