"""``elman run SCRIPT [ARGS...]``: run an unmodified torch script on elman.

What it does to the process (and nothing else):

* puts one finder first on ``sys.meta_path`` that answers every import of ``torch`` or
  ``torch.X.Y`` with the module ``elman`` / ``elman.X.Y`` itself (the same object, registered
  in ``sys.modules`` under the torch name as well), so ``import torch.nn as nn`` gives
  ``elman.nn``. A real torch installation is never searched, imported or modified: the finder
  answers before the path finders look at site-packages.
* refuses imports of packages built on real torch (torchvision, torchtext, ...) with one line:
  they would load torch's compiled extensions, which elman does not replace.
* sets ``sys.argv`` to ``[SCRIPT, *ARGS]`` and ``sys.path[0]`` to the script's folder, as
  ``python SCRIPT`` does, and runs the script as ``__main__``.

A torch name the script reaches that elman lacks (a missing attribute of a torch module, of a
tensor or of a module class, or a missing ``torch.X`` module) ends the run with one line on
stderr, ``elman run: SCRIPT:LINE: torch.NAME is not available in elman (...)``, exit code 1.
Any other exception is the script's own and keeps its traceback (exit code 1); the script's
``sys.exit`` codes pass through.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.machinery
import os
import runpy
import sys
import traceback
import types
from typing import Any

from ._errors import EXIT_USER, UserError

__all__ = ["add_parser", "install_torch_alias", "TORCH_EXTENSIONS"]

# packages that need real torch (its compiled extensions or its internals)
TORCH_EXTENSIONS = frozenset(
    {
        "torchvision",
        "torchtext",
        "torchaudio",
        "torchdata",
        "torch_geometric",
        "torchmetrics",
        "pytorch_lightning",
        "lightning",
        "functorch",
        "fastai",
        "transformers",
    }
)


class TorchExtensionError(ModuleNotFoundError):
    """An import of a package that only works with real torch."""


class _AliasLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        target = "elman" + spec.name[len("torch") :]
        try:
            return importlib.import_module(target)
        except ModuleNotFoundError as exc:
            if exc.name != target:  # elman.X exists but failed inside: not a missing name
                raise
            raise ModuleNotFoundError(
                f"No module named {spec.name!r} in elman", name=spec.name
            ) from None

    def exec_module(self, module: types.ModuleType) -> None:
        pass  # already executed when elman imported it


class _TorchFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        root = fullname.partition(".")[0]
        if root == "torch":
            return importlib.machinery.ModuleSpec(fullname, _AliasLoader())
        if root in TORCH_EXTENSIONS:
            raise TorchExtensionError(
                f"{root} is an extension of real torch (it loads torch's compiled code); "
                "elman run cannot provide it",
                name=root,
            )
        return None


def install_torch_alias() -> None:
    """Resolve ``torch`` and ``torch.*`` to ``elman`` / ``elman.*`` in this process."""
    if any(isinstance(f, _TorchFinder) for f in sys.meta_path):
        return
    for name in [m for m in sys.modules if m == "torch" or m.startswith("torch.")]:
        raise UserError(f"real torch is already imported ({name}); run the script in a new process")
    sys.meta_path.insert(0, _TorchFinder())


def torch_name(obj: Any, attr: str) -> str | None:
    """The torch spelling of ``obj.attr`` when ``obj`` belongs to elman, else None."""
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
        if name == "elman" or name.startswith("elman."):
            return "torch" + name[len("elman") :] + "." + attr
        return None
    cls = obj if isinstance(obj, type) else type(obj)
    if cls.__module__.split(".")[0] != "elman":
        return None
    return f"{cls.__name__}.{attr}"


def missing_name(exc: BaseException) -> str | None:
    """The torch name a missing-name exception is about, or None for other exceptions."""
    if isinstance(exc, TorchExtensionError):
        return str(exc)
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "torch":
        return f"{exc.name} is not available in elman (no such module)"
    if isinstance(exc, ImportError) and (exc.name or "").split(".")[0] == "elman":
        # "cannot import name 'X' from 'elman.nn'"
        text = str(exc)
        start = text.find("'") + 1
        name = text[start : text.find("'", start)] if start else "?"
        module = "torch" + exc.name[len("elman") :]  # type: ignore[index]
        return f"{module}.{name} is not available in elman" + _reason(exc.name, name)
    if isinstance(exc, AttributeError) and getattr(exc, "obj", None) is not None:
        name = torch_name(exc.obj, exc.name or "")
        if name is not None:
            return f"{name} is not available in elman" + _why(exc)
    return None


def _why(exc: AttributeError) -> str:
    """`` (reason)`` when elman says why it lacks the name (outside its purpose), else ''."""
    text = str(exc)
    return f" ({text.split(': ', 1)[-1]})" if "outside elman" in text else ""


def _reason(module: str, name: str) -> str:
    """The reason elman gives for lacking ``module.name``: ``from torch.nn import LSTM``
    turns the module's AttributeError into an ImportError without it."""
    try:
        getattr(sys.modules[module], name)
    except AttributeError as exc:
        return _why(exc)
    except KeyError:
        pass
    return ""


def script_line(exc: BaseException, script: str) -> int | None:
    """The line of ``script`` the exception came through last (the innermost frame there)."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) == script:
            line = frame.lineno
    return line


def run_script(script: str, args: list[str]) -> int:
    """Run ``script`` as ``__main__`` with torch resolved to elman; returns the exit code."""
    path = os.path.abspath(script)
    if not os.path.isfile(path):
        raise UserError(f"{script}: no such file")
    install_torch_alias()
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(path))
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        what = missing_name(exc)
        if what is None:
            traceback.print_exception(exc)
            return EXIT_USER
        line = script_line(exc, path)
        where = f"{script}:{line}" if line is not None else script
        sys.stdout.flush()
        sys.stderr.write(f"elman run: {where}: {what}\n")
        return EXIT_USER
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="run an unmodified torch script with torch resolved to elman",
        description=(
            "Run SCRIPT as 'python SCRIPT ARGS...' would, with 'import torch' and every "
            "torch.X module answered by elman / elman.X for this process only (a real torch "
            "installation is never imported). A torch name the script uses that elman lacks "
            "stops it with one line naming the name and the script's line (exit code 1)."
        ),
    )
    p.add_argument("script", help="the torch script to run")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    p.set_defaults(run=lambda a: run_script(a.script, list(a.args)))
