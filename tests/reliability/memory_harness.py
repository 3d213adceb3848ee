"""Peak memory of one RNN call, measured in a fresh process (used by test_memory.py and
campaign_memory.py; not a test module).

:func:`run_case` starts ``python memory_harness.py '<case as JSON>'`` with the case's kernel
variant in ``ELMAN_KERNEL_VARIANT`` and returns what the child printed. The child builds the
RNN and its input, runs the call once to compile and warm up, then resets the kernel's
high-water mark of its resident set (``/proc/self/clear_refs`` ``5``), notes the resident
set (the baseline: interpreter, NumPy, numba, compiled kernels, model, input), runs the call
again and reads the high-water mark (``VmHWM``). ``growth`` = peak - baseline: every byte the
call needed at its worst moment, including its result.

glibc's ``malloc`` is pinned to ``mmap`` from 128 KiB up (``MALLOC_MMAP_THRESHOLD_``, which
also stops its threshold from growing after large frees), so a large array freed by the
warm-up is returned to the system instead of staying in the heap, where the second call
would reuse it unseen.

A case (a dict): ``I``, ``H``, ``layers``, ``bi``, ``N``, ``T`` (steps; packed: the longest
sequence), ``layout`` (``time``, ``batch``, ``unbatched`` or ``packed``), ``dtype``
(``float32``/``float64``), ``mode`` (``infer``: the forward under ``no_grad``; ``train``:
forward with the graph, ``(out.sum() + h_n.sum()).backward()``), ``variant`` (a name of
:data:`elman._kernels.dispatch.VARIANTS` or ``""`` for the dispatcher's choice), optional
``lane`` (``fast``, or ``general``: a parameter replaced so the general path runs),
``jit`` (False: ``ELMAN_DISABLE_JIT=1``, the NumPy reference), ``dropout`` (with the module
in training mode), ``lib`` (``elman``, the default, or ``torch``: the same call on
``torch.nn.RNN``, one intra-op thread), ``steps`` (mode ``steps``: that many training
steps, forward + backward + ``Adam.step``, on one batch; the record holds the resident set
after every step, ``rss_steps``, from the first on).
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}


def can_reset_peak() -> bool:
    """Whether this kernel lets a process reset its own peak RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def run_case(case: dict[str, Any], timeout: float = 600, src: str | None = None) -> dict[str, Any]:
    """Measure ``case`` in a fresh interpreter (importing elman from ``src``, by default
    from where this process imports it); returns the child's JSON record."""
    env = {**os.environ, **MALLOC_ENV}
    env.pop("ELMAN_KERNEL_VARIANT", None)
    if case.get("variant"):
        env["ELMAN_KERNEL_VARIANT"] = case["variant"]
    if case.get("jit", True) is False:
        env["ELMAN_DISABLE_JIT"] = "1"
    src = src or _elman_root()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, __file__, json.dumps(case)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"memory case {case} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _elman_root() -> str:
    """The folder holding the elman package this process imports (this checkout's src
    when none is found)."""
    spec = importlib.util.find_spec("elman")
    if spec is not None and spec.origin:
        return str(Path(spec.origin).resolve().parents[1])
    return str(Path(__file__).resolve().parents[2] / "src")


def _status() -> dict[str, int]:
    """VmRSS and VmHWM in bytes."""
    with open("/proc/self/status") as f:
        text = f.read()
    return {
        k: int(re.search(rf"{k}:\s+(\d+) kB", text).group(1)) * 1024 for k in ("VmRSS", "VmHWM")
    }


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _build(case: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The RNN, its input (Tensor or PackedSequence) and the library's module."""
    if case.get("lib") == "torch":
        return _build_torch(case)
    import numpy as np

    import elman
    from elman.nn.utils.rnn import pack_padded_sequence

    elman.manual_seed(0)
    I, H, NL, N, T = case["I"], case["H"], case["layers"], case["N"], case["T"]
    layout, dtype = case["layout"], np.dtype(case["dtype"])
    rnn = elman.nn.RNN(
        I,
        H,
        NL,
        bidirectional=case["bi"],
        batch_first=layout == "batch",
        dropout=case.get("dropout", 0.0),
        dtype=dtype,
    )
    rnn.train(bool(case.get("dropout", 0.0)))
    if case.get("lane") == "general":  # a replaced parameter: the general path runs
        rnn.weight_hh_l0 = elman.nn.Parameter(rnn.weight_hh_l0.detach().numpy().copy())
    rng = np.random.default_rng(0)
    shape = {"time": (T, N, I), "batch": (N, T, I), "unbatched": (T, I), "packed": (T, N, I)}
    x = elman.tensor(rng.standard_normal(shape[layout], dtype=np.float64).astype(dtype))
    if layout == "packed":
        x = pack_padded_sequence(x, _lengths(T, N, np))
    return rnn, x, elman


def _build_torch(case: dict[str, Any]) -> tuple[Any, Any, Any]:
    """:func:`_build` for torch.nn.RNN: the same shapes, layout and input values."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    I, H, NL, N, T = case["I"], case["H"], case["layers"], case["N"], case["T"]
    layout = case["layout"]
    dtype = torch.float32 if case["dtype"] == "float32" else torch.float64
    rnn = torch.nn.RNN(
        I, H, NL, bidirectional=case["bi"], batch_first=layout == "batch",
        dropout=case.get("dropout", 0.0), dtype=dtype,
    )  # fmt: skip
    rnn.train(bool(case.get("dropout", 0.0)))
    rng = np.random.default_rng(0)
    shape = {"time": (T, N, I), "batch": (N, T, I), "unbatched": (T, I), "packed": (T, N, I)}
    x = torch.from_numpy(rng.standard_normal(shape[layout], dtype=np.float64)).to(dtype)
    if layout == "packed":
        x = torch.nn.utils.rnn.pack_padded_sequence(x, torch.from_numpy(_lengths(T, N, np)))
    return rnn, x, torch


def _picked(case: dict[str, Any]) -> str:
    """The variant that runs: its name in VARIANTS, else the Variant itself."""
    if case.get("lib") == "torch":
        return "torch"
    from elman import _kernels

    if not _kernels.JIT:
        return "reference"
    from elman._kernels.dispatch import VARIANTS, choose

    D, N, T = 2 if case["bi"] else 1, case["N"], case["T"]
    rows = T * N if case["layout"] != "packed" else _packed_rows(T, N)
    v = choose(rows, N, case["I"], case["H"], case["layers"], D)
    names = [k for k, w in VARIANTS.items() if w == v]
    if names:
        return names[0]
    return "fused, layered backward" if v.fused else repr(v)


def _packed_rows(T: int, N: int) -> int:
    import numpy as np

    return int(_lengths(T, N, np).sum())


def _lengths(T: int, N: int, np: Any) -> Any:
    """Packed cases: lengths from T down to about T/2."""
    return np.linspace(T, max(1, T // 2), N).astype(np.int64)


def _call(rnn: Any, x: Any, elman: Any, mode: str) -> Any:
    if mode == "infer":
        with elman.no_grad():
            return rnn(x)
    out, hn = rnn(x)
    data = out.data if hasattr(out, "batch_sizes") else out
    (data.sum() + hn.sum()).backward()
    return out, hn


def _train_steps(rnn: Any, x: Any, lib: Any, steps: int) -> tuple[Any, list[int]]:
    """``steps`` optimiser steps on one batch; the resident set after each."""
    opt = lib.optim.Adam(rnn.parameters(), lr=1e-3)
    rss = []
    for _ in range(steps):
        opt.zero_grad()
        out, hn = _call(rnn, x, lib, "train")
        opt.step()
        del out, hn
        rss.append(_status()["VmRSS"])
    return _call(rnn, x, lib, "infer"), rss


def measure(case: dict[str, Any]) -> dict[str, Any]:
    """Run ``case`` here (in the child) and return its record."""
    rnn, x, elman = _build(case)
    picked = _picked(case)
    if case["mode"] == "steps":
        (out, hn), rss = _train_steps(rnn, x, elman, case["steps"])
        return {**case, "picked": picked, "rss_steps": rss}
    result = _call(rnn, x, elman, case["mode"])  # compile, warm up
    del result
    gc.collect()
    _reset_peak()
    base = _status()["VmRSS"]
    start = time.perf_counter()
    out, hn = _call(rnn, x, elman, case["mode"])
    seconds = time.perf_counter() - start
    peak = _status()["VmHWM"]
    gc.collect()
    kept = _status()["VmRSS"] - base
    data = (out.data if hasattr(out, "batch_sizes") else out).detach().numpy()
    out_bytes = data.nbytes + hn.detach().numpy().nbytes
    D = 2 if case["bi"] else 1
    rows = data.size // (D * case["H"])
    item = data.itemsize
    return {
        **case,
        "rows": rows,
        "picked": picked,
        "seconds": round(seconds, 3),
        "growth": peak - base,
        "out_bytes": out_bytes,
        "kept": kept,
        # one element per row, unit, direction and layer: the unit of the training constant
        "lndh_bytes": rows * case["H"] * D * case["layers"] * item,
    }


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))))
