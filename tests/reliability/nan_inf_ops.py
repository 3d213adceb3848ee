"""Differential NaN/inf cases for the autograd ops, Linear's function and the losses.

Every entry of :data:`OPS` is one expression written once and run in torch and in elman
(``m`` is a namespace with the library's ``maximum``, ``cat``, ``stack`` and ``F`` =
``nn.functional``): its inputs are random, then NaN, +inf or -inf is written into chosen
elements of one or more inputs and of the incoming gradient; the forward value and every
input's gradient are compared with :func:`nan_inf_harness.compare`. Importing this module
imports neither torch nor elman.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
from nan_inf_harness import VALUES

# name: (expression, input shapes, positive inputs (log, sqrt): |x| instead of x)
OPS: dict[str, tuple[Callable[..., Any], list[tuple[int, ...]], bool]] = {
    "tanh": (lambda m, x: x.tanh(), [(3, 5)], False),
    "relu": (lambda m, x: x.relu(), [(3, 5)], False),
    "sigmoid": (lambda m, x: x.sigmoid(), [(3, 5)], False),
    "exp": (lambda m, x: x.exp(), [(3, 5)], False),
    "log": (lambda m, x: x.log(), [(3, 5)], True),
    "abs": (lambda m, x: x.abs(), [(3, 5)], False),
    "sqrt": (lambda m, x: x.sqrt(), [(3, 5)], True),
    "neg": (lambda m, x: -x, [(3, 5)], False),
    "pow2": (lambda m, x: x**2, [(3, 5)], False),
    "pow3": (lambda m, x: x**3, [(3, 5)], False),
    "pow_half": (lambda m, x: x**0.5, [(3, 5)], True),
    "pow0": (lambda m, x: x**0, [(3, 5)], False),
    "add": (lambda m, x, y: x + y, [(3, 5), (3, 5)], False),
    "add_bcast": (lambda m, x, y: x + y, [(3, 5), (5,)], False),
    "sub": (lambda m, x, y: x - y, [(3, 5), (1, 5)], False),
    "mul": (lambda m, x, y: x * y, [(3, 5), (3, 5)], False),
    "mul_bcast": (lambda m, x, y: x * y, [(3, 5), (3, 1)], False),
    "div": (lambda m, x, y: x / y, [(3, 5), (3, 5)], False),
    "div_bcast": (lambda m, x, y: x / y, [(3, 5), (5,)], False),
    "scalar_ops": (lambda m, x: (2.0 * x - 1.0) / 3.0 + 0.5, [(3, 5)], False),
    "sum": (lambda m, x: x.sum(), [(3, 5)], False),
    "sum_dim": (lambda m, x: x.sum(1), [(3, 5)], False),
    "sum_keepdim": (lambda m, x: x.sum(0, keepdim=True), [(3, 5)], False),
    "mean": (lambda m, x: x.mean(), [(3, 5)], False),
    "mean_dim": (lambda m, x: x.mean(0), [(3, 5)], False),
    "max": (lambda m, x: x.max(), [(3, 5)], False),
    "max_dim": (lambda m, x: x.max(1)[0], [(3, 5)], False),
    "max_dim_keepdim": (lambda m, x: x.max(0, keepdim=True)[0], [(3, 5)], False),
    "maximum": (lambda m, x, y: m.maximum(x, y), [(3, 5), (3, 5)], False),
    "maximum_bcast": (lambda m, x, y: m.maximum(x, y), [(3, 5), (5,)], False),
    "matmul": (lambda m, x, y: x @ y, [(3, 4), (4, 5)], False),
    "matmul_vec": (lambda m, x, y: x @ y, [(3, 4), (4,)], False),
    "vec_matmul": (lambda m, x, y: x @ y, [(4,), (4, 5)], False),
    "dot": (lambda m, x, y: x @ y, [(4,), (4,)], False),
    "matmul_batched": (lambda m, x, y: x @ y, [(2, 3, 4), (4, 5)], False),
    "reshape_permute": (lambda m, x: x.reshape(5, 3).permute(1, 0) * 1.0, [(3, 5)], False),
    "getitem": (lambda m, x: x[1:, ::2], [(3, 5)], False),
    "cat": (lambda m, x, y: m.cat([x, y], 0), [(3, 5), (2, 5)], False),
    "stack": (lambda m, x, y: m.stack([x, y], 1), [(3, 5), (3, 5)], False),
    "softmax": (lambda m, x: m.F.softmax(x, dim=1), [(3, 5)], False),
    "log_softmax": (lambda m, x: m.F.log_softmax(x, dim=1), [(3, 5)], False),
    "linear": (lambda m, x, w, b: m.F.linear(x, w, b), [(3, 4), (5, 4), (5,)], False),
    "linear_3d": (lambda m, x, w, b: m.F.linear(x, w, b), [(2, 3, 4), (5, 4), (5,)], False),
    "mse": (lambda m, x, y: m.F.mse_loss(x, y), [(3, 5), (3, 5)], False),
    "mse_sum": (lambda m, x, y: m.F.mse_loss(x, y, reduction="sum"), [(3, 5), (3, 5)], False),
    "mse_none": (lambda m, x, y: m.F.mse_loss(x, y, reduction="none"), [(3, 5), (3, 5)], False),
    "l1": (lambda m, x, y: m.F.l1_loss(x, y), [(3, 5), (3, 5)], False),
    "l1_none": (lambda m, x, y: m.F.l1_loss(x, y, reduction="none"), [(3, 5), (3, 5)], False),
    "cross_entropy": (lambda m, x: m.F.cross_entropy(x, m.target([0, 4, 2])), [(3, 5)], False),
    "cross_entropy_sum": (
        lambda m, x: m.F.cross_entropy(x, m.target([1, 1, 3]), reduction="sum"),
        [(3, 5)],
        False,
    ),
    "cross_entropy_none": (
        lambda m, x: m.F.cross_entropy(x, m.target([3, 0, 1]), reduction="none"),
        [(3, 5)],
        False,
    ),
    "cross_entropy_smooth": (
        lambda m, x: m.F.cross_entropy(x, m.target([0, 4, 2]), label_smoothing=0.1),
        [(3, 5)],
        False,
    ),
    "cross_entropy_probs": (lambda m, x, q: m.F.cross_entropy(x, q), [(3, 5), (3, 5)], False),
}


def namespace(lib: Any, name: str) -> SimpleNamespace:
    """``m`` for the expressions: ``lib`` is torch or elman."""
    if name == "torch":
        return SimpleNamespace(
            maximum=lib.maximum, cat=lib.cat, stack=lib.stack, F=lib.nn.functional,
            target=lambda v: lib.tensor(v, dtype=lib.int64),
        )  # fmt: skip
    return SimpleNamespace(
        maximum=lib.maximum, cat=lib.cat, stack=lib.stack, F=lib.nn.functional,
        target=lambda v: lib.tensor(np.array(v, dtype=np.int64)),
    )  # fmt: skip


def make_inputs(
    op: str, dtype: str, seed: int, poison: list[tuple[int, int, str]]
) -> tuple[list[np.ndarray], np.random.Generator]:
    """The op's inputs, with ``(input, flat index, value)`` poison written in."""
    _, shapes, positive = OPS[op]
    rng = np.random.default_rng(seed)
    arrays = []
    for shape in shapes:
        a = rng.standard_normal(shape)
        arrays.append((np.abs(a) if positive else a).astype(dtype))
    for which, index, value in poison:
        if which < len(arrays):
            arrays[which].flat[index % arrays[which].size] = VALUES[value]
    return arrays, rng


def run_op(
    lib: Any, libname: str, op: str, arrays: list[np.ndarray], grad: np.ndarray | None
) -> tuple[dict[str, np.ndarray], tuple[int, ...]]:
    """Forward (key ``out``) and the gradients ``grad/<i>`` of the op in ``lib``; ``grad``
    None: the output's shape is returned and nothing runs backward."""
    expr = OPS[op][0]
    m = namespace(lib, libname)
    if libname == "torch":
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    else:
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = expr(m, *xs)
    if grad is None:
        return {}, tuple(out.shape)
    lib.autograd.backward([out], [lib.tensor(grad)])
    result = {"out": _np(out)}
    for i, x in enumerate(xs):
        if x.grad is not None:
            result[f"grad/{i}"] = _np(x.grad)
    return result, tuple(out.shape)


def _np(t: Any) -> np.ndarray:
    return np.array(t.detach().numpy(), copy=True)


def random_poison(
    rng: np.random.Generator, n_inputs: int, grad_too: bool = True
) -> tuple[list[tuple[int, int, str]], list[tuple[int, str]]]:
    """One to three poisoned input elements (or none), and maybe a poisoned gradient."""
    poison = []
    for _ in range(int(rng.choice([0, 1, 1, 1, 2, 3]))):
        value = str(rng.choice(list(VALUES)))
        poison.append((int(rng.integers(0, n_inputs)), int(rng.integers(0, 1 << 30)), value))
    grad_poison = []
    if grad_too and (not poison or rng.random() < 0.3):
        grad_poison.append((int(rng.integers(0, 1 << 30)), str(rng.choice(list(VALUES)))))
    return poison, grad_poison


def make_grad(
    shape: tuple[int, ...], dtype: str, rng: np.random.Generator, poison: list[tuple[int, str]]
) -> np.ndarray:
    g = rng.standard_normal(shape).astype(dtype)
    for index, value in poison:
        if g.size:
            g.flat[index % g.size] = VALUES[value]
    return g


def quick_cases() -> list[dict[str, Any]]:
    """The CI set: every op x float32/float64 x three poison patterns (inputs, inputs and
    gradient, gradient only), drawn from a fixed seed."""
    rng = np.random.default_rng(20261207)
    cases = []
    for op in sorted(OPS):
        n = len(OPS[op][1])
        for dtype in ("float32", "float64"):
            for pattern in range(3):
                value = lambda: str(rng.choice(list(VALUES)))  # noqa: E731
                poison = (
                    []
                    if pattern == 2
                    else [(int(rng.integers(0, n)), int(rng.integers(0, 1 << 20)), value())]
                )
                grad = [] if pattern == 0 else [(int(rng.integers(0, 1 << 20)), value())]
                cases.append({"op": op, "dtype": dtype, "seed": int(rng.integers(0, 1 << 20)),
                              "poison": poison, "grad": grad})  # fmt: skip
    return cases


def run_case(lib: Any, libname: str, case: dict[str, Any]) -> dict[str, np.ndarray]:
    """One quick case (see :func:`quick_cases`) in ``lib``."""
    poison = [tuple(p) for p in case["poison"]]
    arrays, rng = make_inputs(case["op"], case["dtype"], case["seed"], poison)  # type: ignore[arg-type]
    _, shape = run_op(lib, libname, case["op"], [a.copy() for a in arrays], None)
    g = make_grad(shape, case["dtype"], rng, [tuple(p) for p in case["grad"]])  # type: ignore[misc]
    return run_op(lib, libname, case["op"], arrays, g)[0]


def case_inputs(case: dict[str, Any]) -> list[np.ndarray]:
    """The poisoned inputs and the incoming gradient of a quick case, for checksums."""
    poison = [tuple(p) for p in case["poison"]]
    arrays, rng = make_inputs(case["op"], case["dtype"], case["seed"], poison)  # type: ignore[arg-type]
    return [*arrays, rng.standard_normal(8)]
