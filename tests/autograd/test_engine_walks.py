"""The engine's chain walk is its general walk minus the bookkeeping: on random graphs both
call the same backward functions in the same order and give the same gradients, bit for bit.

Each graph is built twice from one seed (a walk releases what it reads), once walked from
its output as ``backward`` walks it (the chain walk first, then the general walk from the
first node with two node inputs) and once by the general walk alone.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

import elman
from elman.autograd import engine
from elman.autograd.function import Function


class Mix(Function):
    """out_j = sum_i a[i, j] * sin(x_i) (elementwise); logs its backward calls; gives None as
    the gradient of the inputs listed in ``none_for`` (a node nothing then reaches)."""

    @staticmethod
    def forward(ctx: Any, *xs: np.ndarray, a: np.ndarray, tag: int, log: list[int], none_for):
        ctx.save_for_backward(*xs)
        ctx.a, ctx.tag, ctx.log, ctx.none_for = a, tag, log, none_for
        outs = tuple(sum(a[i, j] * np.sin(x) for i, x in enumerate(xs)) for j in range(a.shape[1]))
        return outs if len(outs) > 1 else outs[0]

    @staticmethod
    def backward(ctx: Any, *gs: np.ndarray) -> tuple[Any, ...]:
        ctx.log.append(ctx.tag)
        xs, a = ctx.saved_tensors, ctx.a
        grads = [sum(a[i, j] * np.cos(x) * g for j, g in enumerate(gs)) for i, x in enumerate(xs)]
        return tuple(None if i in ctx.none_for else g for i, g in enumerate(grads))


def _graph(seed: int, log: list[int]) -> tuple[list[elman.Tensor], elman.Tensor, int]:
    """Leaves, the output, and how many nodes from the output on form a chain (each with
    at most one edge to another node): the part the chain walk takes."""
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    leaves = [
        elman.from_numpy(nprng.uniform(-1, 1, 3)).requires_grad_() for _ in range(rng.randint(1, 3))
    ]
    made: list[elman.Tensor] = []  # node outputs, newest last
    links: list[int] = []  # per node: its edges to other nodes
    chainy = rng.random() < 0.5  # mostly one node input per node: long chains
    for tag in range(rng.randint(1, 12)):
        k = rng.randint(1, 3)
        if made and chainy:
            xs = [made[-1]] + [rng.choice(leaves) for _ in range(k - 1)]
        else:
            xs = [rng.choice(leaves + made) for _ in range(k)]
        if rng.random() < 0.15 and made:
            xs.append(xs[0])  # one input used twice (a node: two edges to it)
        m = rng.randint(1, 2)
        a = nprng.uniform(-1, 1, (len(xs), m))
        none_for = {i for i in range(len(xs)) if rng.random() < 0.1}
        out = Mix.apply(*xs, a=a, tag=tag, log=log, none_for=none_for)
        outs = list(out) if isinstance(out, tuple) else [out]
        links.append(sum(1 for x in xs if x._grad_fn is not None))
        made.append(outs[rng.randrange(len(outs))])
    chain = 0  # the output's node is the last made; a chain follows newest-to-oldest only
    node = made[-1]._grad_fn
    while node is not None:
        n_links = sum(1 for e in node.edges if isinstance(e, tuple))
        if n_links > 1:
            break
        chain += 1
        node = next((e[0] for e in node.edges if isinstance(e, tuple)), None)
    return leaves, made[-1], chain


def _walk(seed: int, chain: bool) -> tuple[list[int], list[Any], int]:
    log: list[int] = []
    leaves, out, chained = _graph(seed, log)
    with elman.no_grad():
        engine._walk([out], [np.ones_like(out._data)], retain_graph=False, chain=chain)
    return log, [None if t.grad is None else t.grad.numpy() for t in leaves], chained


@pytest.mark.parametrize("block", range(4))
def test_chain_walk_is_the_general_walk(block: int) -> None:
    chained = mixed = 0
    for seed in range(block * 100, block * 100 + 100):
        log, grads, n_chain = _walk(seed, chain=True)
        log_general, grads_general, _ = _walk(seed, chain=False)
        assert log == log_general, f"seed {seed}: backward order differs"
        assert len(grads) == len(grads_general)
        for g, h in zip(grads, grads_general, strict=True):
            assert (g is None) == (h is None), f"seed {seed}"
            if g is not None:
                np.testing.assert_array_equal(g, h, err_msg=f"seed {seed}")
        chained += n_chain > 1
        mixed += 0 < n_chain < len(log)
    # both parts of the walk ran: chains of two or more nodes, and hand-overs to the general
    # walk after a chain
    assert chained > 10 and mixed > 10, (chained, mixed)
