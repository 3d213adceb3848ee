"""The machine's bound for one RNN call (forward, and forward+backward with the input's
gradient, as ``elman bench`` and the sweep time them): how fast any implementation could
run the call on this machine, from the machine's measured peak (:mod:`.core_probe`).

Three bounds, each a time no implementation can beat; the call's bound is the largest:

* **FLOP**: 2 · multiply-adds / the peak FLOP/s of a large GEMM on all cores. Per layer and
  direction over R rows (L·N dense, the sum of the lengths packed) with input width I_l
  (I, then D·H): forward R·I_l·H + R'·H²; the backward adds 2R'·H² + 2R·I_l·H (dh through
  W_hh, dW_hh, dW_ih and dX: the benchmark's input needs its gradient), where R' = R − N
  leaves out each sequence's first step: it starts from h0 = 0 (no hx), so its product
  with W_hh, and its share of dW_hh, are zero (XLA folds them away: JAX ran a one-step
  call below a bound that counted them).
* **Bandwidth**: the bytes that must move / the copy bandwidth measured at a footprint no
  larger than those bytes (a smaller copy runs at least as fast, so the bound stays a
  bound). Forward: read x (R·I) and the P parameters, write the output (R·D·H);
  forward+backward also reads the output's gradient (R·D·H) and writes dx (R·I) and the
  parameters' gradients (P). Intermediate layers' outputs are left out (they may stay in
  cache).
* **Latency** (the dependent chain of the recurrence): step t of a layer and direction
  needs all of step t-1's output, so the steps of one recurrence run one after another;
  its N rows (sequences) are independent, so a step's rows may be split over the cores
  (``layered-rows`` does: a bound that kept them on one core was beaten by it, 0.56–0.94×
  at (2000, 8, 8, 64, 1)). A forward step of n rows on c cores takes at least
  ``max(ceil(n/c)·(H²/F + H·a), (1 + ceil(log2 H))·l_fma + l_act)``: its share of the
  n·H² multiply-adds at one core's FMA rate F (the GEMM peak over the cores) plus its
  activations at their measured throughput a, or, if longer, the chain of one output: a
  product (an FMA), the sum of H terms as a tree of FMAs of latency l_fma, then the
  activation's latency l_act. A backward step:
  ``max(ceil(n/c)·(H² + H)/F, (2 + ceil(log2 H))·l_fma)`` (dh through W_hh, and the
  derivative, one multiply on the chain). Over a call of L steps and R rows one
  recurrence takes at least S = max(work / min(c, N), (L − 1)·chain + the first step's)
  (the first step of each sequence has no product); a unidirectional stack's layers can
  overlap (a wavefront), so the path is S; a bidirectional layer needs both directions'
  last step before the next layer starts, so the path is layers·S; and the layers·D
  recurrences share the cores: at least layers·D·work / c. The latency bound is the
  larger. Forward+backward: the forward's plus the backward's (the backward starts from
  the forward's last output).

For N ≤ 8 and H ≤ 64 over 1,000 steps or more, issue 18 asks for the forward within 1.5×
and forward+backward within 2.5× of this bound (:func:`latency_acceptance`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["CallShape", "call_cost", "call_bound", "bandwidth_at", "latency_acceptance"]


@dataclass(frozen=True)
class CallShape:
    """One RNN call: L steps, N sequences, I inputs, H hidden, ``layers``, D directions,
    ``rows`` computed (L·N dense; the sum of the lengths packed)."""

    L: int
    N: int
    I: int  # noqa: E741
    H: int
    layers: int
    D: int
    dtype: str
    rows: int

    @classmethod
    def of_entry(cls, entry: dict[str, Any]) -> CallShape:
        """The shape of a sweep file's entry (:mod:`.bench_sweep`)."""
        s = entry["shape"]
        D = 2 if s["bidirectional"] else 1
        return cls(s["L"], s["N"], s["I"], s["H"], s["layers"], D, s["dtype"], entry["rows"])

    @property
    def item(self) -> int:
        return 8 if self.dtype == "float64" else 4

    @property
    def params(self) -> int:
        H, D = self.H, self.D
        return sum(D * (H * (self.I if k == 0 else D * H) + H * H + 2 * H)
                   for k in range(self.layers))  # fmt: skip


def call_cost(s: CallShape) -> dict[str, float]:
    """Multiply-adds and compulsory bytes of the forward (``fwd``) and forward+backward
    (``fb``) of one call (see the module)."""
    R, H, D = s.rows, s.H, s.D
    Rh = R - s.N  # rows after a sequence's first step: the first starts from h0 = 0
    fwd = bwd = 0.0
    for k in range(s.layers):
        I_l = s.I if k == 0 else D * H
        fwd += D * (R * I_l * H + Rh * H * H)
        bwd += D * (2 * Rh * H * H + 2 * R * I_l * H)
    P = s.params
    out = R * D * H
    return {
        "macs_fwd": fwd,
        "macs_fb": fwd + bwd,
        "bytes_fwd": float((R * s.I + out + P) * s.item),
        "bytes_fb": float((2 * R * s.I + 2 * out + 2 * P) * s.item),
    }


def bandwidth_at(peak: dict[str, Any], nbytes: float) -> float:
    """The fastest copy bandwidth (bytes/s) measured at a footprint not above ``nbytes``
    (``peak["bandwidth_by_bytes"]``: {bytes moved, read + write: GB/s}; an older peak holds
    only ``bandwidth_gbs``, of a 256 MB copy). A footprint below every measured one gets
    ``inf``: no bandwidth bound (a smaller copy might run faster than any measured)."""
    table = {float(k): v for k, v in peak.get("bandwidth_by_bytes", {}).items()}
    if not table:
        table = {2.0 * 256 * 2**20: peak["bandwidth_gbs"]}  # measure_peak's copy, read+write
    below = [gbs for b, gbs in table.items() if b <= nbytes]
    if not below:
        return math.inf
    # a copy of a smaller footprint runs at least as fast as one of this size: the fastest
    # of them (the small copies' timing has overhead, so not simply the nearest) keeps the
    # bound a bound
    return max(below) * 1e9


def _chain_steps(H: int) -> int:
    return math.ceil(math.log2(H)) if H > 1 else 0


def recurrence_times(s: CallShape, peak: dict[str, Any]) -> dict[str, float]:
    """One recurrence's least time S (forward and backward) and the per-step figures."""
    core = peak.get("core", {})
    cores = int(core.get("cores") or peak.get("cores") or 1)
    F = peak["gflops"][s.dtype] * 1e9 / 2 / cores  # one core's multiply-adds per second
    c = core.get(s.dtype, {})
    l_fma = c.get("fma_latency_s", 0.0)
    l_act = c.get("act_latency_s", 0.0)
    a = c.get("act_element_s", 0.0)
    H, R, Rh = s.H, s.rows, s.rows - s.N
    share = min(cores, max(s.N, 1))  # a step's rows split over the cores
    row_f = H * H / F + H * a
    row_b = (H * H + H) / F
    chain_f = (1 + _chain_steps(H)) * l_fma + l_act
    chain_b = (2 + _chain_steps(H)) * l_fma
    # the first step of a sequence starts from h0 = 0 (no hx): no product, only the
    # activation (forward) or the derivative (backward)
    work_f = Rh * H * H / F + R * H * a  # one recurrence's work on one core
    work_b = Rh * H * H / F + R * H / F
    return {
        "cores": cores,
        "work_fwd": work_f,
        "work_bwd": work_b,
        "S_fwd": max(work_f / share, (s.L - 1) * chain_f + l_act),
        "S_bwd": max(work_b / share, (s.L - 1) * chain_b + l_fma),
        "step_fwd": max(math.ceil(s.N / cores) * row_f, chain_f),  # a dense step, N rows
        "step_bwd": max(math.ceil(s.N / cores) * row_b, chain_b),
    }


def _latency(s: CallShape, S: float, work: float, cores: int) -> float:
    path = S * (s.layers if s.D == 2 else 1)
    return max(path, s.layers * s.D * work / cores)


def call_bound(s: CallShape, peak: dict[str, Any]) -> dict[str, Any]:
    """``{"fwd": {...}, "fb": {...}}``: each ``flop_s``, ``bytes_s``, ``latency_s`` and
    ``bound_s`` (the largest) and ``by`` (which one it is)."""
    cost = call_cost(s)
    rec = recurrence_times(s, peak)
    lat_f = _latency(s, rec["S_fwd"], rec["work_fwd"], rec["cores"])
    lat_b = _latency(s, rec["S_bwd"], rec["work_bwd"], rec["cores"])
    out: dict[str, Any] = {}
    for kind, lat in (("fwd", lat_f), ("fb", lat_f + lat_b)):
        parts = {
            "flop_s": 2 * cost[f"macs_{kind}"] / (peak["gflops"][s.dtype] * 1e9),
            "bytes_s": cost[f"bytes_{kind}"] / bandwidth_at(peak, cost[f"bytes_{kind}"]),
            "latency_s": lat,
        }
        by = max(parts, key=parts.__getitem__)
        out[kind] = {**parts, "bound_s": parts[by], "by": by[: -len("_s")]}
    out["per_step"] = {"fwd_s": rec["step_fwd"], "bwd_s": rec["step_bwd"]}
    return out


def in_latency_regime(s: CallShape) -> bool:
    """Issue 18's latency-bound acceptance: N ≤ 8, H ≤ 64, at least 1,000 steps."""
    return s.N <= 8 and s.H <= 64 and s.L >= 1000


#: elman's time over the bound that issue 18 accepts in the latency regime
LATENCY_BARS = {"fwd": 1.5, "fb": 2.5}


def latency_acceptance(elman_s: float, bound_s: float, kind: str) -> bool:
    return elman_s <= LATENCY_BARS[kind] * bound_s
