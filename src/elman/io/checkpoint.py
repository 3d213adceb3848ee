"""Training checkpoints: model, optimizer, scheduler, extra state and RNG, crash-safe.

A checkpoint is a directory::

    ckpt/
      model.safetensors   the model's state_dict, standard safetensors with torch's names
      state.safetensors   every other array: optimizer moments, arrays in `extra`, RNG state
      meta.json           the manifest: format, version, per-file size and SHA-256, and the
                          structure of the optimizer/scheduler/extra state as JSON

Only ``json`` and ``safetensors`` are used to read it: nothing in a checkpoint is executed
(no pickle, no eval). ``model.safetensors`` opens directly in torch:
``torch.nn.RNN(...).load_state_dict(safetensors.torch.load_file("ckpt/model.safetensors"))``.

``meta.json`` (format version 1) holds ``format`` (``"elman.checkpoint"``),
``format_version``, ``elman_version``, ``created`` (UTC, ISO 8601), ``files``
(``{name: {"size": bytes, "sha256": hex}}`` for every other file), then whichever of
``model`` (``{"file": ..., "keys": [state-dict names in order]}``), ``optimizer``,
``scheduler``, ``extra`` and ``rng`` were saved (the last four encoded as described in
:mod:`elman.io._tree`, arrays referring to tensors of ``state.safetensors``), and
``meta_sha256``, the SHA-256 of the canonical JSON (sorted keys, no spaces) of all the other
fields. Every check is done before any object's state is touched.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from .._version import __version__
from ..random import get_rng_state, set_rng_state
from ._atomic import check_replaceable, resolve_directory, write_directory
from ._errors import CheckpointError
from ._tree import TreeDecoder, TreeEncoder
from .safetensors_io import StrPath, deserialize, serialize, state_dict_arrays

__all__ = ["save_checkpoint", "load_checkpoint", "FORMAT_VERSION"]

FORMAT = "elman.checkpoint"
#: The checkpoint layout version written by this elman; loading refuses any other.
FORMAT_VERSION = 1
MODEL_FILE, STATE_FILE, META_FILE = "model.safetensors", "state.safetensors", "meta.json"
_DATA_FILES = (MODEL_FILE, STATE_FILE)
_SECTIONS = ("optimizer", "scheduler", "extra", "rng")
_log = logging.getLogger(__name__)


class Stateful(Protocol):
    """Anything with torch's ``state_dict()`` / ``load_state_dict(state_dict)`` pair."""

    def state_dict(self) -> Any: ...

    def load_state_dict(self, state_dict: Any, /) -> Any: ...


class ModuleLike(Protocol):
    """A module: ``state_dict()`` of names to arrays, ``load_state_dict(sd, strict=...)``."""

    def state_dict(self) -> Any: ...

    def load_state_dict(self, state_dict: Any, strict: bool = ...) -> Any: ...


def _meta_digest(meta: Mapping[str, Any]) -> str:
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def save_checkpoint(
    path: StrPath,
    *,
    model: ModuleLike | None = None,
    optimizer: Stateful | None = None,
    scheduler: Stateful | None = None,
    extra: Mapping[str, Any] | None = None,
    rng: bool = True,
) -> None:
    r"""Save a training state as a checkpoint directory, atomically.

    Everything is written to a temporary sibling directory, fsynced, and renamed into place
    (an existing checkpoint is moved aside first and removed last), so a crash at any moment
    leaves the old checkpoint or the new one loadable by :func:`load_checkpoint`. See the
    module docstring for the layout.

    Args:
        path (str or os.PathLike): the checkpoint directory. If it exists it must be a
            checkpoint (or empty): other files are never overwritten.
        model (optional): a module; its ``state_dict()`` (names to arrays) goes to
            ``model.safetensors``. Default: ``None``.
        optimizer (optional): anything with ``state_dict()``; a nested structure of dicts
            (any hashable JSON-like keys, e.g. ints), lists, tuples, numbers, strings, None,
            ndarrays, NumPy scalars and elman Tensors. Default: ``None``.
        scheduler (optional): like ``optimizer``. Default: ``None``.
        extra (dict, optional): your own state (config, epoch, step, metrics), of the same
            kinds of values. Default: ``None``.
        rng (bool): also save the global generator's state (:func:`elman.get_rng_state`).
            Default: ``True``.

    Raises:
        TypeError: a state holds a value that cannot be stored (say a function).
        FileExistsError: ``path`` exists and is not a checkpoint directory.

    Example::

        >>> import os, tempfile
        >>> import elman
        >>> model = elman.nn.RNN(2, 3)
        >>> ckpt = os.path.join(tempfile.mkdtemp(), "ckpt")
        >>> elman.io.save_checkpoint(ckpt, model=model, extra={"epoch": 3})
        >>> sorted(os.listdir(ckpt))
        ['meta.json', 'model.safetensors', 'state.safetensors']
    """
    path = Path(path)
    if extra is not None and not isinstance(extra, Mapping):
        raise TypeError(f"extra must be a dict, got {type(extra).__qualname__}")
    check_replaceable(path, (META_FILE, *_DATA_FILES))
    files: dict[str, bytes] = {}
    sections: dict[str, Any] = {}
    if model is not None:
        weights = state_dict_arrays(model.state_dict())
        files[MODEL_FILE] = serialize(weights)
        sections["model"] = {"file": MODEL_FILE, "keys": list(weights)}
    encoder = TreeEncoder()
    states = {"optimizer": optimizer, "scheduler": scheduler}
    for name, obj in states.items():
        if obj is not None:
            sections[name] = encoder.encode(obj.state_dict(), name)
    if extra is not None:
        sections["extra"] = encoder.encode(dict(extra), "extra")
    if rng:
        sections["rng"] = encoder.encode(get_rng_state(), "rng")
    if encoder.arrays:
        files[STATE_FILE] = serialize(encoder.arrays)
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "elman_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "files": {
            name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in files.items()
        },
        **sections,
    }
    meta["meta_sha256"] = _meta_digest(meta)
    files[META_FILE] = json.dumps(meta, indent=1, allow_nan=False).encode() + b"\n"
    write_directory(path, files)  # meta.json last: a directory without it is incomplete


def load_checkpoint(
    path: StrPath,
    *,
    model: ModuleLike | None = None,
    optimizer: Stateful | None = None,
    scheduler: Stateful | None = None,
    restore_rng: bool = True,
    strict: bool = True,
) -> dict[str, Any]:
    r"""Verify a checkpoint and load it into the objects passed.

    Every file's size and SHA-256 is checked against ``meta.json`` before anything is
    loaded, so a damaged checkpoint changes nothing. If ``path`` is missing because a save
    was interrupted between its two renames, the previous checkpoint is read from the backup
    the save left (``metadata["recovered"]`` is then ``True``). Nothing is written.

    Args:
        path (str or os.PathLike): the checkpoint directory.
        model (optional): receives ``load_state_dict(weights, strict=strict)``.
            Default: ``None``.
        optimizer (optional): receives ``load_state_dict(state)``. Default: ``None``.
        scheduler (optional): receives ``load_state_dict(state)``. Default: ``None``.
        restore_rng (bool): restore the global generator's state if it was saved, so the
            resumed run draws the numbers an uninterrupted run would. Default: ``True``.
        strict (bool): passed to ``model.load_state_dict``. Default: ``True``.

    Returns:
        dict: ``extra``, ``model`` (``{name: ndarray}``), ``optimizer``, ``scheduler`` and
        ``rng_state`` as saved (``None`` when absent), and ``metadata``: ``format_version``,
        ``elman_version``, ``created``, ``path`` (the directory read) and ``recovered``.

    Raises:
        FileNotFoundError: there is no checkpoint at ``path``.
        CheckpointError: a file is missing, unexpected, truncated or altered; ``meta.json``
            is malformed or of an unknown format version; or an object was passed whose
            state the checkpoint does not hold.

    Example::

        >>> import os, tempfile
        >>> import elman
        >>> ckpt = os.path.join(tempfile.mkdtemp(), "ckpt")
        >>> elman.io.save_checkpoint(ckpt, model=elman.nn.Linear(2, 1), extra={"epoch": 3})
        >>> model = elman.nn.Linear(2, 1)
        >>> elman.io.load_checkpoint(ckpt, model=model)["extra"]
        {'epoch': 3}
    """
    root, recovered = resolve_directory(Path(path))
    if recovered:
        _log.warning("%s is missing (a save was interrupted); reading the backup %s", path, root)
    meta = _read_meta(root)
    blobs = _read_files(root, meta["files"])
    weights = _model_weights(meta, blobs, root)
    arrays = deserialize(blobs[STATE_FILE], str(root / STATE_FILE)) if STATE_FILE in blobs else {}
    decoder = TreeDecoder(arrays, str(root / STATE_FILE), str(root / META_FILE))
    states = {s: decoder.decode(meta[s], s) if s in meta else None for s in _SECTIONS}
    given: dict[str, tuple[Any, Any]] = {
        "model": (model, weights),
        "optimizer": (optimizer, states["optimizer"]),
        "scheduler": (scheduler, states["scheduler"]),
    }
    for name, (obj, state) in given.items():
        if obj is not None and state is None:
            raise CheckpointError(f"{root}: the checkpoint holds no {name} state to load")
    if model is not None:
        model.load_state_dict(weights, strict=strict)
    if optimizer is not None:
        optimizer.load_state_dict(states["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(states["scheduler"])
    if restore_rng and states["rng"] is not None:
        set_rng_state(states["rng"])
    metadata = {k: meta.get(k) for k in ("format_version", "elman_version", "created")}
    metadata.update(path=str(root), recovered=recovered)
    return {
        "extra": states["extra"],
        "model": weights,
        "optimizer": states["optimizer"],
        "scheduler": states["scheduler"],
        "rng_state": states["rng"],
        "metadata": metadata,
    }


def _read_meta(root: Path) -> dict[str, Any]:
    """Parse and check ``meta.json``: format, version, self-checksum and file table."""
    meta_path = root / META_FILE
    if not root.is_dir():
        raise CheckpointError(f"{root}: not a checkpoint directory (expected {META_FILE} in it)")
    try:
        raw = meta_path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(
            f"{meta_path}: missing; not an elman checkpoint, or an incomplete one"
        ) from None
    try:
        meta = json.loads(raw)
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        raise CheckpointError(f"{meta_path}: malformed JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{meta_path}: not an elman checkpoint (format {found!r})")
    version = meta.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise CheckpointError(
            f"{meta_path}: unsupported checkpoint format version {version!r}; elman "
            f"{__version__} reads version {FORMAT_VERSION} (a newer elman may read it)"
        )
    try:
        intact = meta.get("meta_sha256") == _meta_digest(meta)
    except ValueError:  # NaN or Infinity, which elman never writes
        intact = False
    if not intact:
        raise CheckpointError(
            f"{meta_path}: contents do not match the recorded meta_sha256 "
            "(the file was altered or corrupted)"
        )
    _check_file_table(meta, meta_path)
    return meta


def _check_file_table(meta: dict[str, Any], meta_path: Path) -> None:
    files = meta.get("files")
    if not isinstance(files, dict):
        files = None
    ok = files is not None and all(
        name in _DATA_FILES
        and isinstance(entry, dict)
        and isinstance(entry.get("size"), int)
        and isinstance(entry.get("sha256"), str)
        for name, entry in files.items()
    )
    model = meta.get("model")
    if model is not None:
        ok = ok and isinstance(model, dict) and model.get("file") == MODEL_FILE
        ok = ok and MODEL_FILE in (files or {}) and isinstance(model.get("keys"), list)
    if not ok:
        raise CheckpointError(f"{meta_path}: malformed file table or model entry")


def _read_files(root: Path, table: dict[str, dict[str, Any]]) -> dict[str, bytes]:
    """Read every listed file, checking that the directory holds exactly the listed files."""
    present = set(os.listdir(root)) - {META_FILE}
    unexpected = sorted(present - set(table))
    if unexpected:
        raise CheckpointError(
            f"{root}: unexpected file(s) not listed in {META_FILE}: {', '.join(unexpected)} "
            "(the checkpoint was modified after it was saved)"
        )
    blobs = {}
    for name, entry in table.items():
        file = root / name
        if name not in present:
            raise CheckpointError(f"{file}: missing ({META_FILE} lists {entry['size']} bytes)")
        data = file.read_bytes()
        if len(data) != entry["size"]:
            what = "truncated" if len(data) < entry["size"] else "longer than saved"
            raise CheckpointError(
                f"{file}: size is {len(data)} bytes but {META_FILE} records {entry['size']} "
                f"({what}; the file is incomplete or was altered)"
            )
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry["sha256"]:
            raise CheckpointError(
                f"{file}: SHA-256 is {digest} but {META_FILE} records {entry['sha256']} "
                "(the file was altered or corrupted)"
            )
        blobs[name] = data
    return blobs


def _model_weights(meta: dict[str, Any], blobs: dict[str, bytes], root: Path) -> Any:
    if "model" not in meta:
        return None
    file = root / MODEL_FILE
    arrays = deserialize(blobs[MODEL_FILE], str(file))
    keys = meta["model"]["keys"]
    if sorted(arrays) != sorted(keys):
        raise CheckpointError(f"{file}: tensor names differ from the keys in {META_FILE}")
    return {k: arrays[k] for k in keys}
