"""torch's ``.pt``/``.pth`` files without torch: :func:`load`, :func:`save`, :func:`describe`.

:func:`load` reads what ``torch.save`` writes (the zip format of torch >= 1.6 and the
legacy format before it) with an allowlist that executes nothing the file names; see
``docs/interop.md`` for what is read, what is refused and the security model.
:func:`save` writes the zip format that ``torch.load`` (``weights_only=True``, torch's
default) reads back.
"""

from __future__ import annotations

import os
from typing import IO, Any

from ._pt_load import load_path_or_file

__all__ = ["load", "save", "describe"]

FileLike = str | os.PathLike[str] | IO[bytes]


def load(
    f: FileLike,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    r"""Load an object saved with ``torch.save`` (or :func:`save`), safely, without torch.

    Tensors come back as elman Tensors (``nn.Parameter``\ s as elman Parameters) viewing
    the file's storages: views and tied weights that shared a storage still share one
    array. Containers (dict, OrderedDict with its ``_metadata``, list, tuple, set), str,
    bytes, numbers and None come back as themselves; ``torch.Size`` as ``elman.Size``,
    ``torch.float32`` and the other dtypes as NumPy types (``elman.float32``), a
    ``torch.device`` as a string (``"cuda:0"``). Tensors saved on any device load on the
    CPU. float16 stays float16; bfloat16 becomes float32 (exactly: NumPy has no bfloat16).

    Nothing the file names is ever called: only the globals of a fixed allowlist are
    resolved (each to elman's own code), and classes are created only when you allowlisted
    them (:func:`elman.serialization.safe_globals`), from their state.

    Args:
        f: a path, or a binary file object positioned at the start of the data.
        map_location: accepted for torch's signature; everything loads on the CPU.
        pickle_module: must be None (elman's reader is not pluggable).
        weights_only: must be None or True; elman never unpickles arbitrary objects.
        mmap: map the file's storages instead of reading them (a path only): tensors are
            copy-on-write views of the mapped file, loaded lazily by the OS. CRC-32
            checks are skipped then (they would read every page).

    Returns:
        the saved object.

    Raises:
        UnsafeFileError: the file names a global outside the allowlist (``os.system``, or
            a whole pickled module whose classes you did not allowlist) or asks for an
            operation elman refuses; nothing ran.
        CheckpointError: the file is damaged or not a torch file: truncated, not a zip, a
            zip without ``data.pkl``, a storage shorter than its tensor, a stride reaching
            outside its storage, a compressed entry, an unsupported dtype.
        FileNotFoundError: there is no file at ``f``.

    Example:
        >>> import io, elman
        >>> buf = io.BytesIO()
        >>> elman.save({"w": elman.ones(2), "epoch": 3}, buf)
        >>> _ = buf.seek(0)
        >>> elman.load(buf)
        {'w': tensor([1., 1.]), 'epoch': 3}
    """
    if weights_only is False:
        raise ValueError(
            "elman.load never unpickles arbitrary objects (weights_only=False); to load a "
            "whole pickled model you trust, allowlist its classes with "
            "elman.serialization.safe_globals([...])"
        )
    if pickle_module is not None:
        raise ValueError("elman.load does not take a pickle_module; its reader is fixed")
    if pickle_load_args:
        raise TypeError(
            f"load() got an unexpected keyword argument '{next(iter(pickle_load_args))}'"
        )
    return load_path_or_file(f, bool(mmap))


def save(obj: Any, f: FileLike, pickle_module: Any = None, pickle_protocol: int = 2) -> None:
    r"""Save ``obj`` in torch's zip format, for ``torch.load`` (or :func:`load`).

    ``torch.load(f)`` (torch's default ``weights_only=True``) reads back equal tensors,
    with their dtypes, shapes and sharing (views of one array are written as one storage),
    and the containers, strings and numbers around them: state dicts, optimizer and
    scheduler state dicts, checkpoint dicts. NumPy arrays are written as tensors, NumPy
    scalars as Python numbers, NumPy dtypes as torch dtypes, ``elman.Size`` as
    ``torch.Size``. A whole elman module (``elman.save(model, f)``) is written by class
    name with its state, as ``torch.save(model)`` does; :func:`load` reads it back when
    its classes are allowlisted (torch itself cannot build elman modules).

    Args:
        obj: what to save.
        f: a path, or a binary file object open for writing.
        pickle_module: must be None.
        pickle_protocol: must be 2 (torch's default).

    Raises:
        TypeError: ``obj`` holds something that cannot be written (a function, an
            arbitrary object).
    """
    from ._pt_save import save_to

    if pickle_module is not None or pickle_protocol != 2:
        raise ValueError("elman.save writes pickle protocol 2 with its own writer only")
    save_to(obj, f)


def describe(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What a ``.pt`` file holds, found without executing anything.

    Returns:
        dict: ``format`` (``"zip"`` or ``"legacy"``), ``byteorder``, ``globals`` (every
        global the pickle names), ``refused`` (those :func:`load` would refuse without an
        allowlist), ``tensors`` (name, dtype, shape, bytes, storage key, device, whether a
        parameter), ``objects`` (the classes of pickled objects with the plain values of
        their state: a whole module's hyperparameters), ``values`` (other plain values,
        e.g. ``epoch``) and ``storage_bytes``.
    """
    from ._pt_describe import describe_pt

    return describe_pt(os.fspath(path))
