"""The policy :func:`elman.load` runs a file's pickle under: the allowlist, enforced.

=====================  ===============================================================
GLOBAL module.name     an entry of the fixed table (:data:`._pt_policy.BUILTINS`), a class
                       the user allowlisted (by its name, or by torch's path of an elman
                       re-export), else :class:`UnsafeFileError`
BINPERSID pid          ``("storage", <storage class of the table>, key, location, numel)``
                       (legacy files add a view), else refused
REDUCE f(*args)        ``f`` from the table: elman's implementation runs; anything else
                       (an allowlisted class or function included) is refused
NEWOBJ cls(*args)      an allowlisted class: ``cls.__new__(cls, *args)``; OrderedDict,
                       set, Counter: an empty one; else refused
BUILD inst, state      an OrderedDict/Counter: attributes with plain names (a state dict's
                       ``_metadata``); an object NEWOBJ made from an allowlisted class:
                       its ``__setstate__``, or its ``__dict__`` updated; else refused
APPEND/SETITEM         on an allowlisted list/dict subclass: list's/dict's own methods
=====================  ===============================================================
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from typing import Any

from . import _pt_globals as allow
from ._errors import CheckpointError, UnsafeFileError
from ._pt_policy import Fn, StorageLoader, UserGlobal, lookup_builtin
from ._pt_tensors import StorageType

__all__ = ["LoadPolicy", "DANGEROUS_MODULES"]

#: Module roots whose globals are refused with a warning that the file may be hostile.
DANGEROUS_MODULES = frozenset(
    "os posix nt subprocess sys builtins shutil socket importlib runpy pty webbrowser code "
    "codeop ctypes pickle marshal types functools operator io pathlib tempfile signal "
    "multiprocessing threading asyncio platform commands popen2 timeit pdb bdb".split()
)
_ADVICE = "elman.load rebuilds only tensors, containers and numbers (and classes you allowlist)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class LoadPolicy:
    """The allowlist as the pickle interpreter's policy.

    Args:
        where: the file (and entry) read, for messages.
        storages: builds the storage a persistent id names:
            ``storages(storage_type, key, location, numel, view)``.
    """

    def __init__(self, where: str, storages: StorageLoader) -> None:
        self.where = where
        self._storages = storages
        self._made: set[int] = set()  # ids of objects NEWOBJ made from allowlisted classes
        self._keep: list[Any] = []  # keeps them alive so that their ids stay unique

    # ---- GLOBAL -------------------------------------------------------------------------

    def find_global(self, module: str, name: str) -> Any:
        full, entry = lookup_builtin(module, name)
        if entry is not None:
            return entry
        obj = allow.user_class(full)
        if obj is None:
            alias = allow.torch_alias(module, name)
            if alias is not None and allow.is_allowlisted(alias):
                obj = alias
        if obj is not None:
            return UserGlobal(full, obj)
        raise UnsafeFileError(self._refusal(module, name, full))

    def _refusal(self, module: str, name: str, full: str) -> str:
        root = full.split(".", 1)[0]
        if root in DANGEROUS_MODULES:
            return (
                f"{self.where}: Unsupported global: GLOBAL {full}, which could run code when "
                f"unpickled; {_ADVICE}, so the file was refused and nothing in it ran. Do "
                "not open it with torch.load(weights_only=False) or pickle either."
            )
        alias = allow.torch_alias(module, name)
        if alias is not None:
            elman_name = f"{allow.TORCH_MODULE_ALIASES[module]}.{name}"
            return (
                f"{self.where}: Unsupported global: GLOBAL {full}: the file holds a whole "
                f"pickled module (torch.save(model)), not a state dict. Save "
                "model.state_dict() instead, or, if you trust the file, allowlist its "
                f"classes: with elman.serialization.safe_globals([{elman_name}, ...]): "
                "elman.load(f) (elman rebuilds them as elman modules from their state)."
            )
        return (
            f"{self.where}: Unsupported global: GLOBAL {full}; {_ADVICE}. If {full} is a "
            "class of yours and you trust the file, allowlist it with "
            f"elman.serialization.safe_globals([{name.rsplit('.', 1)[-1]}]): it is then "
            "created from its pickled state without being called."
        )

    # ---- persistent ids -----------------------------------------------------------------

    def persistent_load(self, pid: Any) -> Any:
        if type(pid) is not tuple or len(pid) not in (5, 6):
            raise UnsafeFileError(
                f"{self.where}: persistent id {_short(pid)} is not a storage reference "
                "('storage', class, key, location, numel); elman.load refuses it"
            )
        kind = pid[0].decode("ascii") if type(pid[0]) is bytes else pid[0]
        storage_type, key, location, numel = pid[1:5]
        if kind != "storage" or not isinstance(storage_type, StorageType):
            raise UnsafeFileError(
                f"{self.where}: persistent id {_short(pid)} names {storage_type!r} where a "
                "storage class belongs; elman.load refuses it"
            )
        if type(location) is bytes:
            location = location.decode("ascii")
        if type(key) is int:  # some legacy writers
            key = str(key)
        ok = type(key) is str and 0 < len(key) <= 64 and key.isascii() and key.isalnum()
        if not ok or type(location) is not str or type(numel) is not int or numel < 0:
            raise CheckpointError(f"{self.where}: malformed storage reference {_short(pid)}")
        view = pid[5] if len(pid) == 6 else None
        return self._storages(storage_type, key, location, numel, view)

    # ---- REDUCE / NEWOBJ / BUILD --------------------------------------------------------

    def reduce(self, func: Any, args: tuple[Any, ...]) -> Any:
        if isinstance(func, Fn):
            return func.impl(args, self)  # type: ignore[arg-type]
        if isinstance(func, UserGlobal):
            raise UnsafeFileError(
                f"{self.where}: the file calls {func.name}{_short(args)} (REDUCE); elman.load "
                "never calls what a file names, even an allowlisted class or function: "
                "allowlisted classes are only created from their state (NEWOBJ + BUILD)"
            )
        raise UnsafeFileError(
            f"{self.where}: REDUCE on {_short(func)}, which is not a callable of the allowlist"
        )

    def newobj(self, cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if isinstance(cls, Fn) and cls.name in _EMPTY and not args and not kwargs:
            return _EMPTY[cls.name]()
        if isinstance(cls, UserGlobal) and isinstance(cls.obj, type):
            inst = cls.obj.__new__(cls.obj, *args, **kwargs)
            if type(inst) is not cls.obj:
                raise CheckpointError(f"{self.where}: {cls.name}.__new__ made a {type(inst)}")
            self._made.add(id(inst))
            self._keep.append(inst)
            return inst
        raise UnsafeFileError(
            f"{self.where}: NEWOBJ of {_short(cls)}: only allowlisted classes are created"
        )

    def build(self, inst: Any, state: Any) -> None:
        if type(inst) in (OrderedDict, Counter):
            _set_attributes(inst, state, self.where)
            return
        if id(inst) not in self._made:
            raise UnsafeFileError(
                f"{self.where}: BUILD (set the state of) a {type(inst).__qualname__}, which "
                "is not an object elman.load made from an allowlisted class"
            )
        setstate = getattr(type(inst), "__setstate__", None)
        if setstate is not None:
            setstate(inst, state)
            return
        slots = None
        if type(state) is tuple and len(state) == 2:
            state, slots = state
        if state is not None:
            _set_attributes(inst, state, self.where, private=True)
        if slots is not None:
            if type(slots) is not dict or not all(type(k) is str for k in slots):
                raise CheckpointError(f"{self.where}: malformed slot state {_short(slots)}")
            for k, v in slots.items():
                setattr(inst, k, v)

    def extend(self, container: Any, items: list[Any]) -> None:
        if id(container) in self._made and isinstance(container, list):
            list.extend(container, items)
            return
        raise UnsafeFileError(
            f"{self.where}: APPEND to a {type(container).__qualname__}; elman.load only "
            "appends to lists"
        )

    def setitems(self, container: Any, items: list[Any]) -> None:
        if id(container) in self._made and isinstance(container, dict) and len(items) % 2 == 0:
            for i in range(0, len(items), 2):
                dict.__setitem__(container, items[i], items[i + 1])
            return
        raise UnsafeFileError(
            f"{self.where}: SETITEM on a {type(container).__qualname__}; elman.load only "
            "sets items of dicts"
        )


_EMPTY = {"collections.OrderedDict": OrderedDict, "collections.Counter": Counter}
_EMPTY.update({"builtins.set": set})  # type: ignore[dict-item]


def _set_attributes(inst: Any, state: Any, where: str, private: bool = False) -> None:
    """``inst.__dict__.update(state)`` for a dict of plain attribute names (no dunders)."""
    if type(state) not in (dict, OrderedDict):
        raise CheckpointError(f"{where}: BUILD state {_short(state)} is not a dict")
    for k in state:
        if type(k) is not str or not k.isidentifier() or k.startswith("__"):
            raise UnsafeFileError(f"{where}: BUILD sets attribute {k!r}; refused")
        if not private and k.startswith("_") and k != "_metadata":
            raise UnsafeFileError(f"{where}: BUILD sets attribute {k!r} on an OrderedDict")
    inst.__dict__.update(state)
