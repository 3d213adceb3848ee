"""RNN and RNNCell against torch: live differential tests and committed golden fixtures.

One helper (:func:`run_rnn`) runs a module forward and backward with fixed cotangents and
returns every number worth comparing (output, h_n, input/hx grads, all parameter grads);
each test runs it in elman and in torch (or reads torch's numbers from the fixtures) and
compares the two dicts with the tolerances of ``conftest``.
"""

from __future__ import annotations

import itertools
import json
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import elman
from conftest import (
    FIXTURES,
    HAVE_TORCH,
    TORCH,
    assert_close,
    expect_dropout_warning,
    requires_torch,
    to_numpy,
    torch_cell_like,
    torch_rnn_like,
)

GOLDEN = FIXTURES / "rnn_golden.npz"


# ---- configurations -----------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    input_size: int
    hidden_size: int
    num_layers: int
    nonlinearity: str
    bias: bool
    batch_first: bool
    dropout: float
    bidirectional: bool
    dtype: str
    L: int
    N: int | None  # None: unbatched (2-D) input
    with_hx: bool

    def __str__(self) -> str:
        batch = "unb" if self.N is None else f"N{self.N}"
        flags = [
            self.nonlinearity,
            "bias" if self.bias else "nobias",
            "bf" if self.batch_first else "tm",
            "bi" if self.bidirectional else "uni",
            f"p{self.dropout}",
            "hx" if self.with_hx else "nohx",
        ]
        sizes = f"I{self.input_size}H{self.hidden_size}x{self.num_layers}-L{self.L}{batch}"
        return f"{sizes}-{'-'.join(flags)}-{self.dtype[5:]}"

    def module_kwargs(self) -> dict[str, Any]:
        names = ("num_layers", "nonlinearity", "bias", "batch_first", "dropout", "bidirectional")
        return {n: getattr(self, n) for n in names}


def draw_config(
    rng: np.random.Generator, layers: int, nl: str, bias: bool, bf: bool, bi: bool, dtype: str
) -> Config:
    return Config(
        input_size=int(rng.integers(1, 6)),
        hidden_size=int(rng.choice([1, 2, 3, 5, 8])),
        num_layers=layers,
        nonlinearity=nl,
        bias=bias,
        batch_first=bf,
        dropout=float(rng.choice([0.0, 0.0, 0.25, 0.5, 1.0])),
        bidirectional=bi,
        dtype=dtype,
        L=int(rng.choice([1, 2, 3, 6])),
        N=[None, 0, 1, 2, 4][int(rng.choice(5, p=[0.2, 0.08, 0.2, 0.32, 0.2]))],
        with_hx=bool(rng.random() < 0.6),
    )


def live_configs(seed: int = 2024, extra: int = 64) -> list[Config]:
    """Every combination of the boolean/enum arguments once, plus ``extra`` random ones."""
    rng = np.random.default_rng(seed)
    grid = itertools.product(
        (1, 2, 3),
        ("tanh", "relu"),
        (True, False),
        (True, False),
        (True, False),
        ("float32", "float64"),
    )
    configs = [draw_config(rng, *g) for g in grid]
    for _ in range(extra):
        flags = [bool(b) for b in rng.random(3) < 0.5]
        g = (
            int(rng.integers(1, 4)),
            str(rng.choice(["tanh", "relu"])),
            *flags,
            str(rng.choice(["float32", "float64"])),
        )
        configs.append(draw_config(rng, *g))
    return configs


LIVE = live_configs()


def test_live_configs_cover_every_argument() -> None:
    assert len(LIVE) >= 150
    seen = {field: {getattr(c, field) for c in LIVE} for field in Config.__dataclass_fields__}
    assert seen["num_layers"] == {1, 2, 3}
    assert 1 in seen["hidden_size"] and {0, None} <= seen["N"] and 1 in seen["L"]
    assert seen["dropout"] >= {0.0, 0.25, 1.0}
    for field in ("nonlinearity", "bias", "batch_first", "bidirectional", "dtype", "with_hx"):
        assert len(seen[field]) == 2, field
    combos = {
        (c.num_layers, c.nonlinearity, c.bias, c.batch_first, c.bidirectional, c.dtype)
        for c in LIVE
    }
    assert len(combos) == 3 * 2**5


# ---- one helper runs a module forward and backward --------------------------------------


def make_data(cfg: Config, seed: int) -> dict[str, np.ndarray | None]:
    """Input, hx and cotangents for ``cfg`` (in its dtype), drawn from a fixed seed."""
    rng = np.random.default_rng(seed)
    D = 2 if cfg.bidirectional else 1
    batch = () if cfg.N is None else (cfg.N,)
    if cfg.N is None:
        x_shape: tuple[int, ...] = (cfg.L, cfg.input_size)
    elif cfg.batch_first:
        x_shape = (cfg.N, cfg.L, cfg.input_size)
    else:
        x_shape = (cfg.L, cfg.N, cfg.input_size)
    h_shape = (cfg.num_layers * D, *batch, cfg.hidden_size)
    y_shape = (*x_shape[:-1], D * cfg.hidden_size)

    def draw(shape: tuple[int, ...]) -> np.ndarray:
        return rng.standard_normal(shape).astype(cfg.dtype)

    return {
        "x": draw(x_shape),
        "hx": draw(h_shape) if cfg.with_hx else None,
        "gy": draw(y_shape),
        "gh": draw(h_shape),
    }


def run_rnn(lib: Any, module: Any, data: dict[str, Any]) -> dict[str, np.ndarray]:
    """Forward and backward in ``lib`` (elman or torch); every output and gradient."""
    x = lib.tensor(data["x"], requires_grad=True)
    hx = None if data["hx"] is None else lib.tensor(data["hx"], requires_grad=True)
    outs = module(x, hx)
    outs = outs if isinstance(outs, tuple) else (outs,)
    loss = sum(
        (o * lib.tensor(g)).sum() for o, g in zip(outs, (data["gy"], data.get("gh")), strict=False)
    )
    loss.backward()
    result = {"out": to_numpy(outs[0]), "grad/x": to_numpy(x.grad)}
    if len(outs) > 1:
        result["hn"] = to_numpy(outs[1])
    if hx is not None:
        result["grad/hx"] = to_numpy(hx.grad)
    for name, p in module.named_parameters():
        result[f"grad/{name}"] = to_numpy(p.grad)
    return result


def compare(actual: dict[str, np.ndarray], expected: dict[str, np.ndarray], label: str) -> None:
    assert sorted(actual) == sorted(expected), label
    for key in expected:
        assert actual[key] is not None, f"{label}: elman gave no {key}"
        assert_close(actual[key], expected[key], f"{label}: {key}")


def build_rnn(cfg: Config) -> elman.nn.RNN:
    with expect_dropout_warning(cfg.dropout, cfg.num_layers):
        rnn = elman.nn.RNN(cfg.input_size, cfg.hidden_size, dtype=cfg.dtype, **cfg.module_kwargs())
    return rnn


# ---- live differential tests against torch ------------------------------------------------


@requires_torch
@pytest.mark.parametrize("cfg", LIVE, ids=str)
def test_rnn_matches_torch(cfg: Config) -> None:
    rnn = build_rnn(cfg)
    if cfg.dropout > 0:
        rnn.eval()  # deterministic; training-mode dropout is tested separately
    data = make_data(cfg, seed=zlib.crc32(str(cfg).encode()))
    reference = run_rnn(TORCH, torch_rnn_like(rnn, cfg.dtype), data)
    compare(run_rnn(elman, rnn, data), reference, str(cfg))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_single_layer_training_dropout_is_inert(dtype: str) -> None:
    cfg = Config(3, 4, 1, "tanh", True, False, 0.5, True, dtype, 5, 2, True)
    rnn = build_rnn(cfg)
    data = make_data(cfg, seed=7)
    assert rnn.training
    train = run_rnn(elman, rnn, data)
    rnn.zero_grad()
    rnn.eval()
    evaluated = run_rnn(elman, rnn, data)
    for key in train:  # no mask anywhere: bitwise identical
        np.testing.assert_array_equal(train[key], evaluated[key], err_msg=key)
    if HAVE_TORCH:
        compare(train, run_rnn(TORCH, torch_rnn_like(rnn.train(), dtype), data), "train p=0.5")


CELL_CASES = list(
    itertools.product(
        (False, True), (True, False), ("tanh", "relu"), ("float32", "float64"), (True, False)
    )
)


@requires_torch
@pytest.mark.parametrize(
    "unbatched,bias,nl,dtype,with_hx",
    CELL_CASES,
    ids=[
        f"{'unb' if u else 'N3'}-{'bias' if b else 'nobias'}-{n}-{d}-{'hx' if h else 'nohx'}"
        for u, b, n, d, h in CELL_CASES
    ],
)
def test_rnn_cell_matches_torch(
    unbatched: bool, bias: bool, nl: str, dtype: str, with_hx: bool
) -> None:
    cell = elman.nn.RNNCell(4, 5, bias=bias, nonlinearity=nl, dtype=dtype)
    rng = np.random.default_rng(11)
    batch = () if unbatched else (3,)
    data = {
        "x": rng.standard_normal((*batch, 4)).astype(dtype),
        "hx": rng.standard_normal((*batch, 5)).astype(dtype) if with_hx else None,
        "gy": rng.standard_normal((*batch, 5)).astype(dtype),
    }
    label = f"RNNCell {unbatched=} {bias=} {nl} {dtype} {with_hx=}"
    compare(run_rnn(elman, cell, data), run_rnn(TORCH, torch_cell_like(cell, dtype), data), label)


# ---- golden fixtures (no torch needed) ----------------------------------------------------


def golden_cases() -> dict[str, dict[str, np.ndarray]]:
    cases: dict[str, dict[str, np.ndarray]] = {}
    with np.load(GOLDEN, allow_pickle=False) as npz:
        for key in npz.files:
            case, _, rest = key.partition("/")
            cases.setdefault(case, {})[rest] = npz[key]
    return cases


GOLDEN_CASES = golden_cases()


def test_golden_file_is_small_and_complete() -> None:
    assert GOLDEN.stat().st_size < 1_500_000
    assert len(GOLDEN_CASES) >= 30
    assert "seed004" in GOLDEN_CASES


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_rnn_matches_golden(case: str) -> None:
    stored = GOLDEN_CASES[case]
    cfg = json.loads(str(stored["config"]))
    with expect_dropout_warning(cfg["module"]["dropout"], cfg["module"]["num_layers"]):
        rnn = elman.nn.RNN(**cfg["module"], dtype=cfg["dtype"])
    rnn.train(cfg["training"])
    rnn.load_state_dict({k[6:]: v for k, v in stored.items() if k.startswith("param/")})
    data = {"x": stored["x"], "hx": stored.get("hx"), "gy": stored["gy"], "gh": stored["gh"]}
    expected = {k: v for k, v in stored.items() if k in ("out", "hn") or k.startswith("grad/")}
    compare(run_rnn(elman, rnn, data), expected, case)


def test_seed004_init_is_bit_exact() -> None:
    """torch.manual_seed(0); nn.RNN(10, 20, 2) draws the same weights as elman's init."""
    stored = GOLDEN_CASES["seed004"]
    elman.manual_seed(int(json.loads(str(stored["config"]))["torch_seed"]))
    rnn = elman.nn.RNN(10, 20, 2)
    for name, value in rnn.state_dict().items():
        np.testing.assert_array_equal(to_numpy(value), stored[f"param/{name}"], err_msg=name)
    x, hx = elman.randn(5, 3, 10), elman.randn(2, 3, 20)  # the example's next draws
    np.testing.assert_array_equal(to_numpy(x), stored["x"])
    np.testing.assert_array_equal(to_numpy(hx), stored["hx"])


# ---- semantics: h_n order, batch_first, defaults, dropout, no_grad -----------------------


def f64_rnn(input_size: int = 3, hidden_size: int = 4, **kwargs: Any) -> elman.nn.RNN:
    with expect_dropout_warning(kwargs.get("dropout", 0.0), kwargs.get("num_layers", 1)):
        return elman.nn.RNN(input_size, hidden_size, dtype="float64", **kwargs)


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def numpy_run(rnn: Any, x: np.ndarray, hx: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    out, hn = rnn(elman.tensor(x), None if hx is None else elman.tensor(hx))
    return to_numpy(out), to_numpy(hn)


def truncated(rnn: elman.nn.RNN, layers: int) -> elman.nn.RNN:
    """The first ``layers`` layers of ``rnn``, with its weights."""
    sub = f64_rnn(
        rnn.input_size,
        rnn.hidden_size,
        num_layers=layers,
        nonlinearity=rnn.nonlinearity,
        bidirectional=rnn.bidirectional,
    )
    keep = {f"_l{k}" for k in range(layers)}
    sub.load_state_dict(
        {
            k: v
            for k, v in rnn.state_dict().items()
            if any(k.endswith(s) or s + "_" in k for s in keep)
        }
    )
    return sub


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_h_n_index_is_layer_times_D_plus_direction(bidirectional: bool) -> None:
    rnn = f64_rnn(num_layers=3, bidirectional=bidirectional, nonlinearity="relu")
    x, H, D = randn(6, 2, 3), 4, 2 if bidirectional else 1
    out, hn = numpy_run(rnn, x)
    np.testing.assert_array_equal(out[-1, :, :H], hn[-D])  # forward ends at t = L-1
    if bidirectional:
        np.testing.assert_array_equal(out[0, :, H:], hn[-1])  # reverse ends at t = 0
    for layers in (1, 2):  # h_n of a non-last layer = h_n of the model cut after it
        _, sub_hn = numpy_run(truncated(rnn, layers), x)
        np.testing.assert_array_equal(hn[: layers * D], sub_hn)


def test_batch_first_is_a_transpose() -> None:
    time_major = f64_rnn(num_layers=2, bidirectional=True)
    batch_major = f64_rnn(num_layers=2, bidirectional=True, batch_first=True)
    batch_major.load_state_dict(time_major.state_dict())
    x, hx = randn(5, 3, 3), randn(4, 3, 4, seed=1)
    out_t, hn_t = numpy_run(time_major, x, hx)
    out_b, hn_b = numpy_run(batch_major, x.transpose(1, 0, 2), hx)
    assert out_b.shape == (3, 5, 8) and hn_b.shape == (4, 3, 4)
    np.testing.assert_array_equal(out_b, out_t.transpose(1, 0, 2))
    np.testing.assert_array_equal(hn_b, hn_t)


@pytest.mark.parametrize("unbatched", [False, True], ids=["batched", "unbatched"])
def test_hx_none_equals_zeros(unbatched: bool) -> None:
    rnn = f64_rnn(num_layers=2, bidirectional=True, nonlinearity="relu")
    x = randn(4, 3) if unbatched else randn(4, 2, 3)
    zeros = np.zeros((4, 4) if unbatched else (4, 2, 4))
    runs = []
    for hx in (None, zeros):
        rnn.zero_grad()
        data = {"x": x, "hx": hx, "gy": randn(*x.shape[:-1], 8), "gh": randn(*zeros.shape)}
        result = run_rnn(elman, rnn, data)
        result.pop("grad/hx", None)
        runs.append(result)
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key], err_msg=key)


def test_training_dropout_acts_between_layers_only() -> None:
    rnn = f64_rnn(5, 6, num_layers=3, dropout=0.5, bidirectional=True)
    x = randn(7, 4, 5)
    elman.manual_seed(0)
    out_train, hn_train = numpy_run(rnn, x)
    out_eval, hn_eval = numpy_run(rnn.eval(), x)
    np.testing.assert_array_equal(hn_train[:2], hn_eval[:2])  # layer 0 sees no dropout
    for a, b in ((out_train, out_eval), (hn_train[2:4], hn_eval[2:4]), (hn_train[4:], hn_eval[4:])):
        assert np.abs(a - b).max() > 1e-3


def test_dropout_one_zeroes_the_next_layers_input() -> None:
    rnn = f64_rnn(3, 4, num_layers=2, dropout=1.0)
    x, hx = randn(5, 2, 3), randn(2, 2, 4, seed=1)
    xt = elman.tensor(x, requires_grad=True)
    out, hn = rnn(xt, elman.tensor(hx))
    alone = f64_rnn(1, 4)  # layer 1 on an all-zero input: only its biases and h0 act
    alone.load_state_dict(
        {
            "weight_ih_l0": np.zeros((4, 1)),
            "weight_hh_l0": rnn.weight_hh_l1,
            "bias_ih_l0": rnn.bias_ih_l1,
            "bias_hh_l0": rnn.bias_hh_l1,
        }
    )
    ref_out, ref_hn = numpy_run(alone, np.zeros((5, 2, 1)), hx[1:])
    assert_close(out, ref_out, "output")
    assert_close(hn[1:], ref_hn, "h_n of layer 1")
    out.sum().backward()  # the output does not depend on x at all
    np.testing.assert_array_equal(to_numpy(xt.grad), np.zeros_like(x))


def test_no_grad_records_nothing() -> None:
    rnn = f64_rnn(num_layers=2, bidirectional=True)
    x = elman.tensor(randn(4, 2, 3), requires_grad=True)
    out, hn = rnn(x)
    with elman.no_grad():
        out_ng, hn_ng = rnn(x)
    for t in (out_ng, hn_ng):
        assert not t.requires_grad and t.grad_fn is None
    assert out.requires_grad and hn.requires_grad
    np.testing.assert_array_equal(to_numpy(out_ng), to_numpy(out))
    np.testing.assert_array_equal(to_numpy(hn_ng), to_numpy(hn))


DROPOUT_CASES = [
    Config(3, 5, 3, "tanh", True, False, 0.4, True, "float32", 6, 4, True),
    Config(8, 32, 2, "relu", True, True, 0.3, False, "float64", 20, 16, False),
    Config(4, 7, 2, "tanh", False, False, 0.9, True, "float64", 3, None, True),
]


@requires_torch
@pytest.mark.parametrize("cfg", DROPOUT_CASES, ids=str)
def test_training_dropout_matches_torch_for_the_same_seed(cfg: Config) -> None:
    """elman's generator reproduces torch's bernoulli stream, so the masks are torch's."""
    rnn = build_rnn(cfg)
    module = torch_rnn_like(rnn, cfg.dtype)
    data = make_data(cfg, seed=3)
    elman.manual_seed(123)
    TORCH.manual_seed(123)
    compare(run_rnn(elman, rnn, data), run_rnn(TORCH, module, data), str(cfg))


@requires_torch
@pytest.mark.parametrize("use", ["output", "h_n", "frozen"])
def test_gradients_when_something_is_left_out(use: str) -> None:
    """An unused output gets no cotangent at all; frozen weights get no gradient."""
    cfg = Config(3, 4, 2, "tanh", True, False, 0.0, True, "float64", 5, 2, True)
    rnn = build_rnn(cfg)
    module = torch_rnn_like(rnn, cfg.dtype)
    if use == "frozen":
        rnn.requires_grad_(False)
        module.requires_grad_(False)
    data = make_data(cfg, seed=5)
    results = []
    for lib, m in ((elman, rnn), (TORCH, module)):
        x, hx = (lib.tensor(data[k], requires_grad=True) for k in ("x", "hx"))
        out, hn = m(x, hx)
        (hn.sum() if use == "h_n" else out.sum()).backward()
        grads = {f"grad/{n}": p.grad for n, p in m.named_parameters()}
        results.append({"grad/x": x.grad, "grad/hx": hx.grad, **grads})
    for key, expected in results[1].items():
        if expected is None:
            assert results[0][key] is None, key
        else:
            assert_close(results[0][key], expected, f"{use}: {key}")
