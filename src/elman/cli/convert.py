"""``elman convert IN OUT`` and ``elman inspect FILE``: weights between torch's .pt files,
safetensors files and elman checkpoint folders, and what such a file holds.

Formats go by the path: ``.pt``/``.pth``/``.bin`` is torch's format (read with the safe
``elman.load``), ``.safetensors`` a safetensors file, a folder (or, for OUT, any other
name) an elman checkpoint. Nothing in a file is executed by either command.
"""

from __future__ import annotations

import argparse
import json
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TORCH_SUFFIXES = (".pt", ".pth", ".bin")
MODEL_KEYS = ("model", "state_dict", "model_state_dict")
OPTIMIZER_KEYS = ("optimizer", "optimizer_state_dict", "optim")
SCHEDULER_KEYS = ("scheduler", "lr_scheduler", "scheduler_state_dict")


def add_parsers(sub: Any) -> None:
    c = sub.add_parser(
        "convert",
        help="convert weights between .pt/.pth, .safetensors and elman checkpoint folders",
        description=(
            "Convert IN to OUT; the format goes by the path: .pt/.pth/.bin is torch's "
            "torch.save format, .safetensors a safetensors file, anything else an elman "
            "checkpoint folder. A .pt file may hold a state dict or a checkpoint dict "
            "({'model': ..., 'optimizer': ..., 'scheduler': ..., 'epoch': ...}); a "
            ".safetensors file holds the model's weights only. Nothing in IN is executed: "
            ".pt files are read with elman's allowlist (a whole pickled model is refused: "
            "save its state_dict)."
        ),
    )
    c.add_argument("input", type=Path, metavar="IN", help="the file or folder to read")
    c.add_argument("output", type=Path, metavar="OUT", help="the file or folder to write")
    c.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    c.set_defaults(run=run_convert)

    i = sub.add_parser(
        "inspect",
        help="list what a .pt, .safetensors or checkpoint folder holds, executing nothing",
        description=(
            "Print what FILE holds: for a .pt file its format, the globals its pickle names "
            "(and which elman.load refuses), every tensor's name, dtype, shape and size, "
            "the classes and hyperparameters of pickled objects and other plain values; "
            "for a .safetensors file its tensors and metadata; for a checkpoint folder its "
            "manifest, weights and optimizer/scheduler/extra state. Nothing is executed."
        ),
    )
    i.add_argument(
        "file", type=Path, metavar="FILE", help="a .pt/.pth, .safetensors, .onnx file or a folder"
    )
    i.add_argument("--json", action="store_true", help="print the description as JSON")
    i.set_defaults(run=run_inspect)


def _fail(command: str, message: str) -> SystemExit:
    """A user mistake: one line on stderr, exit status 1."""
    return SystemExit(f"elman {command}: {message.splitlines()[0] if message else ''}")


def kind_of(path: Path, for_output: bool = False) -> str:
    suffix = path.suffix.lower()
    if suffix in TORCH_SUFFIXES:
        return "torch"
    if suffix == ".safetensors":
        return "safetensors"
    if suffix == ".onnx":
        return "onnx"
    if path.is_dir() or for_output:
        return "checkpoint"
    return "torch"  # a torch file by another name; elman.load tells if it is not


# ---- reading ----------------------------------------------------------------------------


def _is_state_dict(value: Any) -> bool:
    from elman import Tensor

    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in value.items()
    )


def _split(obj: Any, path: Path) -> dict[str, Any]:
    """A loaded .pt object as {model, optimizer, scheduler, extra}."""
    if _is_state_dict(obj):
        return {"model": obj, "optimizer": None, "scheduler": None, "extra": {}}
    if isinstance(obj, Mapping):
        parts: dict[str, Any] = {"model": None, "optimizer": None, "scheduler": None}
        rest = dict(obj)
        for part, keys in (
            ("model", MODEL_KEYS),
            ("optimizer", OPTIMIZER_KEYS),
            ("scheduler", SCHEDULER_KEYS),
        ):
            for key in keys:
                if key in rest:
                    parts[part] = rest.pop(key)
                    break
        if parts["model"] is not None and _is_state_dict(parts["model"]):
            parts["extra"] = rest
            return parts
    kind = type(obj).__qualname__
    raise ValueError(
        f"{path} holds a {kind}, not a state dict or a checkpoint dict with a 'model' state dict"
    )


def read(path: Path) -> dict[str, Any]:
    """``{"model": {name: array}, "optimizer", "scheduler", "extra"}`` from any format."""
    import elman
    from elman.io import load_checkpoint, load_weights

    kind = kind_of(path)
    if kind == "onnx":
        raise ValueError(f"{path}: ONNX files are not supported")
    if kind == "safetensors":
        return {"model": load_weights(path), "optimizer": None, "scheduler": None, "extra": {}}
    if kind == "checkpoint":
        state = load_checkpoint(path, restore_rng=False)
        if state["model"] is None:
            raise ValueError(f"{path}: the checkpoint holds no model weights")
        extra = state["extra"] or {}
        return {**{k: state[k] for k in ("model", "optimizer", "scheduler")}, "extra": extra}
    return _split(elman.load(path), path)


# ---- writing ----------------------------------------------------------------------------


class _Holder:
    """An object whose state_dict() is a given state (what save_checkpoint takes)."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def state_dict(self) -> Any:
        return self._state


def write(parts: dict[str, Any], path: Path) -> list[str]:
    """Write ``parts`` to ``path`` in the format its name says; returns what was dropped."""
    import elman
    from elman.io import save_checkpoint, save_weights

    kind = kind_of(path, for_output=True)
    extras = [k for k in ("optimizer", "scheduler") if parts[k] is not None]
    extras += [repr(k) for k in parts["extra"]]
    if kind == "onnx":
        raise ValueError(f"{path}: writing ONNX files is not supported")
    if kind == "safetensors":
        save_weights(path, parts["model"])
        return extras
    model = OrderedDict((k, elman.as_tensor(v)) for k, v in parts["model"].items())
    if kind == "torch":
        if not extras:
            elman.save(model, path)
        else:
            obj: dict[str, Any] = {"model": model}
            obj.update((k, parts[k]) for k in ("optimizer", "scheduler") if parts[k] is not None)
            for key, value in parts["extra"].items():
                if key in obj:
                    raise ValueError(f"the extra entry {key!r} collides with a section name")
                obj[key] = value
            elman.save(obj, path)
        return []
    save_checkpoint(
        path,
        model=_Holder(model),
        optimizer=_Holder(parts["optimizer"]) if parts["optimizer"] is not None else None,
        scheduler=_Holder(parts["scheduler"]) if parts["scheduler"] is not None else None,
        extra={str(k): v for k, v in parts["extra"].items()} or None,
        rng=False,
    )
    return []


def run_convert(args: argparse.Namespace) -> int:
    from elman.io import CheckpointError, UnsafeFileError

    src, dst = args.input, args.output
    if not src.exists():
        raise _fail("convert", f"no such file or folder: {src}")
    if dst.exists() and not args.overwrite:
        raise _fail("convert", f"{dst} exists (use --overwrite to replace it)")
    if dst.resolve() == src.resolve():
        raise _fail("convert", "IN and OUT are the same path")
    try:
        parts = read(src)
        dropped = write(parts, dst)
    except (CheckpointError, UnsafeFileError, ValueError, TypeError, KeyError, OSError) as exc:
        raise _fail("convert", str(exc)) from None
    n = len(parts["model"])
    note = f" (not stored in a .safetensors file: {', '.join(dropped)})" if dropped else ""
    print(f"wrote {dst}: {n} tensor{'s' * (n != 1)}{note}")
    return 0


# ---- inspect ----------------------------------------------------------------------------


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _safetensors_header(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{path}: not a safetensors file (too short)")
        n = int.from_bytes(head, "little")
        if n > 100 << 20:
            raise ValueError(f"{path}: not a safetensors file (header of {n} bytes)")
        try:
            header = json.loads(f.read(n))
        except ValueError as exc:
            raise ValueError(f"{path}: not a safetensors file ({exc})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: not a safetensors file (header is not an object)")
    tensors = []
    for name, info in header.items():
        if name == "__metadata__" or not isinstance(info, dict):
            continue
        start, end = (info.get("data_offsets") or [0, 0])[:2]
        tensors.append(
            {
                "name": name,
                "dtype": info.get("dtype"),
                "shape": info.get("shape"),
                "bytes": end - start,
            }
        )
    return {
        "file": str(path),
        "format": "safetensors",
        "tensors": tensors,
        "metadata": header.get("__metadata__") or {},
    }


def _checkpoint(path: Path) -> dict[str, Any]:
    from elman.io import load_checkpoint

    state = load_checkpoint(path, restore_rng=False)
    tensors = [
        {"name": k, "dtype": str(v.dtype), "shape": list(v.shape), "bytes": int(v.nbytes)}
        for k, v in (state["model"] or {}).items()
    ]
    out: dict[str, Any] = {"file": str(path), "format": "elman checkpoint", "tensors": tensors}
    out["metadata"] = {k: v for k, v in state["metadata"].items() if k != "path"}
    opt = state["optimizer"]
    if isinstance(opt, Mapping) and "param_groups" in opt:
        out["optimizer"] = {
            "parameters with state": len(opt.get("state", {})),
            "param_groups": [
                {k: v for k, v in g.items() if k != "params" and not isinstance(v, list)}
                for g in opt["param_groups"]
            ],
        }
    if isinstance(state["scheduler"], Mapping):
        sched = state["scheduler"]
        out["scheduler"] = {k: v for k, v in sched.items() if isinstance(v, (int, float, str))}
    extra = state["extra"] or {}
    out["values"] = {k: v for k, v in extra.items() if isinstance(v, (int, float, str, bool))}
    return out


def describe(path: Path) -> dict[str, Any]:
    import elman

    kind = kind_of(path)
    if kind == "onnx":
        raise ValueError(f"{path}: ONNX files are not supported yet")
    if kind == "safetensors":
        return _safetensors_header(path)
    if kind == "checkpoint":
        return _checkpoint(path)
    return elman.io.describe(path)


_FORMATS = {"zip": "torch.save zip archive", "legacy": "torch.save legacy format (torch < 1.6)"}


def _print(desc: dict[str, Any]) -> None:
    tensors = desc.get("tensors", [])
    total = sum(t.get("bytes") or 0 for t in tensors)
    fmt = _FORMATS.get(desc["format"], desc["format"])
    head = f"{desc['file']}: {fmt}"
    if "byteorder" in desc:
        head += f", {desc['byteorder']}-endian"
    print(f"{head}, {len(tensors)} tensor{'s' * (len(tensors) != 1)}, {_size(total)}")
    if "globals" in desc:
        print("globals: " + (", ".join(desc["globals"]) or "(none)"))
        refused = desc["refused"]
        print("refused by elman.load without an allowlist: " + (", ".join(refused) or "(none)"))
    width = max((len(t["name"]) for t in tensors), default=0)
    if tensors:
        print("tensors:")
    for t in tensors:
        shape = "[" + ", ".join(str(n) for n in t["shape"] or []) + "]"
        line = f"  {t['name']:<{width}}  {t['dtype']:<9} {shape:<14} {_size(t['bytes'] or 0)}"
        if t.get("parameter"):
            line += "  parameter"
        if t.get("device") not in (None, "cpu"):
            line += f"  saved on {t['device']}"
        print(line)
    for obj in desc.get("objects", []):
        attrs = ", ".join(f"{k}={v!r}" for k, v in obj["attributes"].items())
        print(f"object {obj['name']}: {obj['class']}({attrs})")
    for section in ("metadata", "optimizer", "scheduler"):
        if desc.get(section):
            print(f"{section}: {json.dumps(desc[section], default=str)}")
    values = {k: v for k, v in (desc.get("values") or {}).items() if k.count(".") < 2}
    if values:
        shown = list(values.items())[:30]
        more = len(values) - len(shown)
        text = ", ".join(f"{k}={v!r}" for k, v in shown)
        print("values: " + text + (f", ... ({more} more; --json lists all)" if more else ""))


def run_inspect(args: argparse.Namespace) -> int:
    from elman.io import CheckpointError, UnsafeFileError

    if not args.file.exists():
        raise _fail("inspect", f"no such file or folder: {args.file}")
    if args.file.suffix == ".onnx":
        from .onnx_cmd import print_onnx

        return print_onnx(args.file, args.json)
    try:
        desc = describe(args.file)
    except (CheckpointError, UnsafeFileError, ValueError, OSError) as exc:
        raise _fail("inspect", str(exc)) from None
    if args.json:
        print(json.dumps(desc, indent=1, default=repr))
    else:
        _print(desc)
    return 0
