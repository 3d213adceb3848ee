"""Fuzz targets: ``elman.io`` (safetensors weights, checkpoints) and ``elman.random``.

Weights are compared with ``safetensors.torch``'s ``save_file``/``load_file`` (what torch
users call); checkpoints are elman's own format, so only elman's invariants are checked
(documented exception types: CheckpointError, a ValueError; OSError for paths; TypeError).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import numpy as np
from fuzz_core import Corrupt, Lib
from fuzz_targets_tensor import call
from fuzz_values import JUNK, NP_INTS, arrays, shapes, weighted
from fuzz_verdict import Target
from hypothesis import strategies as st

WEIGHT_VALUES = weighted(
    (
        6,
        arrays(
            shapes(0, 3, 0, 3),
            st.sampled_from(["float32", "float64", "int64", "int32", "uint8", "bool", "float16"]),
            rg=False,
        ),
    ),
    (1, arrays(shapes(2, 2), "float32", rg=False, forms=("t",))),
    (1, st.sampled_from([None, 1.5, "w", [1.0, 2.0]])),
)
KEYS = weighted(
    (6, st.sampled_from(["w", "b", "layer.0.weight", "x" * 40, "ü"])),
    (1, st.sampled_from(["__metadata__", "", 3, None])),
)
MUTATIONS = st.sampled_from(
    [
        "none",
        "truncate",
        "flip-header",
        "flip-data",
        "empty",
        "garbage",
        "huge-header",
        "header-json",
        "dir",
        "missing",
    ]
)


def _mutate(path: str, how: str, rng: np.random.Generator) -> None:
    data = bytearray(open(path, "rb").read()) if os.path.exists(path) else bytearray()
    if how == "truncate" and data:
        data = data[: int(rng.integers(0, len(data)))]
    elif how == "flip-header" and len(data) > 9:
        data[int(rng.integers(8, min(len(data), 60)))] ^= 0xFF
    elif how == "flip-data" and data:
        data[int(rng.integers(len(data) // 2, len(data)))] ^= 0x55
    elif how == "empty":
        data = bytearray()
    elif how == "garbage":
        data = bytearray(rng.integers(0, 256, size=64, dtype=np.uint8).tobytes())
    elif how == "huge-header":
        data[:8] = (2**62).to_bytes(8, "little")
    elif how == "header-json" and len(data) > 8:
        n = min(int.from_bytes(data[:8], "little"), len(data) - 8)  # (JSON files: any bytes)
        data[8 : 8 + n] = b"[" + b" " * max(n - 2, 0) + b"]"
    elif how == "dir":
        os.remove(path)
        os.mkdir(path)
        return
    elif how == "missing":
        os.remove(path)
        return
    with open(path, "wb") as f:
        f.write(bytes(data))


def _weights_roundtrip(L: Lib, a: Any) -> Any:
    (sd, how, seed), _ = a
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "w.safetensors")
    try:
        if L.name == "torch":
            from safetensors.torch import load_file, save_file

            save_file(sd, path)  # (safetensors refuses non-contiguous tensors itself)
            _mutate(path, how, np.random.default_rng(seed))
            loaded = load_file(path)
            return {k: loaded[k] for k in sorted(loaded)}
        L.mod.io.save_weights(path, sd)
        _mutate(path, how, np.random.default_rng(seed))
        loaded = L.mod.io.load_weights(path)
        for k, v in loaded.items():  # a damaged file must never load altered values
            want = np.asarray(sd[k])
            if not np.array_equal(v, want, equal_nan=v.dtype.kind == "f"):
                raise Corrupt(f"{how}: {k} loaded altered values without an error")
        return {k: L.mod.tensor(loaded[k]) for k in sorted(loaded)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@st.composite
def checkpoint_case(draw: Any) -> Any:
    extra = draw(
        weighted(
            (
                6,
                st.dictionaries(
                    st.sampled_from(["epoch", "lr", "name", "hist", 3]),
                    st.one_of(
                        st.integers(-5, 10**20),
                        st.floats(allow_nan=True),
                        st.text(max_size=5),
                        st.lists(st.floats(-1, 1), max_size=3),
                        st.none(),
                    ),
                    max_size=3,
                ),
            ),
            (1, st.sampled_from([None, [1, 2], "epoch", {"f": print}, {"a": np.float32(1)}])),
            (1, arrays().map(lambda a: {"x": a})),
        )
    )
    victim = draw(st.sampled_from(["meta.json", "model.safetensors", "state.safetensors"]))
    return extra, draw(MUTATIONS), victim, draw(st.integers(0, 2**31)), draw(st.booleans())


def _checkpoint(L: Lib, a: Any) -> Any:
    extra, how, victim, seed, with_opt = a
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "ckpt")
    try:
        model = L.mod.nn.RNN(2, 3)
        opt = L.mod.optim.Adam(model.parameters(), lr=0.1) if with_opt else None
        L.mod.io.save_checkpoint(path, model=model, optimizer=opt, extra=extra)
        _mutate(os.path.join(path, victim), how, np.random.default_rng(seed))
        fresh = L.mod.nn.RNN(2, 3)
        out = L.mod.io.load_checkpoint(path, model=fresh)
        for (k, a), b in zip(model.state_dict().items(), fresh.parameters(), strict=True):
            if not np.array_equal(a.numpy(), b.detach().numpy()):  # damage never loads silently
                raise Corrupt(f"{how} {victim}: {k} loaded altered values")
        return fresh, sorted(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _generator(L: Lib, a: Any) -> Any:
    (seed,), _ = a
    g = (L.mod.Generator() if L.name == "torch" else L.mod.random.Generator()).manual_seed(seed)
    return g.initial_seed(), L.mod.randn(3, generator=g)


SEEDS = weighted(
    (6, st.integers(0, 2**64 - 1)),
    (2, st.sampled_from([-1, 2**64, 10**20, -(2**63) - 1, True, 1.5, "3", None])),
    (1, NP_INTS),
)
TARGETS = [
    Target(
        "io.save_weights+load_weights",
        call(
            weighted((6, st.dictionaries(KEYS, WEIGHT_VALUES, max_size=3)), (1, JUNK)),
            st.sampled_from(["none"] * 4 + list(MUTATIONS.elements)[1:]),
            st.integers(0, 2**31),
        ),
        _weights_roundtrip,
        extra=(OSError,),
    ),
    Target(
        "io.save_checkpoint+load_checkpoint",
        checkpoint_case(),
        _checkpoint,
        extra=(OSError,),
        has_torch=False,
    ),
    Target("random.Generator", call(SEEDS), _generator),
]
