"""``elman predict``, ``elman evaluate`` and ``elman sample``: use a trained checkpoint."""

from __future__ import annotations

import argparse
import csv
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import scale
from ._errors import UserError, check_output_file, first_line, os_reason
from ._parser import integer, number
from ._report import versus
from .onnx_cmd import RUNTIMES, load_onnx_model
from .tasks import SequenceModel

CHECKPOINT_HELP = "OUT/checkpoint of a training run, or a .onnx file from 'elman export'"


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "predict",
        help="run a checkpoint on new data (CSV or .npy in, the same format out)",
        description=(
            "Load a checkpoint written by 'elman train' and predict. Input: a .npy array or "
            "a CSV file (one example per row). sine: rows of past values (N, seq_len) -> "
            "(N, horizon) forecasts; adding: (N, L, 2) .npy arrays, or CSV rows of L values "
            "followed by L 0/1 markers -> (N, 1) sums."
        ),
    )
    p.add_argument("checkpoint", type=Path, help=CHECKPOINT_HELP)
    p.add_argument(
        "--input",
        type=Path,
        required=True,
        help="data file (.npy or .csv); with --workers/--scheduler: .npy files or a glob",
    )
    p.add_argument(
        "--output",
        type=Path,
        required=True,
        help="where to write (.npy or .csv); with --workers/--scheduler: a folder",
    )
    _runtime_flag(p)
    scale.add_dask_flags(p)
    p.add_argument(
        "--chunk-rows",
        type=integer(1, 2**40),
        help="examples per Dask task (at least 129; default: ~32 MB of inputs and hidden states)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar (Dask only)")
    p.set_defaults(run=run_predict)

    e = sub.add_parser(
        "evaluate",
        help="loss of a checkpoint on labelled data (and the task's naive baseline)",
        description=(
            "Compute the checkpoint's loss on inputs and targets (.npy or .csv, formats as for "
            "'elman predict'; targets one row per example). For text checkpoints, --input is a "
            "text file and the result is the cross-entropy in nats per character."
        ),
    )
    e.add_argument("checkpoint", type=Path, help=CHECKPOINT_HELP)
    e.add_argument("--input", type=Path, required=True, help="inputs (.npy/.csv) or a text file")
    e.add_argument("--target", type=Path, help="targets (.npy or .csv); not for text")
    _runtime_flag(e)
    e.set_defaults(run=run_evaluate)

    s = sub.add_parser(
        "sample",
        help="generate text from a character-level checkpoint",
        description="Generate characters from a checkpoint trained with 'elman train text'.",
    )
    s.add_argument("checkpoint", type=Path, help="OUT/checkpoint of 'elman train text'")
    s.add_argument("--length", type=integer(0, 10**7), default=300, help="characters to generate")
    s.add_argument("--prime", default="", help="text to start from")
    s.add_argument(
        "--temperature", type=number(above=0.0), default=0.8, help="sampling temperature (> 0)"
    )
    s.add_argument("--seed", type=integer(0, 2**63 - 1), default=0, help="seed of the sampling")
    s.set_defaults(run=run_sample)


def _runtime_flag(p: Any) -> None:
    p.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="elman",
        help="for a .onnx file (from 'elman export'): run it in elman or onnxruntime",
    )


def load_model(path: Path, runtime: str = "elman") -> SequenceModel:
    """The model of a checkpoint written by ``elman train`` (OUT/checkpoint or OUT/best), or
    of a ``.onnx`` file written by ``elman export`` (run by ``runtime``)."""
    from elman.io import CheckpointError, load_checkpoint

    if path.suffix == ".onnx":
        return load_onnx_model(path, runtime)  # type: ignore[return-value]
    if runtime != "elman":
        raise UserError(f"--runtime {runtime} runs .onnx files; {path} is a checkpoint")

    if not path.exists() and not path.parent.exists():
        raise UserError(f"no checkpoint at {path}")
    if (path / "checkpoint").is_dir() and not (path / "meta.json").exists():
        raise UserError(
            f"{path} is a training run's folder; give {path / 'best'} (the best epoch) or "
            f"{path / 'checkpoint'} (the last)"
        )
    try:
        extra = load_checkpoint(path, restore_rng=False)["extra"]
        with warnings.catch_warnings():  # construction warnings are about training
            warnings.simplefilter("ignore")
            model = SequenceModel(extra["config"])
        load_checkpoint(path, model=model, restore_rng=False)
    except FileNotFoundError:
        raise UserError(f"no checkpoint at {path}") from None
    except (CheckpointError, KeyError, TypeError) as exc:
        raise UserError(f"cannot use {path}: {exc}") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {os_reason(exc)}") from None
    model.eval()
    return model


def read_array(path: Path, flag: str) -> np.ndarray:
    """A numeric array from a .npy file or a CSV file of numbers (one example per row)."""
    if not path.exists():
        raise UserError(f"{flag} {path}: no such file")
    if path.is_dir():
        raise UserError(f"{flag} {path} is a folder; give a .npy or .csv file")
    if path.suffix not in (".npy", ".csv"):
        raise UserError(f"{flag} {path} must be a .npy or .csv file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{flag} {path}: cannot read it: {os_reason(exc)}") from None
    array = _parse_npy(raw, path, flag) if path.suffix == ".npy" else _parse_csv(raw, path, flag)
    if array.dtype.kind not in "biuf":
        raise UserError(f"{flag} {path} holds {array.dtype} values, not numbers")
    if array.ndim == 0 or len(array) == 0:
        raise UserError(f"{flag} {path} holds no examples")
    return array


def _parse_npy(raw: bytes, path: Path, flag: str) -> np.ndarray:
    if not raw.startswith(b"\x93NUMPY"):
        raise UserError(f"{flag} {path} is not a .npy file (it lacks the .npy header)")
    try:
        return np.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise UserError(
                f"{flag} {path} holds Python objects (pickled), which elman never loads"
            ) from None
        raise UserError(f"{flag} {path} is not a valid .npy file ({first_line(exc)})") from None
    except (OSError, EOFError) as exc:
        raise UserError(f"{flag} {path} is not a valid .npy file ({first_line(exc)})") from None


def _parse_csv(raw: bytes, path: Path, flag: str) -> np.ndarray:
    """Rows of comma-separated numbers; blank lines are skipped."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{flag} {path} is not a text CSV file (byte {exc.start})") from None
    rows = []
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        try:
            values = [float(cell) for cell in row]
        except ValueError:
            shown = ",".join(row)[:40]
            hint = "; remove the header row" if not rows else ""
            raise UserError(f"{flag} {path}: row {line} ({shown!r}) is not numbers{hint}") from None
        if rows and len(values) != len(rows[0]):
            raise UserError(
                f"{flag} {path}: row {line} has {len(values)} values, the first row "
                f"{len(rows[0])}; every row must have the same number"
            )
        rows.append(values)
    if not rows:
        raise UserError(f"{flag} {path} holds no rows")
    return np.array(rows, dtype=np.float64).reshape(len(rows), -1)


def write_array(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to a .npy or .csv file, atomically (a full disk leaves no half file)."""
    from elman.io._atomic import atomic_write_file

    buffer = io.BytesIO()
    if path.suffix == ".npy":
        np.save(buffer, array)
    else:
        np.savetxt(buffer, array.reshape(len(array), -1), delimiter=",", fmt="%.8g")
    try:
        atomic_write_file(path, buffer.getvalue())
    except OSError as exc:
        raise UserError(f"cannot write --output {path}: {os_reason(exc)}") from None


def check_output(path: Path) -> None:
    check_output_file(path, "--output")
    if path.suffix not in (".npy", ".csv"):
        raise UserError(f"--output {path} must end in .npy or .csv")


def _inputs(model: SequenceModel, raw: np.ndarray) -> np.ndarray:
    config = model.config
    dtype = config.get("dtype", "float32")
    if config["task"] == "sine" and raw.ndim == 2:
        raw = raw[:, :, None]  # (N, L) -> (N, L, 1)
    if config["task"] == "adding" and raw.ndim == 2:
        half = raw.shape[1] // 2  # CSV rows: L values, then L markers
        raw = np.stack([raw[:, :half], raw[:, half:]], axis=-1)
    expected = config["input_size"]
    if raw.ndim != 3 or raw.shape[-1] != expected:
        raise UserError(
            f"--input: the {config['task']} model wants (N, L, {expected}) inputs, got {raw.shape}"
        )
    return raw.astype(dtype)


def _predict(model: SequenceModel, x: np.ndarray, batch: int = 256) -> np.ndarray:
    import elman

    # a short last batch joins the one before: batches under 129 examples may run kernels
    # that round differently (see elman.distributed), and one call's numbers are the goal
    starts = list(range(0, len(x), batch))
    if len(starts) > 1 and len(x) - starts[-1] < 129:
        starts.pop()
    outs = []
    with elman.no_grad():
        for i, stop in zip(starts, [*starts[1:], len(x)], strict=True):
            pred, _ = model(elman.tensor(x[i:stop]))
            outs.append(pred.numpy())
    return np.concatenate(outs) if outs else np.zeros((0, model.config["output_size"]))


def run_predict(args: argparse.Namespace) -> int:
    if scale.uses_dask(args):
        return scale.run_predict(args)
    check_output(args.output)
    model = load_model(args.checkpoint, args.runtime)
    if model.config["task"] == "text":
        raise UserError("use 'elman sample' (or 'elman evaluate') for text checkpoints")
    pred = _predict(model, _inputs(model, read_array(args.input, "--input")))
    write_array(args.output, pred)
    print(f"wrote {len(pred)} predictions of shape {pred.shape[1:]} to {args.output}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    model = load_model(args.checkpoint, args.runtime)
    if model.config["task"] == "text":
        if args.target is not None:
            raise UserError("--target is not for text checkpoints: --input is the text itself")
        return _evaluate_text(model, args.input)
    if args.target is None:
        raise UserError(f"--target is required for a {model.config['task']} checkpoint")
    x = _inputs(model, read_array(args.input, "--input"))
    y = _targets(model, read_array(args.target, "--target"), len(x))
    pred = _predict(model, x)
    mse = float(np.mean((pred.astype(np.float64) - y) ** 2))
    print(f"MSE {mse:.6g} on {len(x)} examples")
    if model.config["task"] == "sine":
        naive = float(np.mean((y - x[:, -1, :].astype(np.float64)) ** 2))
        print(f"the model is {versus(mse, naive, 'the last-value forecast')}")
    else:
        naive = float(np.mean((y - 1.0) ** 2))
        print(f"the model is {versus(mse, naive, 'always answering 1')}")
    return 0


def _targets(model: SequenceModel, y: np.ndarray, n: int) -> np.ndarray:
    """(N, outputs) targets: one row per example, as many values as the model forecasts."""
    outputs = model.config["output_size"]
    if y.ndim == 1 and outputs == 1:
        y = y[:, None]
    if y.shape != (n, outputs):
        raise UserError(
            f"--target has shape {y.shape}, but the {model.config['task']} model gives "
            f"{outputs} value(s) for each of the {n} examples of --input: expected ({n}, "
            f"{outputs})"
        )
    return y.astype(np.float64)


def _evaluate_text(model: SequenceModel, path: Path) -> int:
    import elman
    from elman.nn.functional import cross_entropy

    if not path.exists():
        raise UserError(f"--input {path}: no such file")
    if path.is_dir():
        raise UserError(f"--input {path} is a folder; give a UTF-8 text file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(
            f"--input {path} is not UTF-8 text; a text checkpoint is evaluated on a text file"
        ) from None
    except OSError as exc:
        raise UserError(f"--input {path}: cannot read it: {os_reason(exc)}") from None
    vocab = model.config["vocab"]
    lookup = {c: i for i, c in enumerate(vocab)}
    unknown = sorted({c for c in text if c not in lookup})
    codes = np.array([lookup[c] for c in text if c in lookup], dtype=np.int64)
    if len(codes) < 2:
        raise UserError(f"--input {path} has fewer than 2 characters the model knows")
    with elman.no_grad():
        logits, _ = model(elman.tensor(codes[None, :-1]))
        ce = float(cross_entropy(logits[0], elman.tensor(codes[1:])).item())
    print(f"cross-entropy {ce:.4f} nats/char (perplexity {np.exp(ce):.2f}) on {len(codes)} chars")
    if unknown:
        print(f"skipped {len(unknown)} characters the model never saw: {''.join(unknown)[:40]!r}")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    import elman

    if args.checkpoint.suffix == ".onnx":
        raise UserError("'elman sample' needs a checkpoint (it carries the state between steps)")
    model = load_model(args.checkpoint)
    if model.config["task"] != "text":
        raise UserError(f"{args.checkpoint} is a {model.config['task']} model, not a text one")
    vocab = model.config["vocab"]
    lookup = {c: i for i, c in enumerate(vocab)}
    prime = [lookup[c] for c in args.prime if c in lookup] or [0]
    rng = np.random.default_rng(args.seed)
    out = list(args.prime)
    hx = None
    with elman.no_grad():
        logits, hx = model(elman.tensor(np.array([prime])), hx)
        for _ in range(args.length):
            z = logits.numpy()[0, -1].astype(np.float64) / args.temperature
            p = np.exp(z - z.max())
            code = int(rng.choice(len(vocab), p=p / p.sum()))
            out.append(vocab[code])
            logits, hx = model(elman.tensor(np.array([[code]])), hx)
    print("".join(out))
    return 0
