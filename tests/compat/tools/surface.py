"""List the torch names every compat corpus script uses -> tests/compat/surface.json.

Two passes per script:

1. **AST** (no execution). Import aliases rooted at ``torch`` are resolved (``import torch.nn
   as nn``, ``from torch.nn import functional as F``, ``from torch.utils.data import
   DataLoader``...), then every attribute chain rooted at such an alias is written out in full
   (``nn.utils.clip_grad_norm_`` -> ``torch.nn.utils.clip_grad_norm_``), every imported torch
   object used by name is listed, and the keyword arguments passed to each torch callable are
   collected (``torch.nn.RNN``: ``batch_first``, ``nonlinearity``...). A method called on the
   result of a torch call is kept too (``torch.Generator().manual_seed``). Attribute names used
   on other objects are kept when they belong to a torch module, optimizer, scheduler, data
   loader or dataset class and are not also str/list/dict/set attributes (``Module.eval``,
   ``RNN.flatten_parameters``, ``Optimizer.param_groups``, ``DataLoader.dataset``) -- a name
   filter, so an unrelated object with a ``step`` method would be counted as well.
2. **Trace** (``--no-trace`` skips it). The script runs in quick mode under real torch inside a
   ``TorchFunctionMode`` that records the Tensor methods, properties, operators and torch
   functions whose caller is the script itself (calls torch makes internally are not
   counted; iteration over a tensor is watched separately as ``Tensor.__iter__``). This is how
   Tensor methods are told apart from NumPy, str and list methods of the same name:
   ``x.split(...)`` counts only if ``x`` was a tensor. Code paths the quick run does not take
   are not traced.

Usage: ``python tests/compat/tools/surface.py [--no-trace]`` from the repository root.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import runpy
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

COMPAT = Path(__file__).resolve().parent.parent
SCRIPTS = COMPAT / "scripts"
OUT = COMPAT / "surface.json"


def _is_module(dotted: str) -> bool:
    try:
        importlib.import_module(dotted)
    except ImportError:
        return False
    return True


def aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> dotted torch name, from the script's imports."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "torch" or a.name.startswith("torch."):
                    if a.asname:
                        out[a.asname] = a.name
                    else:
                        out["torch"] = "torch"
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and (node.module == "torch" or node.module.startswith("torch."))
        ):
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def chain(node: ast.AST) -> list[str] | None:
    """['torch', 'nn', 'RNN'] for ``torch.nn.RNN``; None when not a pure Name.attr chain."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def _class_attrs() -> dict[str, set[str]]:
    """Public attribute names of the torch objects scripts call methods on, by label."""
    import torch
    from torch import nn

    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    noise = set(dir(object)) | set(dir(str)) | set(dir(list)) | set(dir(dict)) | set(dir(set))

    def names(*objs: object) -> set[str]:
        found: set[str] = set()
        for o in objs:
            found |= {n for n in dir(o) if not n.startswith("_")}
        return found - noise

    module = names(nn.Module())
    rnn = names(nn.RNN(2, 2, 2, bidirectional=True), nn.RNNCell(2, 2)) - module
    optimizer = names(opt)
    scheduler = names(
        torch.optim.lr_scheduler.StepLR(opt, 1),
        torch.optim.lr_scheduler.ReduceLROnPlateau(opt),
    )
    ds = torch.utils.data.TensorDataset(torch.zeros(2))
    data = names(torch.utils.data.DataLoader(ds), ds, torch.utils.data.Subset(ds, [0]))
    packed = names(
        nn.utils.rnn.pack_sequence([torch.zeros(2, 1)]),
    )
    generator = names(torch.Generator())
    return {
        "Module": module,
        "RNN": rnn,
        "Optimizer": optimizer,
        "LRScheduler": scheduler,
        "DataLoader/Dataset": data,
        "PackedSequence": packed,
        "Generator": generator,
    }


def ast_surface(path: Path, class_attrs: dict[str, set[str]]) -> dict:
    tree = ast.parse(path.read_text())
    alias = aliases(tree)
    for node in ast.walk(tree):  # parent links, to keep only outermost chains
        for child in ast.iter_child_nodes(node):
            child.parent = node  # type: ignore[attr-defined]

    def resolve(parts: list[str]) -> str:
        return ".".join([alias[parts[0]], *parts[1:]])

    torch_names: set[str] = set()
    kwargs: dict[str, set[str]] = defaultdict(set)
    objects: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parent = getattr(node, "parent", None)
            parts = chain(node)
            if parts and parts[0] in alias:
                if not (isinstance(parent, ast.Attribute) and parent.value is node):
                    torch_names.add(resolve(parts))
                continue
            if isinstance(node.value, ast.Call):
                inner = chain(node.value.func)
                if inner and inner[0] in alias:
                    torch_names.add(f"{resolve(inner)}().{node.attr}")
                    continue
            for label, attrs in class_attrs.items():
                if node.attr in attrs:
                    objects.add(f"{label}.{node.attr}")
                    break
        elif isinstance(node, ast.Name) and node.id in alias and isinstance(node.ctx, ast.Load):
            dotted = alias[node.id]
            parent = getattr(node, "parent", None)
            used_as_root = isinstance(parent, ast.Attribute) and parent.value is node
            if not used_as_root and not _is_module(dotted):
                torch_names.add(dotted)
        if isinstance(node, ast.Call):
            parts = chain(node.func)
            if parts and parts[0] in alias:
                kwargs[resolve(parts)] |= {k.arg for k in node.keywords if k.arg}
    return {
        "torch": sorted(torch_names),
        "kwargs": {k: sorted(v) for k, v in sorted(kwargs.items()) if v},
        "objects": sorted(objects),
    }


# ---- trace ---------------------------------------------------------------------------------


def _trace_child(script: str, out_path: str) -> None:
    """Run ``script`` (quick mode) and write the torch calls it makes itself to ``out_path``."""
    import torch
    from torch.overrides import TorchFunctionMode

    torch_dir = os.path.dirname(torch.__file__)
    script = os.path.abspath(script)
    seen: set[str] = set()

    def name_of(func: object) -> str:
        qual = getattr(func, "__qualname__", "") or ""
        if qual in ("getset_descriptor.__get__", "getset_descriptor.__set__"):
            prop = func.__self__.__name__  # type: ignore[attr-defined]
            return f"Tensor.{prop}" + ("" if qual.endswith("__get__") else " (set)")
        if qual.startswith("_VariableFunctionsClass."):
            return "torch." + qual.split(".", 1)[1]
        if qual.startswith(("TensorBase.", "Tensor.")):
            return "Tensor." + qual.split(".", 1)[1]
        module = getattr(func, "__module__", None) or "?"
        return f"{module}.{getattr(func, '__name__', repr(func))}"

    overrides = os.path.join(torch_dir, "overrides.py")

    class Recorder(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            # the caller: above torch's dispatch helper and above the public function's own
            # Python frame (F.relu, Tensor.split...), but not above torch's internals
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename == overrides:
                frame = frame.f_back
            if (
                frame is not None
                and frame.f_code.co_filename.startswith(torch_dir)
                and frame.f_code.co_name == getattr(func, "__name__", None)
            ):
                frame = frame.f_back
            if frame is not None and frame.f_code.co_filename == script:
                name = name_of(func)
                if not any(
                    part.startswith("_") and not part.startswith("__") for part in name.split(".")
                ):
                    seen.add(name)
            return func(*args, **(kwargs or {}))

    # iteration does not dispatch through __torch_function__: watch it directly
    plain_iter = torch.Tensor.__iter__

    def watched_iter(self):
        if sys._getframe(1).f_code.co_filename == script:
            seen.add("Tensor.__iter__")
        return plain_iter(self)

    torch.Tensor.__iter__ = watched_iter

    os.environ["COMPAT_QUICK"] = "1"
    sys.argv = [script]
    sys.path.insert(0, os.path.dirname(script))
    try:
        with Recorder():
            runpy.run_path(script, run_name="__main__")
    finally:
        with open(out_path, "w") as f:
            json.dump(sorted(seen), f)


# Tensor methods that operators dispatch to: ``a + b`` reaches __torch_function__ as
# Tensor.add (``a += b`` as Tensor.add_), indistinguishable from ``a.add(b)``; when the script
# never spells the method out (as any attribute: ``some_set.add`` counts), the traced name is
# marked as the operator.
OPERATORS = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "pow": "**",
    "neg": "unary -",
    "gt": ">",
    "lt": "<",
    "ge": ">=",
    "le": "<=",
    "eq": "==",
    "ne": "!=",
    "matmul": "@",
    "remainder": "%",
    "floor_divide": "//",
    "rsub": "- (reflected)",
    "add_": "+=",
    "sub_": "-=",
    "mul_": "*=",
    "div_": "/=",
}


def label_operators(traced: list[str], script: Path) -> list[str]:
    spelled = {
        n.attr for n in ast.walk(ast.parse(script.read_text())) if isinstance(n, ast.Attribute)
    }
    out = []
    for name in traced:
        method = name.split(".", 1)[1] if name.startswith("Tensor.") else ""
        if method in OPERATORS and method not in spelled:
            name = f"Tensor.{method} (operator {OPERATORS[method]})"
        out.append(name)
    return sorted(out)


def trace(script: Path) -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "trace.json")
        env = dict(os.environ, OMP_NUM_THREADS="1")
        proc = subprocess.run(
            [sys.executable, __file__, "--trace-child", str(script), out],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{script.name}: {proc.stderr[-2000:]}")
        with open(out) as f:
            return label_operators(json.load(f), script)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-trace", action="store_true")
    parser.add_argument("--trace-child", nargs=2, metavar=("SCRIPT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trace_child:
        _trace_child(*args.trace_child)
        return 0

    class_attrs = _class_attrs()
    old = json.loads(OUT.read_text()) if OUT.exists() else {}
    result: dict[str, dict] = {}
    for script in sorted(SCRIPTS.glob("*.py")):
        entry = ast_surface(script, class_attrs)
        if args.no_trace:
            entry["traced"] = old.get(script.name, {}).get("traced", [])
        else:
            entry["traced"] = trace(script)
        result[script.name] = entry
        print(
            f"{script.name}: {len(entry['torch'])} torch names, {len(entry['traced'])} traced, "
            f"{len(entry['objects'])} object attributes",
            flush=True,
        )

    union: dict[str, list[str]] = defaultdict(list)
    for name, entry in result.items():
        for key in ("torch", "traced", "objects"):
            for item in entry[key]:
                if name not in union[item]:
                    union[item].append(name)
    result["_union"] = {k: union[k] for k in sorted(union)}
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{len(result['_union'])} distinct names -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
