"""``elman predict --workers N | --scheduler ADDRESS`` and ``elman sweep``: the same jobs on
Dask (the ``dask`` extra), with bounded memory and progress bars that follow Dask's tasks."""

from __future__ import annotations

import argparse
import contextlib
import functools
import glob
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import UserError
from ._parser import Parser, integer, suggest

INSTALL = 'pip install "elman[dask]"'
CHUNK_BYTES = 32 * 2**20  # inputs and hidden states of one task: small next to a worker's
#                           memory, big next to a task's ~1 ms of scheduling


def add_dask_flags(p: argparse.ArgumentParser) -> None:
    """``--workers N`` / ``--scheduler ADDRESS`` (one of them)."""
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=integer(1, 4096),
        metavar="N",
        help=f"run on a local Dask cluster of N worker processes (needs {INSTALL})",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing Dask cluster (e.g. tcp://host:8786, from 'dask scheduler')",
    )


def uses_dask(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "workers", None) or getattr(args, "scheduler", None))


def _import_distributed() -> Any:
    try:
        import elman.distributed as dist
    except ImportError:
        raise UserError(
            f"--workers/--scheduler need Dask, which is not installed: {INSTALL}"
        ) from None
    return dist


@contextlib.contextmanager
def client_for(args: argparse.Namespace) -> Iterator[Any]:
    """A Dask client for ``--workers N`` (a local cluster, closed at the end) or
    ``--scheduler ADDRESS`` (a running cluster)."""
    dist = _import_distributed()
    try:
        context = dist.connect(workers=args.workers, scheduler=args.scheduler)
        client = context.__enter__()
    except OSError as exc:
        where = f"--scheduler {args.scheduler}" if args.scheduler else "--workers"
        raise UserError(f"{where}: cannot start or reach the Dask cluster ({exc})") from None
    with contextlib.ExitStack() as stack:
        stack.push(context)
        yield client


# ---- elman predict on Dask ------------------------------------------------------------------


def prepare_block(config: dict[str, Any], raw: np.ndarray) -> np.ndarray:
    """The model's input layout from a block of rows (what plain ``elman predict`` does)."""
    dtype = config.get("dtype", "float32")
    if config["task"] == "sine" and raw.ndim == 2:
        raw = raw[:, :, None]  # (N, L) -> (N, L, 1)
    expected = config["input_size"]
    if raw.ndim != 3 or raw.shape[-1] != expected:
        raise UserError(
            f"--input: the {config['task']} model wants (N, L, {expected}) inputs, "
            f"got rows of shape {raw.shape[1:]}"
        )
    return raw.astype(dtype, copy=False)


def load_checkpoint_model(path: str) -> Any:
    """The model of an ``elman train`` checkpoint (the loader the workers run)."""
    from .use import load_model

    return load_model(Path(path))


def default_chunk_rows(config: dict[str, Any], x: np.ndarray) -> int:
    """Examples per task such that the inputs and the hidden states of all steps (the
    larger part: H values a step and layer for 1 input value in a sine model) come to
    about :data:`CHUNK_BYTES`."""
    steps = x.shape[1] if x.ndim > 1 else 1
    values = config["input_size"] + config["hidden_size"] * config["num_layers"]
    per_row = steps * values * np.dtype(config.get("dtype", "float32")).itemsize
    return max(1, CHUNK_BYTES // max(1, per_row))


def input_files(pattern: str) -> list[Path]:
    """The ``.npy`` files of ``--input`` (a file or a glob pattern), sorted."""
    names = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
    files = [Path(n) for n in names]
    if not files:
        raise UserError(f"--input {pattern}: no file matches")
    for f in files:
        if not f.is_file():
            raise UserError(f"--input {f}: no such file")
        if f.suffix != ".npy":
            raise UserError(f"--input {f}: --workers/--scheduler read .npy files only")
    return files


def run_predict(args: argparse.Namespace) -> int:
    """Each input file -> OUTPUT/<stem>.npy, computed in parts on the workers; a rerun
    skips the files (and parts) already done."""
    from .use import load_model

    dist = _import_distributed()
    from elman.distributed._parts import assemble

    if getattr(args, "runtime", "elman") != "elman" or Path(args.checkpoint).suffix == ".onnx":
        raise UserError(
            "--workers/--scheduler run elman checkpoints in elman; run a .onnx file or "
            "--runtime onnxruntime without them"
        )
    files = input_files(str(args.input))
    out = Path(args.output)
    if out.suffix in (".npy", ".csv") or out.is_file():
        raise UserError(f"--output {out}: with --workers/--scheduler, give a folder")
    out.mkdir(parents=True, exist_ok=True)
    model = load_model(args.checkpoint)
    if model.config["task"] == "text":
        raise UserError("use 'elman sample' (or 'elman evaluate') for text checkpoints")
    prepare = functools.partial(prepare_block, model.config)
    checkpoint = str(Path(args.checkpoint).resolve())
    with client_for(args) as client:
        for f in files:
            final = out / f"{f.stem}.npy"
            if final.exists():
                print(f"{final} is there already: skipped")
                continue
            x = np.load(f, mmap_mode="r")
            rows = args.chunk_rows or default_chunk_rows(model.config, x)
            pred, _ = dist.predict(
                checkpoint, x, batch_first=True, chunk_rows=rows, loader=load_checkpoint_model,
                prepare=prepare,
            )  # fmt: skip
            parts = out / f".{f.stem}.parts"
            dist.write_parts(pred, parts, client=client, progress=not args.no_progress)
            assemble(parts, final)
            _remove_tree(parts)
            print(f"wrote {pred.shape[0]} predictions of shape {pred.shape[1:]} to {final}")
    return 0


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# ---- elman sweep -----------------------------------------------------------------------------


def add_sweep_parser(sub: Any) -> None:
    p = sub.add_parser(
        "sweep",
        help="train a grid of configurations on Dask (--workers N or --scheduler ADDRESS)",
        description=(
            "Train every combination of --grid with 'elman train TASK', one Dask task per "
            "configuration, each in its own folder OUT/<key=value_...>; OUT/results.csv, "
            "results.json (and results.png with matplotlib) list them all. Finished "
            f"configurations are skipped when the command runs again. Needs {INSTALL}."
        ),
    )
    p.add_argument("task", choices=["sine", "adding", "text"], help="the task of 'elman train'")
    p.add_argument(
        "--grid",
        nargs="+",
        required=True,
        metavar="FLAG=V1,V2",
        help="values of 'elman train' flags, e.g. lr=1e-3,3e-3 hidden-size=32,64 seed=0,1",
    )
    p.add_argument("--out", type=Path, required=True, help="the sweep's folder")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_dask_flags(p)
    p.set_defaults(run=run_sweep)


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``["lr=1e-3,3e-3", "seed=0"]`` -> ``{"lr": ["1e-3", "3e-3"], "seed": ["0"]}``, each
    key checked against ``elman train``'s flags."""
    from .train_config import add_arguments

    train = Parser(prog="elman train")
    add_arguments(train)
    known = [s[2:] for s in train.option_strings() if s.startswith("--")]
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip().lstrip("-").replace("_", "-")
        if not sep or not key or not values:
            raise UserError(f"--grid {item!r}: expected FLAG=VALUE[,VALUE...]")
        if key in ("out", "resume", "overwrite", "help") or key not in known:
            hint = suggest(key, known)
            more = f"; did you mean {hint}?" if hint else ""
            raise UserError(f"--grid {item!r}: {key} is not a flag of 'elman train'{more}")
        if key in grid:
            raise UserError(f"--grid: {key} is given twice")
        grid[key] = [v.strip() for v in values.split(",") if v.strip()]
    return grid


def run_sweep(args: argparse.Namespace) -> int:
    grid = parse_grid(args.grid)
    if not uses_dask(args):
        raise UserError("give --workers N (a local cluster) or --scheduler ADDRESS")
    dist = _import_distributed()
    with client_for(args) as client:
        records = dist.sweep(
            args.task, grid, client=client, out_dir=args.out, progress=not args.no_progress
        )
    failed = [r for r in records if r["status"] != "ok"]
    for r in records:
        loss = "" if r.get("val_loss") is None else f"{r['val_loss']:.5g}"
        note = " (done before)" if r.get("skipped") else ""
        print(f"{r['name']}: {r['status']} {loss}{note}".rstrip())
    print(f"wrote {args.out / 'results.csv'} and {args.out / 'results.json'}")
    if failed:
        first = failed[0]
        raise UserError(
            f"{len(failed)} of {len(records)} configurations failed; {first['name']}: "
            f"{first['error']}"
        )
    return 0
