"""Targets (one public entry point each), the allowlist of documented differences, and the
verdict on one case."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from fuzz_allow import GLOBAL, Allow, pending, same_kind
from fuzz_allow_more import ALLOW_MORE
from fuzz_allow_nn import ALLOW_NN
from fuzz_allow_utils import ALLOW_UTILS
from fuzz_core import (
    DOCUMENTED,
    DT,
    LOOSE,
    TORCH,
    Arr,
    Corrupt,
    ElmanLib,
    Lib,
    Outcome,
    TorchLib,
    builtin_base,
    differ,
    run_case,
)
from fuzz_values import contains, non_finite

Scenario = Callable[[Lib, Any], Any]

# never acceptable from elman, even where torch raises the same (torch's xavier_uniform_ of
# an empty tensor divides by zero)
BANNED = (ZeroDivisionError, MemoryError, FloatingPointError)


@dataclasses.dataclass
class Target:
    """One public entry point: how to draw its arguments and run it in each library.

    ``torch_scenario`` defaults to ``scenario`` (elman mirrors torch's names);
    ``reference(args)`` gives the expected normalised value when torch is absent;
    ``extra`` lists exception types elman documents here beyond ValueError, TypeError,
    RuntimeError and IndexError (e.g. KeyError where torch raises it, OSError for files).
    """

    name: str
    strategy: Any
    scenario: Scenario
    torch_scenario: Scenario | None = None
    allow: Sequence[Allow] = ()
    extra: tuple[type, ...] = ()
    reference: Callable[[Any], Any] | None = None
    seconds: float = 30.0
    has_torch: bool = True  # False: no torch counterpart, elman's invariants only
    skip_torch: Callable[[Any], bool] | None = None  # cases torch cannot run (it would hang)


@dataclasses.dataclass
class Verdict:
    kind: str  # ok, undocumented, mismatch, type, silent, hang, message
    detail: str = ""
    nan: bool = False  # the case holds NaN/inf values
    allowed: str = ""  # the allowlist reason that applied, if any
    extreme: bool = False  # the case holds huge finite values (|x| >= 1e15)
    pending: str = ""  # a known difference left to other work (fuzz_allow.NAN_PENDING)
    elman: Outcome | None = None
    torch: Outcome | None = None
    slow_first: float = 0.0  # seconds of a first run past the bound whose re-run finished

    def report(self, target: str, args: Any) -> str:
        tag = " [nan/inf input]" if self.nan else " [huge input]" if self.extreme else ""
        tag += f" (pending: {self.pending})" if self.pending else ""
        lines = [f"{target}: {self.kind}{tag} {self.detail}", f"  case:  {args!r}"[:2000]]
        if self.elman is not None:
            lines.append(f"  elman: {self.elman.describe()}")
        if self.torch is not None:
            lines.append(f"  torch: {self.torch.describe()}")
        return "\n".join(lines)


def judge(target: Target, args: Any, e: Outcome, t: Outcome | None) -> Verdict:
    """The verdict on one case given elman's outcome and torch's (None without torch)."""
    v = Verdict("ok", nan=non_finite(args), elman=e, torch=t)
    LOOSE[0] = contains(args, _low_precision)
    if e.timed_out:
        v.kind, v.detail = "hang", f"elman ran past {target.seconds} s"
        return v
    if not e.ok and (e.harness or (t is not None and t.harness)):
        v.kind, v.detail = "harness", f"the fuzzer's own code failed: {e.msg or t.msg}"
        return v
    if not e.ok and e.exc is Corrupt:
        v.kind, v.detail = "silent", e.msg
        return v
    if not e.ok:
        assert e.exc is not None
        base = builtin_base(e.exc)
        torch_same = t is not None and not t.ok and t.exc is not None
        torch_same = torch_same and builtin_base(t.exc) is base  # type: ignore[arg-type]
        banned = issubclass(e.exc, BANNED)  # (even where torch raises them too)
        if banned or not issubclass(e.exc, DOCUMENTED + target.extra) and not torch_same:
            v.kind, v.detail = "undocumented", f"elman raised {e.exc.__module__}.{e.exc.__name__}"
            return v
        if not e.msg.strip() and base is not KeyError:
            v.kind, v.detail = "message", f"elman raised {e.exc.__name__} without a message"
            return v
    if t is None or t.timed_out:
        expected = None
        if e.ok and target.reference is not None:
            with np.errstate(all="ignore"):  # (the reference's own NaN/inf arithmetic)
                expected = target.reference(args)
        if expected is not None:
            why = differ(e.value, expected, "value")
            if why:
                v.kind, v.detail = "silent", f"elman vs NumPy reference: {why}"
                v.extreme = contains(args, _extreme)
                v.pending = pending(target.name, v.nan, v.extreme)
        return v
    if e.ok and t.ok:
        why = differ(e.value, t.value, "value") or differ(e.grads, t.grads, "grad")
        if not why:
            return v
        v.kind, v.detail = "silent", why
    elif not e.ok and not t.ok and same_kind(e, t):
        return v
    else:
        v.kind = "type" if not e.ok and not t.ok else "mismatch"
        v.detail = f"elman {e.describe()[:200]} / torch {t.describe()[:200]}"
    for allow in (*target.allow, *ALLOW_NN, *ALLOW_UTILS, *ALLOW_MORE, *GLOBAL):
        if allow.applies(target.name, args, e, t, v.detail):
            v.kind, v.detail, v.allowed = "ok", "", allow.reason
            return v
    v.extreme = contains(args, _extreme)
    if v.kind == "silent":
        v.pending = pending(target.name, v.nan, v.extreme)
    return v


def _low_precision(value: Any) -> bool:
    if isinstance(value, Arr):
        return value.data.dtype in (np.float32, np.float16)
    return isinstance(value, DT) and value.name in ("float32", "float16")


def _extreme(value: Any) -> bool:
    """Finite values so large that float32 rounding decides results (|x| >= 1e15)."""
    if isinstance(value, Arr) and value.data.dtype.kind == "f" and value.data.size:
        with np.errstate(invalid="ignore"):
            big = np.abs(value.data[np.isfinite(value.data)])
        return bool(big.size and big.max() >= 1e15)
    return False


def run_target(target: Target, args: Any, *, use_torch: bool = True, seed: int = 0) -> Verdict:
    """Run one case of ``target`` in elman (and torch when available) and judge it."""
    e = run_case(ElmanLib(), target.scenario, args, seconds=target.seconds, seed=seed)
    slow = 0.0
    if e.timed_out:
        # The first call of a kernel variant compiles it (Numba): on a loaded machine that
        # alone can pass the bound (measured 46-58 s at load 12; the alarm aborts the
        # compile). Run the case once more with ten times the bound: a real hang passes it
        # again; a native loop that never returns is caught by the campaign's worker bound.
        slow = e.seconds
        e = run_case(ElmanLib(), target.scenario, args, seconds=10 * target.seconds, seed=seed)
    t = None
    skip = target.skip_torch is not None and target.skip_torch(args)
    if use_torch and TORCH is not None and target.has_torch and not skip:
        scenario = target.torch_scenario or target.scenario
        t = run_case(TorchLib(), scenario, args, seconds=target.seconds, seed=seed)
    v = judge(target, args, e, t)
    v.slow_first = slow if slow and not e.timed_out else 0.0
    return v
