"""elman.random reproduces torch's CPU generator streams bit for bit.

Every stream is checked against the committed golden fixtures (made by torch with
``fixtures/make_random_fixtures.py``) and, when torch is installed, against torch live.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import elman
from conftest import TORCH, requires_torch
from elman import random as er

with np.load(Path(__file__).parent / "fixtures" / "random_golden.npz") as _npz:
    GOLDEN = {key: _npz[key] for key in _npz.files}
RECIPE: list[dict[str, Any]] = json.loads(str(GOLDEN["recipe"]))


def elman_step(g: er.Generator, op: str, kw: dict[str, Any]) -> np.ndarray:
    """elman's result of one recipe step (see make_random_fixtures.py)."""
    return g.get_state() if op == "state" else getattr(g, op)(**kw)


def torch_step(torch: Any, op: str, kw: dict[str, Any]) -> np.ndarray:
    """torch's result of one recipe step on its global generator."""
    dtype = {"float32": torch.float32, "float64": torch.float64}.get(kw.get("dtype", ""))
    if op == "uniform":
        return torch.empty(kw["shape"], dtype=dtype).uniform_(kw["low"], kw["high"]).numpy()
    if op == "normal":
        return torch.empty(kw["shape"], dtype=dtype).normal_(kw["mean"], kw["std"]).numpy()
    if op == "bernoulli":
        return torch.empty(kw["shape"], dtype=dtype).bernoulli_(kw["p"]).numpy()
    if op == "randint":
        return torch.randint(kw["low"], kw["high"], kw["shape"]).numpy()
    if op == "randperm":
        return torch.randperm(kw["n"]).numpy()
    return torch.get_rng_state().numpy()


def assert_bitwise(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Same dtype, same shape, same bytes (so -0.0 != 0.0 and NaN payloads count)."""
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    a, e = actual.reshape(-1).view(np.uint8), expected.reshape(-1).view(np.uint8)
    bad = np.flatnonzero(a != e)
    assert bad.size == 0, f"{what}: {bad.size} bytes differ, first at byte {bad[0]}"


# ---- golden fixtures (always run) ------------------------------------------------------------


@pytest.mark.parametrize("case", RECIPE, ids=[c["name"] for c in RECIPE])
def test_recipe_matches_golden(case: dict[str, Any]) -> None:
    g = er.Generator(case["seed"])
    for i, (op, kw) in enumerate(case["steps"]):
        assert_bitwise(elman_step(g, op, kw), GOLDEN[f"{case['name']}/{i}"], f"step {i} {op}")


def test_global_generator_matches_golden() -> None:
    case = next(c for c in RECIPE if c["name"] == "mixed")
    assert er.manual_seed(case["seed"]) is er.default_generator
    for i, (op, kw) in enumerate(case["steps"]):
        got = er.get_rng_state() if op == "state" else getattr(er.default_generator, op)(**kw)
        assert_bitwise(got, GOLDEN[f"mixed/{i}"], f"step {i} {op}")


def test_known_values() -> None:
    # torch.manual_seed(0); torch.rand(3) and torch.randn(4), written out
    expected = np.array([0.4962566, 0.7682218, 0.08847743], np.float32)
    np.testing.assert_array_equal(er.Generator(0).uniform(3), expected)
    expected = np.array([1.5409961, -0.2934289, -2.1787894, 0.56843126], np.float32)
    np.testing.assert_array_equal(er.Generator(0).normal(4), expected)


def test_state_roundtrip_restores_every_stream() -> None:
    g = er.Generator(11)
    g.normal(3, dtype=np.float64)  # leaves a cached normal sample in the state
    state = g.get_state()
    first = [g.normal(1), g.uniform(50, -1, 2, np.float64), g.normal(40), g.randperm(30)]
    g.manual_seed(99)
    g.set_state(state)
    again = [g.normal(1), g.uniform(50, -1, 2, np.float64), g.normal(40), g.randperm(30)]
    for a, b in zip(first, again, strict=True):
        assert_bitwise(b, a, "after set_state")
    assert g.initial_seed() == 11
    assert state.dtype == np.uint8 and state.shape == (5056,)


def test_state_records_the_cached_normal_sample() -> None:
    g = er.Generator(5)
    before = g.get_state()
    g.normal(1, dtype=np.float64)
    cached = g.get_state()
    assert int.from_bytes(cached[5040:5044].tobytes(), "little") == 1  # normal_is_valid
    assert int.from_bytes(before[5040:5044].tobytes(), "little") == 0
    # the cache is consumed by the next small normal without drawing
    g.normal(1)
    assert_bitwise(g.get_state()[:5016], cached[:5016], "MT state unchanged")


def test_set_state_keeps_every_field() -> None:
    state = er.Generator(21).get_state()
    fields = state.view(er._STATE_DTYPE)
    fields["normal_y"], fields["normal_valid"] = -0.75, 1
    fields["float_y"], fields["float_valid"] = 0.25, 1  # torch's unused float cache
    g = er.Generator()
    g.set_state(state)
    assert_bitwise(g.get_state(), state, "get_state(set_state(s)) == s")
    assert g.normal(1, dtype=np.float64)[0] == -0.75  # the cached sample comes out first


def test_default_seed_and_reseeding() -> None:
    assert er.Generator().initial_seed() == 67280421310721
    assert_bitwise(er.Generator().uniform(10), er.Generator(67280421310721).uniform(10), "seed")
    g = er.Generator(0)
    seeds = {g.seed() for _ in range(3)}
    assert len(seeds) == 3 and all(0 <= s < 2**64 for s in seeds)
    s = g.seed()
    assert g.initial_seed() == s
    assert_bitwise(g.uniform(5), er.Generator(s).uniform(5), "seed() reseeds")
    assert er.seed() == er.initial_seed() == elman.initial_seed()


def test_negative_and_wide_seeds_wrap_like_torch() -> None:
    assert er.Generator(-1).initial_seed() == 2**64 - 1
    assert er.Generator(np.int64(-(2**63))).initial_seed() == 2**63
    # only the low 32 bits seed MT19937
    assert_bitwise(er.Generator(2**32 + 7).uniform(9), er.Generator(7).uniform(9), "low bits")


@pytest.mark.parametrize(
    ("seed", "error", "match"),
    [
        (1.5, TypeError, "manual_seed expected a long, but got float"),
        ("3", TypeError, "manual_seed expected a long, but got str"),
        (None, TypeError, "manual_seed expected a long, but got NoneType"),
        (True, TypeError, "manual_seed expected a long, but got bool"),
        (2**64, ValueError, "Overflow when unpacking long long"),
        (-(2**63) - 1, ValueError, "Overflow when unpacking long long"),
    ],
)
def test_seed_validation(seed: Any, error: type, match: str) -> None:
    g = er.Generator(3)
    with pytest.raises(error, match=match):
        g.manual_seed(seed)
    assert g.initial_seed() == 3  # a rejected seed leaves the generator alone
    with pytest.raises(error, match=match):
        elman.manual_seed(seed)


def test_set_state_validation() -> None:
    g = er.Generator(0)
    good = g.get_state()
    with pytest.raises(TypeError, match="RNG state must be a numpy.uint8 array"):
        g.set_state(good.astype(np.int32))
    with pytest.raises(RuntimeError, match="Expected a CPUGeneratorImplState of size 5056"):
        g.set_state(good[:10])
    for left in (0, 625, 300):  # 300 disagrees with next == 0
        bad = good.copy()
        bad[8:12] = np.frombuffer(np.int32(left).tobytes(), np.uint8)
        with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
            g.set_state(bad)
    assert_bitwise(g.get_state(), good, "rejected states leave the generator alone")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda g: g.uniform(3, 1.0, 0.0), RuntimeError, r"from=1 > to=0"),
        (lambda g: g.uniform(3, 0.0, math.inf), RuntimeError, "to is out of bounds for float"),
        (lambda g: g.uniform(3, math.nan, 1.0, np.float64), RuntimeError, "from is out of bo"),
        (lambda g: g.uniform(3, -3e38, 3e38), RuntimeError, r"numeric_limits<Float>::max\(\)"),
        (lambda g: g.uniform(3, dtype=np.int32), TypeError, "expected dtype numpy.float32"),
        (lambda g: g.normal(3, 0.0, -1.0), RuntimeError, "normal expects std >= 0.0, but fou"),
        (lambda g: g.bernoulli(3, 1.5), RuntimeError, r"expects p to be in \[0, 1\], but got"),
        (lambda g: g.randint(5, 5, 3), RuntimeError, "but got from=5 >= to=5"),
        (lambda g: g.randint(0, 2**63, 3), ValueError, "Overflow when unpacking long long"),
        (lambda g: g.uniform((2, -1)), RuntimeError, r"negative dimension -1: \[2, -1\]"),
        (lambda g: g.randperm(-1), RuntimeError, r"negative dimension -1: \[-1\]"),
    ],
)
def test_argument_errors_leave_the_stream_alone(call: Any, error: type, match: str) -> None:
    g = er.Generator(1)
    with pytest.raises(error, match=match):
        call(g)
    assert_bitwise(g.uniform(4), er.Generator(1).uniform(4), "no draws consumed")


def test_numpy_global_random_state_is_untouched() -> None:
    before = np.random.get_state(legacy=False)["state"]["key"].copy()
    g = er.Generator(4)
    g.uniform(10), g.normal(20), g.bernoulli(5, 0.5), g.randperm(5), g.seed(), er.manual_seed(1)
    assert_bitwise(np.random.get_state(legacy=False)["state"]["key"], before, "numpy global")


def test_bernoulli_compares_strictly() -> None:
    # p equal to the drawn uniform gives a zero: torch's test is u < p
    u = er.Generator(0)._unit(2, np.dtype(np.float64))
    assert er.Generator(0).bernoulli(2, float(u[0])).tolist() == [0.0, float(u[1] < u[0])]
    assert er.Generator(0).bernoulli(2, float(np.nextafter(u[0], 1))).tolist()[0] == 1.0


def test_empty_and_scalar_shapes() -> None:
    g = er.Generator(0)
    state = g.get_state()
    assert g.uniform((2, 0, 3)).shape == (2, 0, 3) and g.normal(0).shape == (0,)
    assert g.randperm(0).shape == (0,) and g.randperm(1).tolist() == [0]
    assert_bitwise(g.get_state(), state, "empty draws consume nothing")
    one = g.normal((), dtype=np.float64)
    assert one.shape == () and one == er.Generator(0).normal(1, dtype=np.float64)[0]


# ---- exact fused multiply-add helpers ----------------------------------------------------------


def test_fma32_rounds_once_at_a_float32_midpoint() -> None:
    # a*b = 2**-24 - 2**-60, so a*b + c lies just below the midpoint between 1 + 2**-23 and
    # 1 + 2**-22; a float64 add lands exactly on the midpoint and ties to the wrong side.
    a = np.array([(2**18 - 1) / 2**18], np.float32)
    b, c = np.float32((2**18 + 1) / 2**42), np.float32(1 + 2**-23)
    assert er._fma32(a, b, c)[0] == np.float32(1 + 2**-23)
    assert np.float32(np.float64(a[0]) * np.float64(b) + np.float64(c)) != np.float32(1 + 2**-23)


def test_fma64_is_correctly_rounded() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**53, 2000) * 2.0**-53
    for b, c in [(0.1, -0.05), (2 / 3, 1e-9), (-3.7e5, 12.5), (1 - 2.0**-53, -0.5)]:
        exact = [float(Fraction(x) * Fraction(b) + Fraction(c)) for x in a.tolist()]
        np.testing.assert_array_equal(er._fma64(a, b, c), np.array(exact))
    # a*b = 2**-53 + 2**-106 - 2**-158: 1 + a*b is just above the midpoint between 1 and its
    # successor, but adding the rounded error terms lands on the midpoint and ties to 1.
    a = np.array([1 - 2.0**-53])
    assert er._fma64(a, (1 + 2.0**-52) * 2.0**-53, 1.0)[0] == 1 + 2.0**-52


# ---- torch, live (skipped without torch) -------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("case", RECIPE, ids=[c["name"] for c in RECIPE])
def test_recipe_matches_torch_live(case: dict[str, Any]) -> None:
    torch = TORCH
    torch.manual_seed(case["seed"])
    g = er.Generator(case["seed"])
    for i, (op, kw) in enumerate(case["steps"]):
        assert_bitwise(elman_step(g, op, kw), torch_step(torch, op, kw), f"step {i} {op}")


@requires_torch
def test_random_sequences_match_torch_live() -> None:
    torch = TORCH
    rng = np.random.default_rng(2024)
    for trial in range(40):
        seed = int(rng.integers(0, 2**63)) * (-1 if trial % 2 else 1)
        torch.manual_seed(seed)
        g = er.Generator(seed)
        for _ in range(8):
            op = str(rng.choice(["uniform", "normal", "bernoulli", "randint", "randperm"]))
            n = int(rng.choice([1, 3, 15, 16, 17, 40, 1000]))
            dtype = str(rng.choice(["float32", "float64"]))
            h = 1 / math.sqrt(int(rng.integers(1, 1025)))
            low = h * float(rng.choice([-1.0, -1.0, -0.3, 0.0, 0.5]))
            mean, std = float(rng.normal()), float(rng.choice([1.0, 0.01, 3.0]))
            kwargs: dict[str, dict[str, Any]] = {
                "uniform": {"shape": [n], "low": low, "high": h, "dtype": dtype},
                "normal": {"shape": [n], "mean": mean, "std": std, "dtype": dtype},
                "bernoulli": {"shape": [n], "p": float(rng.random()), "dtype": dtype},
                "randint": {"low": -7, "high": int(rng.choice([3, 2**30, 2**50])), "shape": [n]},
                "randperm": {"n": n},
            }
            kw = kwargs[op]
            assert_bitwise(elman_step(g, op, kw), torch_step(torch, op, kw), f"{op} {kw}")
        assert_bitwise(g.get_state(), torch.get_rng_state().numpy(), "state")


@requires_torch
def test_init_bounds_match_torch_for_many_hidden_sizes() -> None:
    torch = TORCH
    for hidden in (1, 3, 7, 20, 33, 64, 100, 256, 400, 1000, 4096):
        bound = 1 / math.sqrt(hidden)
        for dtype, tdtype in ((np.float32, torch.float32), (np.float64, torch.float64)):
            torch.manual_seed(hidden)
            t = torch.empty(4000, dtype=tdtype).uniform_(-bound, bound).numpy()
            assert_bitwise(er.Generator(hidden).uniform(4000, -bound, bound, dtype), t, "init")


@requires_torch
def test_states_interchange_with_torch_live() -> None:
    torch = TORCH
    torch.manual_seed(3)
    torch.randn(3, dtype=torch.float64)  # leaves torch's cached normal sample set
    torch.rand(700)  # crosses an MT19937 twist
    g = er.Generator()
    g.set_state(torch.get_rng_state().numpy())
    assert_bitwise(g.get_state(), torch.get_rng_state().numpy(), "torch -> elman")
    assert_bitwise(g.normal(5, dtype=np.float64), torch.randn(5, dtype=torch.float64).numpy(), "")
    torch.set_rng_state(torch.from_numpy(g.get_state()))
    assert_bitwise(torch.rand(9).numpy(), g.uniform(9), "elman -> torch")
    assert er.Generator().initial_seed() == torch.Generator().initial_seed()


@requires_torch
def test_error_messages_match_torch_live() -> None:
    torch = TORCH
    cases = [
        (lambda: torch.empty(3).uniform_(1, 0), lambda: er.Generator().uniform(3, 1, 0)),
        (lambda: torch.empty(3).normal_(0, -1), lambda: er.Generator().normal(3, 0, -1)),
        (lambda: torch.empty(3).bernoulli_(1.5), lambda: er.Generator().bernoulli(3, 1.5)),
        (lambda: torch.randint(5, 3, (3,)), lambda: er.Generator().randint(5, 3, 3)),
        (lambda: torch.randperm(-2), lambda: er.Generator().randperm(-2)),
        (
            lambda: torch.empty(3, dtype=torch.float64).uniform_(-1e308, 1e308),
            lambda: er.Generator().uniform(3, -1e308, 1e308, np.float64),
        ),
    ]
    for torch_call, elman_call in cases:
        with pytest.raises(RuntimeError) as expected:
            torch_call()
        with pytest.raises(RuntimeError) as got:
            elman_call()
        assert str(got.value) == str(expected.value)
