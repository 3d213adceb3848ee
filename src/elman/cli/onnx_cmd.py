"""``elman export``, and ``.onnx`` files in ``elman predict``/``evaluate``/``inspect``.

An exported file carries the training config as ONNX metadata (``elman.config``), so that
``elman predict model.onnx`` knows the task's input format as it would from a checkpoint.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import UserError, check_output_file, first_line, os_reason

__all__ = ["add_parser", "load_onnx_model", "print_onnx", "RUNTIMES"]

RUNTIMES = ("elman", "onnxruntime")
CONFIG_KEY = "elman.config"


def _onnx() -> Any:
    try:
        import elman.onnx as eonnx
    except ImportError:
        raise UserError('ONNX support needs the onnx package: pip install "elman[onnx]"') from None
    return eonnx


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="write a checkpoint's model as an ONNX file (for onnxruntime and friends)",
        description=(
            "Export the model of a checkpoint written by 'elman train' (sine, adding or text) "
            "as ONNX: one RNN node per layer, any batch size and any sequence length. "
            "Input 'x' (N, L, features), or (N, L) character codes for text; outputs 'y' "
            "and 'h_n'. Run it with onnxruntime, or with 'elman predict OUT.onnx'."
        ),
    )
    p.add_argument("checkpoint", type=Path, help="OUT/checkpoint or OUT/best of a training run")
    p.add_argument("output", type=Path, metavar="OUT.onnx", help="the ONNX file to write")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset, 14 to 22 (default 17)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.onnx if it exists")
    p.set_defaults(run=run_export)


def _example(config: dict[str, Any]) -> np.ndarray:
    if config.get("vocab_size"):
        return np.zeros((2, 3), dtype=np.int64)
    return np.zeros((2, 3, config["input_size"]), dtype=config.get("dtype", "float32"))


def run_export(args: argparse.Namespace) -> int:
    from elman.io._atomic import atomic_write_file

    from .use import load_model

    if args.output.suffix != ".onnx":
        raise UserError(f"{args.output} must end in .onnx")
    if args.output.exists() and not args.overwrite:
        raise UserError(f"{args.output} exists; pass --overwrite to replace it")
    check_output_file(args.output, "OUT.onnx")
    eonnx = _onnx()
    model = load_model(args.checkpoint)
    import elman

    x = elman.from_numpy(_example(model.config))
    try:
        proto = eonnx.export(
            model,
            (x,),
            None,
            input_names=["x"],
            output_names=["y", "h_n"],
            opset_version=args.opset,
        )
    except ValueError as exc:
        raise UserError(first_line(str(exc))) from None
    from elman.onnx._tools import save, set_metadata

    set_metadata(proto, {CONFIG_KEY: json.dumps(model.config)})
    try:
        atomic_write_file(args.output, save(proto))
    except OSError as exc:
        raise UserError(f"cannot write {args.output}: {os_reason(exc)}") from None
    layers = sum(1 for n in proto.graph.node if n.op_type == "RNN")
    print(
        f"wrote {args.output}: {layers} RNN node(s), {len(proto.graph.node)} nodes, opset "
        f"{args.opset}; input x with any batch size and length"
    )
    return 0


class OnnxSequenceModel:
    """An exported ``elman train`` model behind the interface of the CLI's SequenceModel:
    ``config``, ``eval()``, and ``model(x) -> (y, h_n)``, run by elman or onnxruntime."""

    def __init__(self, path: Path, runtime: str) -> None:
        eonnx = _onnx()
        from elman.onnx._tools import metadata, onnxruntime_runner

        try:
            meta = metadata(path)
            if CONFIG_KEY not in meta:
                raise UserError(
                    f"{path} was not written by 'elman export' (no {CONFIG_KEY} metadata); "
                    "load it in Python with elman.onnx.load"
                )
            self.config = json.loads(meta[CONFIG_KEY])
            self._run = onnxruntime_runner(path) if runtime == "onnxruntime" else None
            self._module = eonnx.load(path) if runtime == "elman" else None
        except (ValueError, NotImplementedError, ImportError) as exc:
            raise UserError(f"cannot use {path}: {first_line(str(exc))}") from None

    def eval(self) -> OnnxSequenceModel:
        return self

    def __call__(self, x: Any, hx: Any = None) -> tuple[Any, Any]:
        import elman

        if hx is not None:
            raise UserError("an exported model starts from a zero state; it takes no hx")
        if self._module is not None:
            return self._module(x)  # type: ignore[no-any-return]
        y, h_n = self._run(np.asarray(x.numpy()))
        return elman.from_numpy(y), elman.from_numpy(h_n)


def load_onnx_model(path: Path, runtime: str) -> OnnxSequenceModel:
    if not path.is_file():
        raise UserError(f"no ONNX file at {path}")
    return OnnxSequenceModel(path, runtime)


def print_onnx(path: Path, as_json: bool) -> int:
    """``elman inspect FILE.onnx``."""
    eonnx = _onnx()
    try:
        desc = eonnx.describe(path)
    except (ValueError, OSError) as exc:
        raise UserError(f"cannot read {path}: {first_line(str(exc))}") from None
    if as_json:
        print(json.dumps(desc, indent=1))
        return 0
    print(f"{path}: ONNX (IR {desc['ir_version']}, opsets {desc['opsets']}), {desc['producer']}")
    for kind in ("inputs", "outputs"):
        for v in desc[kind]:
            shape = "[" + ", ".join(str(d) for d in v["shape"]) + "]"
            print(f"{kind[:-1]:6} {v['name']}: {v['dtype']} {shape}")
    print("ops: " + ", ".join(f"{k} x{n}" for k, n in desc["ops"].items()))
    for r in desc["rnn_nodes"]:
        extras = [k for k in ("sequence_lens", "initial_h") if r[k]]
        print(
            f"RNN {r['name']}: {r['direction']}, input {r['input_size']}, hidden "
            f"{r['hidden_size']}, {'/'.join(r['activations'])}"
            + (f", with {' and '.join(extras)}" if extras else "")
        )
    print(f"{desc['initializers']} initializers, {desc['parameters']} values")
    for k, v in desc["metadata"].items():
        print(f"metadata {k}: {v[:200]}")
    return 0
