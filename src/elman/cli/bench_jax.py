"""JAX as a peer of ``elman bench``: the same Elman RNN written as JAX users write it.

Per layer and direction, the input projection of all steps is one product (``x @ W_ih^T +
b_ih + b_hh``) and the recurrence a ``lax.scan`` over the steps (``reverse=True`` for the
reverse direction); the whole stack is one ``jax.jit`` function. forward+backward is
``jax.jit(jax.grad(...))`` of ``sum(output * g)`` with respect to every weight and the input,
so its numbers are the gradients elman's and torch's ``backward(g)`` give.

Packed input runs as a padded batch with a mask (JAX has no packed sequences): past its
length a sequence keeps its state and outputs zeros; the reverse direction's scan then
starts each sequence from zeros at its own last step, which is what packing computes.

float64 needs ``jax_enable_x64``: the adapter turns it on when it is made (arrays keep the
dtype they are given, so float32 runs stay float32). Imported only when ``--against jax``
asks for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .bench_peers import Peer
from .bench_timing import Case, Contestant, packed_rows

__all__ = ["JaxPeer", "make_peer", "jax_outputs"]


def make_peer() -> JaxPeer:
    return JaxPeer()


class JaxPeer(Peer):
    name = "jax"

    def __init__(self) -> None:
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 cases; float32 stays float32
        self.jax = jax

    def versions(self) -> dict[str, Any]:
        import jaxlib

        return {"jax": self.jax.__version__, "jaxlib": jaxlib.__version__}

    def release(self) -> None:
        self.jax.clear_caches()  # every shape compiles its own functions: keep memory flat

    def functions(self, case: Case) -> tuple[Any, Any, Any, Any]:
        """``(forward, grad, params, inputs)``: the jitted forward (returns the padded
        output and h_n), the jitted gradient of ``sum(out * g)`` with respect to
        ``(params, x)``, the weights and the device arrays ``(x, mask, g)``."""
        jax = self.jax
        jnp = jax.numpy
        act = jnp.tanh if case.nonlinearity == "tanh" else jax.nn.relu
        D = 2 if case.bidirectional else 1
        state = case.state()
        sfx = ["", "_reverse"][:D]
        params = [
            [
                tuple(
                    jnp.asarray(state[f"{w}_l{k}{s}"])
                    for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                )
                for s in sfx
            ]
            for k in range(case.num_layers)
        ]
        L, N = case.x.shape[:2]
        mask = None
        if case.lengths is not None:
            mask = jnp.asarray((np.arange(L)[:, None] < case.lengths[None, :])[..., None])

        def direction(p: Any, x: Any, m: Any, reverse: bool) -> tuple[Any, Any]:
            w_ih, w_hh, b_ih, b_hh = p
            xp = x @ w_ih.T + (b_ih + b_hh)  # (L, N, H): every step's input projection
            h0 = jnp.zeros((x.shape[1], w_hh.shape[0]), x.dtype)

            if m is None:

                def step(h: Any, xt: Any) -> tuple[Any, Any]:
                    h = act(xt + h @ w_hh.T)
                    return h, h

                return jax.lax.scan(step, h0, xp, reverse=reverse)

            def masked(h: Any, inp: Any) -> tuple[Any, Any]:
                xt, mt = inp
                new = act(xt + h @ w_hh.T)
                return jnp.where(mt, new, h), jnp.where(mt, new, 0)

            return jax.lax.scan(masked, h0, (xp, m), reverse=reverse)

        def forward(params: Any, x: Any, m: Any) -> tuple[Any, Any]:
            finals = []
            for layer in params:
                outs = []
                for d, p in enumerate(layer):
                    h, y = direction(p, x, m, reverse=d == 1)
                    finals.append(h)
                    outs.append(y)
                x = outs[0] if D == 1 else jnp.concatenate(outs, axis=-1)
            return x, jnp.stack(finals)

        def loss(params: Any, x: Any, m: Any, g: Any) -> Any:
            return jnp.sum(forward(params, x, m)[0] * g)

        fwd = jax.jit(forward)
        grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
        arrays = (jnp.asarray(case.x), mask, jnp.asarray(case.padded_grad()))
        return fwd, grad, params, arrays

    def contestant(self, case: Case) -> Contestant:
        block = self.jax.block_until_ready
        fwd, grad, params, (x, m, g) = self.functions(case)

        def run_fwd() -> None:
            block(fwd(params, x, m))

        def run_fb() -> None:
            block(grad(params, x, m, g))

        return Contestant("jax", run_fwd, run_fb)


def jax_outputs(case: Case) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The adapter's output (packed rows or (L, N, D*H)) and gradients by torch's parameter
    names and ``"input"``, as NumPy arrays: what its tests compare with elman and torch."""
    peer = JaxPeer()
    fwd, grad, params, (x, m, g) = peer.functions(case)
    out = np.asarray(fwd(params, x, m)[0])
    g_params, g_x = grad(params, x, m, g)
    if case.lengths is not None:
        out = out[packed_rows(case.lengths, out.shape[0])]
    grads = {"input": np.asarray(g_x)}
    sfx = ["", "_reverse"]
    for k, layer in enumerate(g_params):
        for d, tensors in enumerate(layer):
            for w, a in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), tensors, strict=True):
                grads[f"{w}_l{k}{sfx[d]}"] = np.asarray(a)
    return out, grads
