"""The libraries ``elman bench --against`` times elman against: torch, JAX, onnxruntime.

Each peer is optional: :func:`load_peers` imports the ones asked for, and one that is not
installed is skipped with one line saying so. A peer is a :class:`Peer`: its version facts
and ``contestant(case)``, the timed closures on the case's weights and arrays
(:class:`.bench_timing.Contestant`). Each adapter lives in its own module and imports its
library only when asked for (``import elman`` and ``elman --help`` import none of them).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from .bench_timing import Case, Contestant

__all__ = ["PEERS", "Peer", "parse_against", "load_peers", "torch_outputs"]

#: peer name -> (module that must import, adapter module in elman.cli, how to install)
PEERS: dict[str, tuple[str, str, str]] = {
    "torch": ("torch", "bench_peers", "pip install torch==2.13.0"),
    "jax": ("jax", "bench_jax", 'pip install "jax[cpu]"'),
    "onnxruntime": ("onnxruntime", "bench_onnx", 'pip install "elman[onnx]"'),
}


class Peer:
    """A library to time elman against; subclasses make the closures."""

    name = ""

    def versions(self) -> dict[str, Any]:
        return {}

    def contestant(self, case: Case) -> Contestant:
        raise NotImplementedError

    def release(self) -> None:
        """Drop what the last cases compiled or cached (a sweep calls it after each shape)."""


def parse_against(text: str) -> list[str]:
    """``--against torch,jax``: known peer names, in order, without repeats; ``none`` or
    the empty string for elman alone."""
    names: list[str] = []
    for part in text.split(","):
        name = part.strip().lower()
        if name in ("", "none"):
            continue
        if name not in PEERS:
            from ._parser import suggest

            hint = suggest(name, list(PEERS))
            extra = f"; did you mean {hint}?" if hint else ""
            raise argparse.ArgumentTypeError(
                f"unknown peer {part.strip()!r} (choose from {', '.join(PEERS)}, or none){extra}"
            )
        if name not in names:
            names.append(name)
    return names


def load_peers(names: list[str], say: Callable[[str], None] = print) -> list[Peer]:
    """The peers of ``names`` whose package imports; one line through ``say`` for each
    that does not."""
    peers: list[Peer] = []
    for name in names:
        package, module, install = PEERS[name]
        try:
            importlib.import_module(package)
        except ImportError:
            say(f"{name} is not installed: skipping it ({install})")
            continue
        adapter = importlib.import_module(f"{__package__}.{module}")
        peers.append(adapter.make_peer())
    return peers


def make_peer() -> Peer:
    return TorchPeer()


class TorchPeer(Peer):
    """``torch.nn.RNN`` with the case's weights: forward under no_grad, forward+backward
    with gradients for every parameter and the input (packed: ``pack_padded_sequence`` is
    part of every forward+backward round trip, as elman's)."""

    name = "torch"

    def __init__(self) -> None:
        import torch  # the CLI only: the library never imports torch

        self.torch = torch

    def versions(self) -> dict[str, Any]:
        return {"torch": self.torch.__version__, "torch_threads": self.torch.get_num_threads()}

    def model(self, case: Case) -> Any:
        torch = self.torch
        I = case.x.shape[-1]
        m = torch.nn.RNN(
            I,
            case.hidden_size,
            case.num_layers,
            nonlinearity=case.nonlinearity,
            bidirectional=case.bidirectional,
            dtype=getattr(torch, case.dtype),
        )
        m.load_state_dict({k: torch.from_numpy(v) for k, v in case.state().items()})
        return m

    def contestant(self, case: Case) -> Contestant:
        torch = self.torch
        model = self.model(case)
        lengths = None if case.lengths is None else torch.from_numpy(case.lengths)
        g = torch.from_numpy(case.g)

        def inputs(requires_grad: bool) -> Any:
            x = torch.from_numpy(case.x).requires_grad_(requires_grad)
            if lengths is None:
                return x
            return torch.nn.utils.rnn.pack_padded_sequence(x, lengths)

        fixed = inputs(False)

        def fwd() -> None:
            with torch.no_grad():
                model(fixed)

        def fb() -> None:
            out, _ = model(inputs(True))
            (out.data if lengths is not None else out).backward(g)
            for p in model.parameters():
                p.grad = None

        return Contestant("torch", fwd, fb)


def torch_outputs(case: Case) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """torch's output (packed rows or (L, N, D*H)) and the gradients of ``sum(out * g)``
    by parameter name and ``"input"``: the reference the adapters' tests compare with."""
    peer = TorchPeer()
    torch = peer.torch
    model = peer.model(case)
    x = torch.from_numpy(case.x.copy()).requires_grad_(True)
    inp = x
    if case.lengths is not None:
        inp = torch.nn.utils.rnn.pack_padded_sequence(x, torch.from_numpy(case.lengths))
    out, _ = model(inp)
    out = out.data if case.lengths is not None else out
    out.backward(torch.from_numpy(case.g))
    grads = {k: p.grad.numpy() for k, p in model.named_parameters()}
    grads["input"] = x.grad.numpy()
    return out.detach().numpy(), grads
