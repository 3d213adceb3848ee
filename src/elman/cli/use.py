"""``elman predict``, ``elman evaluate`` and ``elman sample``: use a trained checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from .tasks import SequenceModel


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
    p.add_argument("checkpoint", type=Path, help="OUT/checkpoint of a training run")
    p.add_argument("--input", type=Path, required=True, help="data file (.npy or .csv)")
    p.add_argument("--output", type=Path, required=True, help="where to write (.npy or .csv)")
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
    e.add_argument("checkpoint", type=Path, help="OUT/checkpoint of a training run")
    e.add_argument("--input", type=Path, required=True, help="inputs (.npy/.csv) or a text file")
    e.add_argument("--target", type=Path, help="targets (.npy or .csv); not for text")
    e.set_defaults(run=run_evaluate)

    s = sub.add_parser(
        "sample",
        help="generate text from a character-level checkpoint",
        description="Generate characters from a checkpoint trained with 'elman train text'.",
    )
    s.add_argument("checkpoint", type=Path, help="OUT/checkpoint of 'elman train text'")
    s.add_argument("--length", type=int, default=300, help="characters to generate")
    s.add_argument("--prime", default="", help="text to start from")
    s.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (> 0)")
    s.add_argument("--seed", type=int, default=0, help="seed of the sampling")
    s.set_defaults(run=run_sample)


def load_model(path: Path) -> SequenceModel:
    from elman.io import CheckpointError, load_checkpoint

    if not path.exists():
        raise SystemExit(f"elman: no checkpoint at {path}")
    try:
        extra = load_checkpoint(path, restore_rng=False)["extra"]
        model = SequenceModel(extra["config"])
        load_checkpoint(path, model=model, restore_rng=False)
    except (CheckpointError, KeyError) as exc:
        raise SystemExit(f"elman: cannot use {path}: {exc}") from None
    model.eval()
    return model


def read_array(path: Path) -> np.ndarray:
    if not path.exists():
        raise SystemExit(f"elman: no file {path}")
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if path.suffix == ".csv":
        return np.loadtxt(path, delimiter=",", ndmin=2)
    raise SystemExit(f"elman: {path} must be .npy or .csv")


def write_array(path: Path, array: np.ndarray) -> None:
    if path.suffix == ".npy":
        np.save(path, array)
    elif path.suffix == ".csv":
        np.savetxt(path, array.reshape(len(array), -1), delimiter=",", fmt="%.8g")
    else:
        raise SystemExit(f"elman: {path} must be .npy or .csv")


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
        raise SystemExit(
            f"elman: the {config['task']} model wants (N, L, {expected}) inputs, got {raw.shape}"
        )
    return raw.astype(dtype)


def _predict(model: SequenceModel, x: np.ndarray, batch: int = 256) -> np.ndarray:
    import elman

    outs = []
    with elman.no_grad():
        for i in range(0, len(x), batch):
            pred, _ = model(elman.tensor(x[i : i + batch]))
            outs.append(pred.numpy())
    return np.concatenate(outs) if outs else np.zeros((0, model.config["output_size"]))


def run_predict(args: argparse.Namespace) -> int:
    model = load_model(args.checkpoint)
    if model.config["task"] == "text":
        raise SystemExit("elman predict: use 'elman sample' for text checkpoints")
    pred = _predict(model, _inputs(model, read_array(args.input)))
    write_array(args.output, pred)
    print(f"wrote {len(pred)} predictions of shape {pred.shape[1:]} to {args.output}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    model = load_model(args.checkpoint)
    if model.config["task"] == "text":
        return _evaluate_text(model, args.input)
    if args.target is None:
        raise SystemExit("elman evaluate: --target is required for this checkpoint")
    x = _inputs(model, read_array(args.input))
    y = read_array(args.target).reshape(len(x), -1)
    pred = _predict(model, x)
    mse = float(np.mean((pred - y) ** 2))
    print(f"MSE {mse:.6g} on {len(x)} examples")
    if model.config["task"] == "sine":
        naive = float(np.mean((y - x[:, -1, :]) ** 2))
        print(f"naive last-value baseline {naive:.6g} ({naive / mse:.1f}x worse)")
    else:
        print(f"always-1 baseline {float(np.mean((y - 1) ** 2)):.6g}")
    return 0


def _evaluate_text(model: SequenceModel, path: Path) -> int:
    import elman
    from elman.nn.functional import cross_entropy

    vocab = model.config["vocab"]
    lookup = {c: i for i, c in enumerate(vocab)}
    text = path.read_text(encoding="utf-8")
    unknown = sorted({c for c in text if c not in lookup})
    codes = np.array([lookup[c] for c in text if c in lookup], dtype=np.int64)
    if len(codes) < 2:
        raise SystemExit(f"elman evaluate: {path} has fewer than 2 known characters")
    with elman.no_grad():
        logits, _ = model(elman.tensor(codes[None, :-1]))
        ce = float(cross_entropy(logits[0], elman.tensor(codes[1:])).item())
    print(f"cross-entropy {ce:.4f} nats/char (perplexity {np.exp(ce):.2f}) on {len(codes)} chars")
    if unknown:
        print(f"skipped {len(unknown)} characters the model never saw: {''.join(unknown)[:40]!r}")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    import elman

    model = load_model(args.checkpoint)
    if model.config["task"] != "text":
        raise SystemExit("elman sample: the checkpoint is not a text model")
    if args.temperature <= 0:
        raise SystemExit("elman sample: --temperature must be > 0")
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
