"""A grid of training configurations, one Dask task each, resumable.

Each configuration trains in ``out_dir/.<name>.tmp-<hex>`` on a worker and becomes
``out_dir/<name>`` (with ``result.json``) by one rename when it finishes: a run folder is
complete or absent, never half. A rerun skips the configurations whose folder is there; a
configuration that raises is recorded with its error (and retried by the next rerun) while
the others go on. A worker that dies mid-run loses only its temporary folder: Dask runs the
task again elsewhere (its own retry; nothing here re-submits).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import secrets
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ._train import TrainCommand

__all__ = ["sweep", "expand_grid", "run_name", "TrainCommand"]

Config = dict[str, Any]
RunFunction = Callable[[Config, Path], Mapping[str, Any]]
RESULT = "result.json"
COLUMNS = ["name", "status", "val_loss", "seconds", "error"]


def expand_grid(grid: Mapping[str, Iterable[Any]] | Iterable[Mapping[str, Any]]) -> list[Config]:
    """Every combination of a ``{key: values}`` grid (in key order), or the configurations
    of an iterable of dicts (a sampler) as they come."""
    if isinstance(grid, Mapping):
        keys = list(grid)
        values = [list(v) if not isinstance(v, (str, bytes)) else [v] for v in grid.values()]
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]
    return [dict(c) for c in grid]


def run_name(config: Mapping[str, Any]) -> str:
    """A folder name for a configuration: ``key=value`` pairs joined by ``_`` when short and
    safe, else a digest of them (same configuration, same name)."""
    text = "_".join(f"{k}={v}" for k, v in config.items())
    if re.fullmatch(r"[A-Za-z0-9._=+-]{1,120}", text):
        return text
    import hashlib

    return "run-" + hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def run_one(function: RunFunction, config: Config, out_dir: str, name: str) -> dict[str, Any]:
    """One configuration on a worker: train in a temporary folder, rename it when done.

    The function's exceptions are results (status "failed"); only the death of the worker
    escapes, for Dask to run the task again.
    """
    out, final = Path(out_dir), Path(out_dir) / name
    if (final / RESULT).exists():  # finished by an earlier attempt of this very task
        return json.loads((final / RESULT).read_text())
    tmp = out / f".{name}.tmp-{secrets.token_hex(8)}"
    tmp.mkdir()
    started = time.perf_counter()
    record: dict[str, Any] = {"name": name, "config": config}
    try:
        result = dict(function(config, tmp))
    except Exception as exc:  # a failing configuration is reported, the sweep goes on
        shutil.rmtree(tmp, ignore_errors=True)
        lines = traceback.format_exception_only(type(exc), exc)
        error = " ".join(line.strip() for line in lines)
        return {**record, "status": "failed", "error": error, "val_loss": None,
                "seconds": time.perf_counter() - started}  # fmt: skip
    record.update(status="ok", error="", seconds=time.perf_counter() - started, **result)
    record.setdefault("val_loss", None)
    _write_file(tmp / RESULT, json.dumps(record, indent=1).encode())
    try:
        os.rename(tmp, final)  # the commit point; fails when another attempt got there first
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return json.loads((final / RESULT).read_text())
    return record


def _write_file(path: Path, data: bytes) -> None:
    from elman.io._atomic import atomic_write_file

    atomic_write_file(path, data)


def sweep(
    task_or_function: str | RunFunction,
    grid: Mapping[str, Iterable[Any]] | Iterable[Mapping[str, Any]],
    *,
    client: Any,
    out_dir: str | os.PathLike[str],
    progress: bool = False,
    plot: bool = True,
) -> list[dict[str, Any]]:
    """Train every configuration of ``grid`` on the Dask ``client``'s workers.

    Args:
        task_or_function: a built-in task of ``elman train`` (``"sine"``, ``"adding"``,
            ``"text"``; a configuration's keys are its flags: ``{"lr": 1e-3,
            "hidden-size": 32}`` runs ``elman train sine --lr 0.001 --hidden-size 32``), or a
            function ``f(config, run_dir) -> {"val_loss": ..., ...}`` that writes its files
            in ``run_dir`` (importable on the workers).
        grid: ``{key: [values]}`` (every combination) or an iterable of configurations.
        client: a ``distributed.Client``.
        out_dir: one folder per configuration, and ``results.csv``/``results.json`` (every
            configuration: name, status, validation loss, seconds, error; the configuration
            itself in the JSON) and ``results.png`` (with matplotlib) at the end.
        progress: a progress bar on stderr, one step per finished configuration.
        plot: write ``results.png``.

    One sweep per ``out_dir`` at a time: a call removes the temporary folders it finds
    there (left by workers that died).

    Returns:
        The records of every configuration of ``grid``, in grid order (the finished ones of
        earlier calls included; their ``"skipped"`` is True).
    """
    function = (
        TrainCommand(task_or_function) if isinstance(task_or_function, str) else task_or_function
    )
    configs = expand_grid(grid)
    names = [run_name(c) for c in configs]
    if len(set(names)) != len(names):
        raise ValueError("sweep: the grid holds the same configuration twice")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out)
    records: dict[str, dict[str, Any]] = {}
    todo = []
    for name, config in zip(names, configs, strict=True):
        done = out / name / RESULT
        if done.exists():
            records[name] = {**json.loads(done.read_text()), "skipped": True}
        else:
            todo.append((name, config))
    futures = client.map(
        run_one,
        [function] * len(todo),
        [c for _, c in todo],
        [str(out)] * len(todo),
        [n for n, _ in todo],
        key=[f"elman-sweep-{n}-{secrets.token_hex(4)}" for n, _ in todo],
    )
    _collect(futures, records, progress)
    _remove_leftovers(out)
    ordered = [{**records[n], "skipped": records[n].get("skipped", False)} for n in names]
    write_table(ordered, out, plot=plot)
    return ordered


def _collect(futures: list[Any], records: dict[str, dict[str, Any]], progress: bool) -> None:
    from distributed import as_completed
    from tqdm import tqdm

    bar = tqdm(total=len(futures), disable=not progress, desc="sweep", unit="run", file=sys.stderr)
    try:
        for future in as_completed(futures):
            record = future.result()
            records[record["name"]] = record
            bar.update(1)
    finally:
        bar.close()


def _remove_leftovers(out: Path) -> None:
    for p in out.glob(".*.tmp-*"):
        shutil.rmtree(p, ignore_errors=True)


def write_table(records: list[dict[str, Any]], out: Path, *, plot: bool = True) -> None:
    """``results.json``, ``results.csv`` (one row per configuration, its keys as columns)
    and ``results.png``."""
    keys: list[str] = []
    for r in records:
        keys += [k for k in r.get("config", {}) if k not in keys]
    _write_file(out / "results.json", json.dumps(records, indent=1, default=str).encode())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys + COLUMNS)
    for r in records:
        config = r.get("config", {})
        writer.writerow([config.get(k, "") for k in keys] + [_cell(r.get(c)) for c in COLUMNS])
    _write_file(out / "results.csv", buffer.getvalue().encode())
    if plot:
        _plot(records, out / "results.png")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _plot(records: list[dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return  # the table is the result; the plot is a convenience of the [plot] extra
    done = sorted(
        (r for r in records if r.get("val_loss") is not None), key=lambda r: r["val_loss"]
    )
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(done) + 1.5))
    ax.barh([r["name"] for r in done], [r["val_loss"] for r in done])
    ax.invert_yaxis()
    ax.set_xlabel("best validation loss")
    ax.set_title(f"{len(done)} of {len(records)} configurations")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    _write_file(path, buffer.getvalue())
