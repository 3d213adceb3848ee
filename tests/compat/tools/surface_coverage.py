"""How much of the corpus's torch surface (surface.json) elman has: a static look-up.

Every name of ``surface.json``'s ``_union`` is resolved against the ``elman`` found on
``sys.path`` (run it with ``PYTHONPATH=src``, or with an older tree's ``src`` to measure
that): ``torch.a.b`` -> attribute (or submodule) ``elman.a.b``; ``torch.f(kw=)`` -> ``kw``
is a parameter of ``elman.f`` (or it takes ``**kwargs``); ``Tensor.x`` -> an attribute of
``elman.Tensor`` (``Tensor.add (operator +)`` -> ``__add__``...); ``Module.x``, ``RNN.x``,
``Optimizer.x``, ``DataLoader/Dataset.x``, ``Generator.x``, ``LRScheduler.x``,
``PackedSequence.x`` -> an attribute of a small live object of that class. Behaviours
(the surface's entries with spaces that are not operators) are not names and are left out.

Usage: ``PYTHONPATH=src python tests/compat/tools/surface_coverage.py [--missing]``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

SURFACE = Path(__file__).resolve().parent.parent / "surface.json"
OPERATOR = re.compile(r"^(\w+)\.(\w+) \(operator (\S+)\)$")
DUNDER = {"+": "__add__", "+=": "__iadd__", "-": "__sub__", "-=": "__isub__", "*": "__mul__",
          "*=": "__mul__", "/": "__truediv__", "/=": "__itruediv__", "**": "__pow__",
          "@": "__matmul__", ">": "__gt__", "<": "__lt__", ">=": "__ge__", "<=": "__le__",
          "==": "__eq__", "!=": "__ne__", "-x": "__neg__", "unary-": "__neg__"}  # fmt: skip


class _Either:
    """Has an attribute when one of its objects has it (``DataLoader/Dataset.x``)."""

    def __init__(self, *objects: Any) -> None:
        self.objects = objects

    def __getattr__(self, name: str) -> Any:
        for obj in self.objects:
            if hasattr(obj, name):
                return getattr(obj, name)
        raise AttributeError(name)


def _objects(elman: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"Tensor": elman.Tensor}
    out["Module"] = out["RNN"] = elman.nn.RNN(2, 3, num_layers=2)
    out["Optimizer"] = elman.optim.SGD(out["RNN"].parameters(), lr=0.1)
    out["Generator"] = getattr(elman, "Generator", None) or elman.random.Generator()
    out["LRScheduler"] = elman.optim.lr_scheduler.StepLR(out["Optimizer"], 1)
    out["PackedSequence"] = elman.nn.utils.rnn.pack_sequence([elman.zeros(2, 2)])
    try:
        data = elman.utils.data
        dataset = data.TensorDataset(elman.zeros(2))
        out["DataLoader/Dataset"] = _Either(data.DataLoader(dataset), dataset)
    except AttributeError:
        out["DataLoader/Dataset"] = None
    return out


def _resolve_dotted(dotted: str) -> Any:
    parts = ["elman", *dotted.split(".")[1:]]
    obj = importlib.import_module("elman")
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module(".".join(parts[: i + 1]))
            except ImportError:
                raise AttributeError(part) from None
    return obj


def has(name: str, objects: dict[str, Any]) -> bool | None:
    """True/False for a name, None for a behaviour (not counted)."""
    kw = re.fullmatch(r"(torch\.[\w.]+)\((\w+)=\)", name)
    if kw:
        try:
            fn = _resolve_dotted(kw.group(1))
        except AttributeError:
            return False
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            return True
        return kw.group(2) in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
    call = re.fullmatch(r"(torch\.[\w.]+)\(\)\.(\w+)", name)
    if call:  # a method of a call's result: of the class itself, else of a Tensor
        try:
            fn = _resolve_dotted(call.group(1))
        except AttributeError:
            return False
        owner = (
            fn if isinstance(fn, type) and not hasattr(fn, "legacy_dtype") else objects["Tensor"]
        )
        return hasattr(owner, call.group(2))
    if name.startswith("torch."):
        try:
            _resolve_dotted(name)
        except AttributeError:
            return False
        return True
    op = OPERATOR.match(name)
    if op:
        owner, attr = op.group(1), DUNDER.get(op.group(3), op.group(2))
    elif " " in name:
        return None
    else:
        owner, _, attr = name.partition(".")
    obj = objects.get(owner)
    return obj is not None and hasattr(obj, attr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--missing", action="store_true", help="list the names elman lacks")
    args = parser.parse_args()
    import elman

    objects = _objects(elman)
    union = json.loads(SURFACE.read_text())["_union"]
    results = {name: has(name, objects) for name in union}
    names = [n for n, r in results.items() if r is not None]
    missing = sorted(n for n in names if not results[n])
    found = len(names) - len(missing)
    print(
        f"elman at {Path(elman.__file__).parent}: {found} of {len(names)} torch names of the "
        f"corpus resolve ({len(union) - len(names)} behaviours not counted)"
    )
    if args.missing:
        for name in missing:
            print(f"  {name}  ({' '.join(s[:2] for s in union[name])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
