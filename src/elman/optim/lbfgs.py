"""L-BFGS: quasi-Newton steps from the last ``history_size`` gradient differences, as
``torch.optim.LBFGS``, with or without its strong-Wolfe line search."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import Tensor, enable_grad, no_grad
from ._line_search import strong_wolfe
from .optimizer import Optimizer

__all__ = ["LBFGS"]


class LBFGS(Optimizer):
    r"""Limited-memory BFGS over all parameters as one flat vector :math:`\theta`.

    Each ``step(closure)`` runs up to ``max_iter`` iterations. The direction is
    :math:`d = -H g` from the two-loop recursion over the stored pairs
    :math:`s_k = \theta_{k+1} - \theta_k`, :math:`y_k = g_{k+1} - g_k` (a pair is kept when
    :math:`y^\top s > 10^{-10}`), with :math:`H_0 = (y^\top s / y^\top y) I` from the newest
    pair. The step is :math:`\theta \leftarrow \theta + t d` with
    :math:`t = \min(1, 1/\lVert g\rVert_1)\,\mathrm{lr}` on the very first iteration and
    :math:`t = \mathrm{lr}` after. The iterations stop early when
    :math:`\max|g| \le` ``tolerance_grad``, when :math:`g^\top d > -` ``tolerance_change``, when
    the step or the change of the loss falls below ``tolerance_change``, or after
    ``max_eval`` closure calls. State carries over between ``step`` calls, as in torch.

    Args:
        params: the parameters (one group only, as torch).
        lr: step length (default: 1).
        max_iter: iterations per ``step`` (default: 20).
        max_eval: closure calls per ``step`` (default: ``max_iter * 1.25``).
        tolerance_grad: first-order optimality tolerance (default: 1e-7).
        tolerance_change: tolerance on the step and the loss change (default: 1e-9).
        history_size: pairs kept (default: 100).
        line_search_fn: None, or ``"strong_wolfe"`` (a line search meeting the strong Wolfe
            conditions, :mod:`elman.optim._line_search`).

    Example:
        >>> import elman
        >>> w = elman.nn.Parameter(elman.tensor([1.0, -2.0], dtype=elman.float64))
        >>> opt = elman.optim.LBFGS([w])
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = ((w - 3) ** 2).sum()
        ...     loss.backward()
        ...     return loss
        >>> _ = opt.step(closure)
        >>> [round(v, 6) for v in w.tolist()]
        [3.0, 3.0]
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {
            "lr": lr,
            "max_iter": max_iter,
            "max_eval": max_eval,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
            "history_size": history_size,
            "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def _flat_grad(self) -> np.ndarray:
        parts = [
            np.zeros(p._data.size, p._data.dtype) if p.grad is None else p.grad._data.reshape(-1)
            for p in self._params
        ]
        return np.concatenate(parts)

    def _add_update(self, t: Any, d: np.ndarray) -> None:
        offset = 0
        for p in self._params:
            n = p._data.size
            step = d[offset : offset + n].reshape(p._data.shape)
            p._data += step * p._data.dtype.type(t)
            offset += n

    def _directional(
        self, closure: Callable[[], Any], start: list[np.ndarray], t: float, *, d: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """(loss, flat gradient) at ``start + t d``; the parameters are put back after."""
        self._add_update(t, d)
        with enable_grad():
            loss = float(closure())
        g = self._flat_grad()
        for p, x in zip(self._params, start, strict=True):
            p._data[...] = x
        return loss, g

    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` iterations; ``closure`` (required) clears the gradients,
        computes the loss, calls ``backward`` and returns the loss. Returns the first loss."""
        if closure is None:
            raise RuntimeError("LBFGS requires a closure (a function returning the loss)")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history = group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if np.abs(g).max() <= tol_grad:
            return orig_loss
        one = g.dtype.type(1)
        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_g, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), None
        n_iter = 0
        with no_grad():
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    d, old_dirs, old_stps, ro, h_diag = -g, [], [], [], one
                else:
                    y = g - prev_g
                    s = d * g.dtype.type(t)
                    ys = y.dot(s)
                    if ys > 1e-10:
                        if len(old_dirs) == history:
                            old_dirs.pop(0)
                            old_stps.pop(0)
                            ro.pop(0)
                        old_dirs.append(y)
                        old_stps.append(s)
                        ro.append(one / ys)
                        h_diag = ys / y.dot(y)
                    # the two-loop recursion: d = -H g
                    al = [None] * len(old_dirs)
                    q = -g
                    for i in range(len(old_dirs) - 1, -1, -1):
                        al[i] = old_stps[i].dot(q) * ro[i]
                        q = q - old_dirs[i] * al[i]
                    d = r = q * h_diag
                    for i in range(len(old_dirs)):
                        be_i = old_dirs[i].dot(r) * ro[i]
                        r += old_stps[i] * (al[i] - be_i)
                prev_g = g.copy()
                prev_loss = loss
                if state["n_iter"] == 1:
                    inv = one / np.abs(g).sum()  # a dtype scalar, as torch's 0-d tensor
                    t = (inv if inv < 1.0 else 1.0) * lr
                else:
                    t = lr
                if g.dot(d) > -tol_change:
                    break
                done = False
                if group["line_search_fn"] is not None:
                    if group["line_search_fn"] != "strong_wolfe":
                        raise RuntimeError("only 'strong_wolfe' is supported")
                    start = [p._data.copy() for p in self._params]
                    loss, g, t, ls_evals = strong_wolfe(
                        functools.partial(self._directional, closure, start, d=d),
                        t,
                        d,
                        loss,
                        g,
                        g.dot(d),
                    )
                    self._add_update(t, d)
                    done = bool(np.abs(g).max() <= tol_grad)
                    evals += ls_evals
                    state["func_evals"] += ls_evals
                else:
                    self._add_update(t, d)
                if group["line_search_fn"] is None and n_iter != max_iter:
                    # no new evaluation after the last iteration (as torch)
                    with enable_grad():
                        loss = float(closure())
                    g = self._flat_grad()
                    done = bool(np.abs(g).max() <= tol_grad)
                    evals += 1
                    state["func_evals"] += 1
                if n_iter == max_iter or evals >= max_eval or done:
                    break
                if np.abs(d * g.dtype.type(t)).max() <= tol_change:
                    break
                if abs(loss - prev_loss) < tol_change:
                    break
        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag)
        state.update(prev_flat_grad=prev_g, prev_loss=prev_loss)
        return orig_loss
