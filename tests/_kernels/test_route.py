"""Following one RNN call of each variant from ``RNN.forward`` enters each kernel file at
most once (the routes docs/kernels.md draws).

What "entered" means here, precisely. The trace records an *entry* of kernel file F (a
module of src/elman/_kernels) each time a function of F starts running called from a
function of another file G (elman.nn, or another kernel file): a Python call seen by
``sys.setprofile``, or a call of a compiled (numba) kernel from Python, seen by wrapping
each kernel module's compiled functions for the traced call only (calls between compiled
kernels are inside one compiled call and not seen; the two halves that
:func:`~elman._kernels.handover.run_pair` runs are attributed to the file that handed
the kernel over, as if it had called it itself). Entries are counted per caller file:
F entered from G any number of times (a loop over layers, a context manager's
``__enter__`` and ``__exit__``) is one entry, ``G -> F``; F entered from two different
files is two entries. So "each file entered at most once" means: every kernel file has
one caller file in the trace, and none is re-entered from below (which would make a
second caller). The shared infrastructure any layer may use, listed in :data:`SHARED`
(the settings and step modes, the thread count and NumPy's BLAS, the small array loops,
the hand-over to the helper thread and its waits, the packing of the SIMD products'
operands, the subnormals' floating-point mode), is exempt from the count; the test checks
that it calls nothing but itself.

The forward and its backward are traced as one call.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import defaultdict
from typing import Any

import numpy as np
import pytest

import elman

pytestmark = pytest.mark.skipif(not elman._kernels.JIT, reason="the compiled routes")

KERNELS = os.path.dirname(elman._kernels.__file__)
SHARED = {
    "config.py",
    "modes.py",
    "threads.py",
    "_blas.py",
    "array_loops.py",
    "handover.py",
    "waiting.py",
    "denormals.py",
    "simd_products.py",
    "simd_vector.py",
    "scratch.py",
}

# variant name -> (L, N, I, H, num_layers, bidirectional): a shape it serves (layered-pairs
# twice: the directions side by side, and a unidirectional stack's layer pipeline)
SHAPES = {
    "fused": (6, 3, 4, 5, 2, True),
    "fused-forward": (6, 3, 4, 5, 2, True),
    "fused-outer": (3, 1, 8, 128, 1, False),
    "fused-forward-outer": (3, 1, 8, 128, 1, False),
    "fused-forward-gemm": (6, 3, 40, 4, 2, False),
    "fused-gemm": (6, 3, 40, 4, 2, True),
    "layered-axpy": (20, 1, 8, 64, 2, False),
    "layered-dot": (20, 4, 8, 64, 2, True),
    "layered-outer": (20, 4, 8, 64, 2, True),
    "layered-gemm": (20, 4, 8, 64, 2, True),
    "layered-split": (20, 3, 8, 64, 2, True),
    "layered-pairs": (20, 3, 8, 64, 2, True),
    "layered-pairs-stack": (20, 3, 8, 64, 3, False),
    "layered-rows": (20, 8, 8, 64, 2, True),
    "layered-rows-outer": (20, 8, 8, 64, 2, True),
}


def _rel(path: str) -> str:
    return os.path.relpath(path, KERNELS) if path.startswith(KERNELS) else "<outside>"


class Route:
    """Entries (caller file, kernel file) seen while active."""

    def __init__(self) -> None:
        self.edges: dict[str, set[str]] = defaultdict(set)
        self.order: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def enter(self, caller: str, callee: str) -> None:
        if callee == "<outside>" or caller == callee:
            return
        with self.lock:
            if caller not in self.edges[callee]:
                self.order.append((caller, callee))
            self.edges[callee].add(caller)

    def profile(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_back is not None:
            self.enter(_caller(frame.f_back), _rel(frame.f_code.co_filename))


def _caller(frame: Any) -> str:
    """The file of ``frame``, skipping this test's own stand-ins (they are not callers)."""
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return "<outside>" if frame is None else _rel(frame.f_code.co_filename)


def _compiled_functions() -> list[tuple[Any, str, Any]]:
    """(module, name, dispatcher) for every compiled function a kernel module holds."""
    from numba.core.registry import CPUDispatcher

    found = []
    for name, module in list(sys.modules.items()):
        if name.startswith("elman._kernels.") and module is not None:
            for attr, value in vars(module).items():
                if isinstance(value, CPUDispatcher):
                    found.append((module, attr, value))
    return found


def trace(run: Any, monkeypatch: pytest.MonkeyPatch) -> Route:
    """Run ``run()`` once to compile, then again traced."""
    run()
    route = Route()
    handed: dict[int, str] = {}  # id of a compiled kernel handed to run_pair -> the file

    def wrap(dispatcher: Any) -> Any:
        callee = _rel(dispatcher.py_func.__code__.co_filename)

        def call(*args: Any) -> Any:
            caller = _caller(sys._getframe(1))
            if caller == "handover.py":  # a half run_pair runs: from the file that handed it
                caller = handed.get(id(call), caller)
            route.enter(caller, callee)
            return dispatcher(*args)

        return call

    wrappers = {}
    for module, attr, dispatcher in _compiled_functions():
        if id(dispatcher) not in wrappers:
            wrappers[id(dispatcher)] = wrap(dispatcher)
        monkeypatch.setattr(module, attr, wrappers[id(dispatcher)])
    from elman._kernels import handover

    real_run_pair = handover.run_pair

    def run_pair(kernel: Any, *args: Any) -> Any:
        handed[id(kernel)] = _caller(sys._getframe(1))
        return real_run_pair(kernel, *args)

    for name, module in list(sys.modules.items()):
        if name.startswith("elman._kernels.") and module is not None:
            for attr, value in list(vars(module).items()):
                if value is real_run_pair:
                    monkeypatch.setattr(module, attr, run_pair)
    sys.setprofile(route.profile)
    try:
        run()
    finally:
        sys.setprofile(None)
        monkeypatch.undo()
    return route


def _call(shape: tuple) -> Any:
    L, N, I, H, NL, bi = shape
    elman.manual_seed(0)
    rnn = elman.nn.RNN(I, H, num_layers=NL, bidirectional=bi)
    x = np.random.default_rng(0).standard_normal((L, N, I)).astype(np.float32)

    def run() -> None:
        rnn._fast_plans.clear()  # the decision is taken in every traced call
        xt = elman.tensor(x, requires_grad=True)
        out, hn = rnn(xt)
        (out.sum() + hn.sum()).backward()

    return run


@pytest.mark.parametrize("name", list(SHAPES))
def test_each_kernel_file_is_entered_at_most_once(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from elman._kernels import dispatch

    variant = dispatch.VARIANTS[name.replace("-stack", "")]
    monkeypatch.setattr(dispatch, "FORCED", variant.name)
    route = trace(_call(SHAPES[name]), monkeypatch)
    twice = {f: sorted(c) for f, c in route.edges.items() if len(c) > 1 and f not in SHARED}
    assert twice == {}, route.order
    called_by_shared = {f for f, callers in route.edges.items() if callers & SHARED}
    assert called_by_shared <= SHARED, route.order  # the shared files call only their own
    # the trace saw the variant's own entries and compiled loops
    entries = {"fused_stack.py" if variant.fused else "layered_stack.py"}
    entries.add("fused_stack.py" if variant.fused_backward else "layered_stack.py")
    assert entries <= route.edges.keys(), route.order
    compiled = {"fused_stack_loops.py", "recurrence.py", "recurrence_gemm.py", "layer_pipeline.py"}
    assert compiled & route.edges.keys() or "split_recurrence.py" in route.edges, route.order
