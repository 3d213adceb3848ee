"""The differential fuzzer's core: run one case in elman and in torch, compare the outcomes.

A *case* is an entry point's name plus abstract argument values (:class:`Arr` for tensors,
:class:`DT` for dtypes, plain Python/NumPy values otherwise). Each library renders the
abstract values in its own terms (``elman.tensor`` / ``torch.tensor``, ``numpy.float32`` /
``torch.float32``), runs the target's scenario under a time bound, and the outcome (a value
or an exception) is normalised to NumPy arrays and builtin exception types. Successes are
then pushed backward with the same upstream gradients, so values AND gradients are compared,
NaN and ±inf positions included.

Verdicts (``Verdict.kind``):
    ok            same outcome class; equal numbers, or exception types equal/allowlisted
    undocumented  elman raised a type outside the documented set (OverflowError, MemoryError,
                  AttributeError, a numba error, ...)
    mismatch      one library raised and the other did not, not allowlisted
    type          both raised, different types, not allowlisted
    silent        both succeeded but the numbers (values, dtypes, shapes, NaN/inf
                  positions, gradients) differ
    hang          the case ran past its time bound
"""

from __future__ import annotations

import builtins
import dataclasses
import importlib
import os
import signal
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

import elman

# ---- the torch oracle (optional) -----------------------------------------------------------


def load_torch() -> Any:
    """torch, unless absent or ``ELMAN_TEST_NO_TORCH=1`` simulates a torch-less install."""
    if os.environ.get("ELMAN_TEST_NO_TORCH", "") not in ("", "0"):
        return None
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


TORCH = load_torch()

# The exception types elman may raise at its public boundary (docs/reliability.md); targets
# add their own where torch raises one too (KeyError, AssertionError, OSError for files).
DOCUMENTED = (ValueError, TypeError, RuntimeError, IndexError)

# ---- abstract argument values ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Arr:
    """A tensor argument: its values, whether it requires grad, and the form it is passed
    in ("tensor", "param" for nn.Parameter, "ndarray", "list", "t" for a transposed view)."""

    data: np.ndarray
    rg: bool = False
    form: str = "tensor"

    def __repr__(self) -> str:
        extra = (", rg" if self.rg else "") + ("" if self.form == "tensor" else f", {self.form}")
        return f"Arr({self.data.dtype}{list(self.data.shape)}{extra}: {self.data.tolist()!r:.80})"


@dataclasses.dataclass(frozen=True)
class DT:
    """A dtype, given to each library in its own spelling."""

    name: str

    def __repr__(self) -> str:
        return f"DT({self.name})"


class Lib:
    """How one library spells the abstract values; ``mod`` is the library's top module."""

    name = ""
    mod: Any = None

    def __init__(self) -> None:
        self.leaves: list[Any] = []  # tensors rendered with requires_grad, in order

    def tensor(self, a: Arr) -> Any:
        raise NotImplementedError

    def dtype(self, d: DT) -> Any:
        raise NotImplementedError

    def render(self, v: Any) -> Any:
        if isinstance(v, Arr):
            return self.tensor(v)
        if isinstance(v, DT):
            return self.dtype(v)
        if isinstance(v, list):
            return [self.render(x) for x in v]
        if isinstance(v, tuple):
            return tuple(self.render(x) for x in v)
        if isinstance(v, dict):
            return {k: self.render(x) for k, x in v.items()}
        return v

    def _form(self, a: Arr, make: Callable[[np.ndarray, bool], Any]) -> Any:
        if a.form == "ndarray":
            return a.data.copy()
        if a.form == "list":
            return a.data.tolist()
        if a.form == "t":  # a non-contiguous view: the transpose of a contiguous tensor
            t = make(np.ascontiguousarray(a.data.T), a.rg)
            if a.rg:
                self.leaves.append(t)
            return t.t() if a.data.ndim == 2 else t
        t = make(a.data.copy(), a.rg)
        if a.form == "param":
            t = self.mod.nn.Parameter(t, requires_grad=a.rg)
        if a.rg:
            self.leaves.append(t)
        return t


class ElmanLib(Lib):
    name = "elman"
    mod = elman

    def tensor(self, a: Arr) -> Any:
        return self._form(a, lambda d, rg: elman.tensor(d, requires_grad=rg))

    def dtype(self, d: DT) -> Any:
        return np.dtype(d.name).type if hasattr(np, d.name) else d.name


class TorchLib(Lib):
    name = "torch"
    mod = TORCH

    def tensor(self, a: Arr) -> Any:
        return self._form(a, lambda d, rg: TORCH.tensor(d, requires_grad=rg))

    def dtype(self, d: DT) -> Any:
        return getattr(TORCH, d.name, d.name)


# ---- outcomes ----------------------------------------------------------------------------------


class Corrupt(Exception):
    """Raised by a scenario that caught the library returning altered data without an error
    (a damaged file loaded as if it were whole): a silent difference."""


HERE = os.path.dirname(os.path.abspath(__file__))


def _harness_fault(e: BaseException) -> bool:
    """An AttributeError/NameError raised by the fuzzer's own code (not the library's)."""
    if not isinstance(e, (AttributeError, NameError)):
        return False
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return (
        tb is not None and os.path.dirname(os.path.abspath(tb.tb_frame.f_code.co_filename)) == HERE
    )


class CaseTimeout(BaseException):
    """Raised by the alarm when a case runs past its bound (a BaseException, so that no
    ``except Exception`` in the code under test swallows it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout


@dataclasses.dataclass
class Outcome:
    ok: bool
    value: Any = None  # normalised result (arrays, tuples, scalars)
    grads: Any = None  # normalised gradients of the leaves, after one backward
    exc: type | None = None
    msg: str = ""
    seconds: float = 0.0
    timed_out: bool = False
    harness: bool = False  # the exception came from the fuzzer's own code
    warned: list[str] = dataclasses.field(default_factory=list)

    def describe(self) -> str:
        if self.timed_out:
            return f"timed out after {self.seconds:.1f} s"
        if not self.ok:
            return f"{self.exc.__name__ if self.exc else '?'}: {self.msg[:300]}"
        return f"ok {summarise(self.value)}"


def builtin_base(exc: type) -> type:
    """The first builtin class in the MRO: torch.OutOfMemoryError -> RuntimeError,
    CheckpointError -> ValueError, a numba TypingError -> Exception."""
    for cls in exc.__mro__:
        if getattr(builtins, cls.__name__, None) is cls:
            return cls
    return Exception


def normalise(v: Any, lib: Lib) -> Any:
    """Tensors to ("T", ndarray, requires_grad) records, containers recursively, modules to
    their named parameters; everything else as is (or its type name when opaque)."""
    if isinstance(v, (elman.Tensor,)) or (TORCH is not None and isinstance(v, TORCH.Tensor)):
        data = v.detach().cpu().numpy() if lib.name == "torch" else v.detach().numpy()
        return ("T", np.array(data, copy=True))
    if isinstance(v, np.ndarray):  # (elman.get_rng_state gives the ndarray itself)
        return ("T", np.array(v, copy=True))
    if isinstance(v, (list, tuple)):
        return tuple(normalise(x, lib) for x in v)
    if isinstance(v, dict):
        return {str(k): normalise(x, lib) for k, x in v.items()}
    if hasattr(v, "named_parameters") and hasattr(v, "state_dict"):
        return {k: normalise(p, lib) for k, p in v.named_parameters()}
    if TORCH is not None and isinstance(v, TORCH.dtype):
        return str(v).replace("torch.", "")
    if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
        return np.dtype(v).name
    if isinstance(v, (bool, int, float, str, complex, type(None), np.generic)):
        return v
    return f"<{type(v).__name__}>"


def tensors_in(v: Any) -> Iterable[Any]:
    if isinstance(v, elman.Tensor) or (TORCH is not None and isinstance(v, TORCH.Tensor)):
        yield v
    elif isinstance(v, (list, tuple)):
        for x in v:
            yield from tensors_in(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from tensors_in(x)


def upstream(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """The gradient pushed into an output: the same pseudo-random values in both libraries."""
    rng = np.random.default_rng(sum(shape) * 31 + len(shape))
    return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)


def run_case(
    lib: Lib, scenario: Callable[[Lib, Any], Any], args: Any, *, seconds: float, seed: int = 0
) -> Outcome:
    """Render ``args`` for ``lib``, run ``scenario(lib, rendered)`` and one backward through
    every result that requires grad, under numpy's default error state, recording warnings."""
    lib.leaves = []
    lib.mod.manual_seed(seed)
    start = time.perf_counter()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    out = Outcome(ok=True)
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"),
        ):
            warnings.simplefilter("always")
            try:
                result = scenario(lib, lib.render(args))
                out.value = normalise(result, lib)
                out.grads = _backward(lib, result)
            except CaseTimeout:
                out = Outcome(ok=False, timed_out=True)
            except Exception as e:  # noqa: BLE001 - the outcome under test
                out = Outcome(ok=False, exc=type(e), msg=str(e), harness=_harness_fault(e))
        out.warned = sorted({f"{w.category.__name__}: {str(w.message)[:80]}" for w in caught})
    except CaseTimeout:  # the alarm fired between the inner handler and here
        out = Outcome(ok=False, timed_out=True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    out.seconds = time.perf_counter() - start
    return out


def _backward(lib: Lib, result: Any) -> Any:
    outs = [t for t in tensors_in(result) if t.requires_grad]
    leaves = [t for t in lib.leaves if t.requires_grad]
    if not outs or not leaves:
        return None
    grads = []
    for t in outs:
        g = upstream(tuple(t.shape), np.dtype(str(t.dtype).replace("torch.", "")))
        grads.append(lib.tensor(Arr(g)) if lib.name == "torch" else elman.tensor(g))
    try:
        lib.mod.autograd.backward(outs, grads)
    except Exception as e:  # noqa: BLE001 - compared like any other outcome
        return ("backward raised", builtin_base(type(e)).__name__)
    return tuple(
        None if t.grad is None else ("T", np.array(normalise(t.grad, lib)[1])) for t in leaves
    )


# ---- comparison --------------------------------------------------------------------------------


def summarise(v: Any) -> str:
    if isinstance(v, tuple) and len(v) == 2 and v[0] == "T":
        a = v[1]
        return f"{a.dtype}{list(a.shape)}"
    if isinstance(v, tuple):
        return "(" + ", ".join(summarise(x) for x in v) + ")"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {summarise(x)}" for k, x in v.items()) + "}"
    return repr(v)[:60]


# Set by the verdict for cases that compute anything in float32/float16: then float64 results
# (the gradient of a float64 leaf through a float32 op) carry float32 rounding too.
LOOSE = [False]


def _tolerance(dtype: np.dtype) -> tuple[float, float]:
    if dtype == np.float16:
        return (2e-3, 2e-3)
    return (1e-7, 1e-9) if dtype == np.float64 and not LOOSE[0] else (2e-4, 2e-5)


def arrays_differ(a: np.ndarray, b: np.ndarray) -> str:
    """Why two arrays differ ('' when equal within tolerance, NaN/inf positions exactly)."""
    if a.dtype != b.dtype:
        return f"dtype {a.dtype} != {b.dtype}"
    if a.shape != b.shape:
        return f"shape {a.shape} != {b.shape}"
    if a.dtype.kind not in "fc":
        return "" if np.array_equal(a, b) else "values differ"
    if a.dtype.kind == "c":  # the real and imaginary parts as two float arrays
        return arrays_differ(a.real.copy(), b.real.copy()) or arrays_differ(
            a.imag.copy(), b.imag.copy()
        )
    for what, test in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
        if not np.array_equal(test(a), test(b)):
            return f"{what} positions differ ({int(test(a).sum())} vs {int(test(b).sum())})"
    fin = np.isfinite(a)
    x, y = a[fin].astype(np.float64), b[fin].astype(np.float64)
    if x.size == 0:
        return ""
    rtol, atol = _tolerance(a.dtype)
    scale = max(1.0, float(np.max(np.abs(y))))
    bad = np.abs(x - y) > atol * scale + rtol * np.abs(y)
    if bad.any():
        i = int(np.argmax(bad))
        return f"values differ at {int(bad.sum())} places (e.g. {x[i]!r} vs {y[i]!r})"
    return ""


def differ(a: Any, b: Any, where: str = "") -> str:
    """Why two normalised values differ, or ''."""
    if isinstance(a, tuple) and len(a) == 2 and a[0] == "T":
        if not (isinstance(b, tuple) and len(b) == 2 and b[0] == "T"):
            return f"{where}: tensor vs {summarise(b)}"
        why = arrays_differ(a[1], b[1])
        return f"{where}: {why}" if why else ""
    if isinstance(a, tuple) and isinstance(b, tuple):
        if len(a) != len(b):
            return f"{where}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            why = differ(x, y, f"{where}[{i}]")
            if why:
                return why
        return ""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{where}: keys {list(a)} vs {list(b)}"
        for k in a:
            why = differ(a[k], b[k], f"{where}.{k}")
            if why:
                return why
        return ""
    if isinstance(a, float) and isinstance(b, float):
        if np.isnan(a) and np.isnan(b):
            return ""
        same = a == b or abs(a - b) <= 1e-6 * max(1.0, abs(b))
        return "" if same else f"{where}: {a!r} vs {b!r}"
    if isinstance(a, (int, float, bool, np.generic)) and isinstance(b, (int, float, bool)):
        return "" if a == b or (a != a and b != b) else f"{where}: {a!r} vs {b!r}"
    return "" if a == b else f"{where}: {summarise(a)} vs {summarise(b)}"
