"""What ``elman bench`` times and how: one shape's weights and inputs (:class:`Case`), the
timed closures of each contestant, and the interleaved repetitions (:func:`measure`).

A contestant is elman or a peer (:mod:`.bench_peers`): a name and a ``fwd`` and ``fb``
closure (either may be missing, with the reason in ``notes``). Every contestant runs on the
same weights (elman's model's ``state_dict``) and the same input and output-gradient arrays.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Case",
    "Contestant",
    "elman_contestant",
    "measure",
    "machine_info",
    "packed_rows",
    "regime_of",
]

Shape = tuple[int, int, int, int, int, bool, str]  # (L, N, I, H, layers, bidirectional, regime)


def regime_of(N: int, H: int) -> str:
    """The speed issue's regimes, by batch and hidden size."""
    if H <= 64 or N * H * H <= 100_000:
        return "overhead"
    if N <= 4:
        return "latency"
    if N >= 64 and H >= 256:
        return "compute"
    return "mid"


class Case:
    """One shape: elman's model (the weights every peer copies), the input ``x`` (L, N, I),
    the packed lengths (or None) and the gradient ``g`` of the output (packed rows or
    (L, N, D*H)), all of ``dtype``."""

    def __init__(
        self,
        shape: tuple[Any, ...],
        dtype: str,
        packed: bool,
        seed: int,
        nonlinearity: str = "tanh",
    ) -> None:
        import elman

        L, N, I, H, NL, bi = shape[:6]
        self.shape = tuple(shape)
        self.dtype = dtype
        self.nonlinearity = nonlinearity
        self.num_layers, self.bidirectional, self.hidden_size = NL, bool(bi), H
        rng = np.random.default_rng(seed)
        elman.manual_seed(seed)
        self.model = elman.nn.RNN(
            I, H, NL, nonlinearity=nonlinearity, bidirectional=bool(bi), dtype=dtype
        )
        self.x = rng.standard_normal((L, N, I)).astype(dtype)  # (L, N, I)
        D = 2 if bi else 1
        self.lengths: np.ndarray | None = None
        if packed:
            lengths = np.sort(rng.integers(1, L + 1, size=N))[::-1].copy()
            lengths[0] = L
            self.lengths = lengths
        rows = int(self.lengths.sum()) if self.lengths is not None else L * N
        self.g = rng.standard_normal((rows, D * H) if packed else (L, N, D * H)).astype(dtype)

    def state(self) -> dict[str, np.ndarray]:
        """The weights by torch's names, as NumPy arrays (copies)."""
        return {k: v.numpy().copy() for k, v in self.model.state_dict().items()}

    def padded_grad(self) -> np.ndarray:
        """``g`` as a padded (L, N, D*H) array (zeros past each length)."""
        if self.lengths is None:
            return self.g
        L, N = self.x.shape[:2]
        out = np.zeros((L, N, self.g.shape[-1]), self.g.dtype)
        t, n = packed_rows(self.lengths, L)
        out[t, n] = self.g
        return out


def packed_rows(lengths: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    """The (step, sequence) of each row of a PackedSequence with sorted ``lengths``: packed
    data runs step by step, the live sequences of a step in batch order."""
    mask = np.arange(L)[:, None] < np.asarray(lengths)[None, :]  # (L, N)
    t, n = np.nonzero(mask)
    return t, n


@dataclass
class Contestant:
    """A library's timed closures on one :class:`Case`; ``notes`` says why a kind is missing."""

    name: str
    fwd: Callable[[], None] | None
    fb: Callable[[], None] | None
    notes: dict[str, str] = field(default_factory=dict)


def elman_contestant(case: Case, lib: Any = None, name: str = "elman") -> Contestant:
    """elman's closures on ``case``: the forward under no_grad on a fixed input; and a fresh
    input that requires grad (packed per call for packed shapes), the forward with its
    graph, ``backward`` and every ``.grad`` set to None. ``lib``: another copy of the
    package (an older tree's, imported under another name, for A/B runs), with a model of
    its own holding the case's weights; None: this ``elman`` and ``case.model``."""
    import importlib

    import elman

    if lib is None:
        lib, model = elman, case.model
    else:
        L, N, I, H, layers, bi = case.shape[:6]
        model = lib.nn.RNN(
            I, H, layers, nonlinearity=case.nonlinearity, bidirectional=bool(bi), dtype=case.dtype
        )
        model.load_state_dict({k: lib.from_numpy(v) for k, v in case.state().items()})
    pack_padded_sequence = importlib.import_module(
        f"{lib.__name__}.nn.utils.rnn"
    ).pack_padded_sequence
    lengths, g = case.lengths, case.g

    def inputs(requires_grad: bool) -> Any:
        x = lib.from_numpy(case.x).requires_grad_(requires_grad)  # no copy, as the peers
        return x if lengths is None else pack_padded_sequence(x, lengths)

    fixed = inputs(False)

    def fwd() -> None:
        with lib.no_grad():
            model(fixed)

    def fb() -> None:
        out, _ = model(inputs(True))
        (out.data if lengths is not None else out).backward(g)
        for p in model.parameters():
            p.grad = None

    return Contestant(name, fwd, fb)


def _loops_for(fn: Callable[[], None], min_time: float) -> int:
    t = time.perf_counter()
    fn()
    one = time.perf_counter() - t
    return max(1, int(min_time / max(one, 1e-7)))


def _time(fn: Callable[[], None], loops: int) -> float:
    t = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - t) / loops


def _settled_time(fn: Callable[[], None], loops: int, settle: float) -> float:
    if settle > 0:
        time.sleep(settle)
        fn()
    return _time(fn, loops)


def measure(
    contestants: list[Contestant],
    repeat: int,
    min_time: float,
    fb: bool,
    settle: float = 0.0,
) -> dict[str, Any]:
    """Interleaved repetitions: every contestant once per repetition (in an order rotated by
    one each repetition), for fwd and (optionally) fwd+bwd. The first contestant is elman;
    ``ratios`` are each peer's median over elman's (> 1: elman is faster).

    ``settle`` seconds pass before each timed block, then one untimed call: after a parallel
    region, torch's OpenMP workers and NumPy's OpenBLAS workers keep spinning on a core for
    milliseconds, which would slow whichever library runs next on a two-core machine; and a
    core left idle comes back slowly for its first milliseconds (a VM's vCPU).
    """
    result: dict[str, Any] = {}
    for kind in ("fwd", "fb") if fb else ("fwd",):
        runners = [(c.name, getattr(c, kind)) for c in contestants if getattr(c, kind)]
        entry: dict[str, Any] = {}
        loops = {}
        for name, fn in runners:
            fn()  # warm-up: first calls compile kernels and fill caches
            first = time.perf_counter()
            fn()
            entry[f"{name}_second_call_s"] = time.perf_counter() - first
            loops[name] = _loops_for(fn, min_time)
        times: dict[str, list[float]] = {name: [] for name, _ in runners}
        for rep in range(repeat):
            k = rep % len(runners)
            for name, fn in runners[k:] + runners[:k]:
                times[name].append(_settled_time(fn, loops[name], settle))
        for name, values in times.items():
            entry[f"{name}_s"] = values
        base = statistics.median(times["elman"])
        entry["ratios"] = {
            name: statistics.median(values) / base
            for name, values in times.items()
            if name != "elman"
        }
        if "torch" in entry["ratios"]:
            entry["ratio"] = entry["ratios"]["torch"]  # the key of earlier JSON files
        notes = {c.name: c.notes[kind] for c in contestants if kind in c.notes}
        if notes:
            entry["skipped"] = notes
        result[kind] = entry
    return result


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), else what ``platform`` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(versions: dict[str, str] | None = None) -> dict[str, Any]:
    """The CPU, core count, load and library versions (``versions``: the peers')."""
    import elman

    try:
        import numba

        numba_version = numba.__version__
    except ImportError:
        numba_version = "not installed"

    info: dict[str, Any] = {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba_version,
        "elman": elman.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    try:
        info["load_1min"] = os.getloadavg()[0]
    except OSError:
        pass
    info.update(versions or {})
    return info
