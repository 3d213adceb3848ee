"""torch's everyday top-level names on elman (issue 15): dtype names, legacy tensor types,
devices in a CPU-only world, creation with ``device=``/``size=``, random draws on torch's
streams, ``inference_mode``, the activation and loss modules, ``one_hot``, ``Adadelta``, and
the plain errors for what is outside elman's purpose. Against torch live, and against the
committed golden draws (tests/fixtures/compat_golden.json) without it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import elman
import elman.nn.functional as F
from elman import nn

GOLDEN = json.loads((Path(__file__).parent / "fixtures" / "compat_golden.json").read_text())
NAMES = ["float32", "float", "float64", "double", "int64", "long", "int32", "int", "bool",
         "float16", "half", "int16", "int8", "uint8"]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_dtype_names_match_torch(torch_or_skip: Any, name: str) -> None:
    ours = elman.zeros(2, dtype=getattr(elman, name))
    theirs = torch_or_skip.zeros(2, dtype=getattr(torch_or_skip, name))
    assert ours.dtype == theirs.numpy().dtype == getattr(elman, name)


def test_dtype_shortcuts_and_type_names(torch_or_skip: Any) -> None:
    torch = torch_or_skip
    for method in ("long", "float", "double", "int", "bool", "half"):
        ours = getattr(elman.tensor([0.0, 1.5, -2.0]), method)()
        theirs = getattr(torch.tensor([0.0, 1.5, -2.0]), method)()
        assert ours.dtype == theirs.numpy().dtype
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for dt in ("float32", "float64", "int64", "int32", "bool", "uint8"):
        assert (
            elman.zeros(1, dtype=getattr(elman, dt)).type()
            == torch.zeros(1, dtype=getattr(torch, dt)).type()
        )
    for target in ("LongTensor", "DoubleTensor", "IntTensor"):
        ours = elman.tensor([1.7]).type(getattr(elman, target))
        theirs = torch.tensor([1.7]).type(getattr(torch, target))
        assert ours.dtype == theirs.numpy().dtype
        name = "torch." + target
        assert elman.tensor([1.7]).type(name).dtype == torch.tensor([1.7]).type(name).numpy().dtype
    with pytest.raises(ValueError, match="invalid type: 'LongTensor'"):
        torch.zeros(1).type("LongTensor")
    with pytest.raises(ValueError, match="invalid type: 'LongTensor'"):
        elman.zeros(1).type("LongTensor")
    assert elman.tensor([1, 2]).type(elman.int64).dtype == np.int64


def test_legacy_constructors_match_torch(torch_or_skip: Any) -> None:
    torch = torch_or_skip
    cases = [
        ("Tensor", ([1, 2],)),
        ("Tensor", (np.arange(3.0),)),
        ("Tensor", (np.arange(3),)),
        ("Tensor", (2, 3)),
        ("Tensor", ()),
        ("LongTensor", ([1, 2, 3],)),
        ("LongTensor", ([[1], [2]],)),
        ("FloatTensor", ([np.zeros(2), np.ones(2)],)),
        ("DoubleTensor", ([1.5],)),
        ("BoolTensor", ([1, 0],)),
        ("LongTensor", (3,)),
    ]
    for name, args in cases:
        ours = getattr(elman, name)(*args)
        with warnings.catch_warnings():  # torch: "a list of numpy.ndarrays is extremely slow"
            warnings.simplefilter("ignore", UserWarning)
            theirs = getattr(torch, name)(*args)
        assert ours.dtype == theirs.numpy().dtype, (name, args)
        assert ours.shape == tuple(theirs.shape), (name, args)
        if args and not isinstance(args[0], int):  # torch's sized ones are uninitialised
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert isinstance(elman.LongTensor([1]), elman.LongTensor)
    assert not isinstance(elman.zeros(1), elman.LongTensor)
    assert isinstance(elman.zeros(1), elman.FloatTensor) and isinstance(
        elman.zeros(1), elman.Tensor
    )


def test_devices_answer_for_a_cpu_only_world(torch_or_skip: Any) -> None:
    torch = torch_or_skip
    for spec in (("cpu",), ("cuda",), ("cuda:1",), ("cuda", 0), ("cpu", 0)):
        assert repr(elman.device(*spec)) == repr(torch.device(*spec))
        assert str(elman.device(*spec)) == str(torch.device(*spec))
    assert elman.device("cpu") == "cpu" and elman.device("cpu") == elman.device("cpu")
    for bad in ("gpu", "cuda:x"):
        with pytest.raises(RuntimeError):
            torch.device(bad)
        with pytest.raises(RuntimeError):
            elman.device(bad)
    assert elman.cuda.is_available() is False and elman.cuda.device_count() == 0
    assert elman.accelerator.is_available() is False
    assert elman.accelerator.current_accelerator() is None
    elman.cuda.manual_seed_all(0)
    elman.backends.cudnn.deterministic = True
    assert elman.get_default_device() == elman.device("cpu")
    elman.set_default_device("cpu")
    x = elman.zeros(2, device=elman.device("cpu")).to(elman.device("cpu"))
    assert x.device == "cpu"
    with pytest.raises(RuntimeError, match="CPU only"):
        elman.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        elman.set_default_device("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        elman.Generator(device="cuda")
    assert x.is_cuda is False
    with pytest.raises(RuntimeError, match="CPU only"):
        x.cuda()
    with pytest.raises(RuntimeError, match="CPU only"):
        nn.Linear(2, 2).cuda()


def test_creation_keywords_match_torch(torch_or_skip: Any) -> None:
    torch = torch_or_skip
    calls = [
        lambda m: m.zeros(size=(2, 3)),
        lambda m: m.ones((2,), dtype=m.long),
        lambda m: m.empty(3, 1),
        lambda m: m.full((2,), 7),
        lambda m: m.full((2,), 1.5),
        lambda m: m.full((2,), True),
        lambda m: m.eye(3),
        lambda m: m.eye(2, 3, dtype=m.float64),
        lambda m: m.arange(5, device="cpu"),
        lambda m: m.tensor([1, 2], device="cpu", dtype=m.float32),
        lambda m: m.zeros(2, 2).new_zeros(3),
        lambda m: m.zeros(2, dtype=m.float64).new_ones((2, 1)),
        lambda m: m.zeros(2, dtype=m.long).new_tensor([1.9, 2.1]),
        lambda m: m.zeros(2).new_full((2,), 3.0),
        lambda m: m.arange(-1.0, 0.0, step=0.5),
        lambda m: m.arange(end=4),
        lambda m: m.arange(1, end=7, step=2),
        lambda m: m.zeros((2, m.tensor(3))),
        lambda m: m.ones(m.tensor([2]), 3, dtype=m.long),
    ]
    for i, call in enumerate(calls):
        ours, theirs = call(elman), call(torch)
        assert ours.dtype == theirs.numpy().dtype and ours.shape == tuple(theirs.shape)
        if i != 2:  # torch.empty's values are whatever was in memory
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_unknown_creation_keywords_are_refused_as_torch(torch_or_skip: Any) -> None:
    for call in (
        lambda m: m.zeros(2, out=None, bogus=1),
        lambda m: m.tensor([1], bogus=1),
        lambda m: m.arange(3, bogus=1),
        lambda m: m.randperm(3, bogus=1),
        lambda m: m.zeros(2).new_zeros(2, bogus=1),
        lambda m: m.zeros((2, m.tensor(3.0))),
    ):
        with pytest.raises(TypeError):
            call(torch_or_skip)
        with pytest.raises(TypeError):
            call(elman)


def test_random_draws_equal_torchs_golden() -> None:
    elman.manual_seed(0)
    assert elman.randperm(10).tolist() == GOLDEN["randperm_10_seed0"]
    elman.manual_seed(1)
    assert elman.randint(0, 7, (6,)).tolist() == GOLDEN["randint_0_7_6_seed1"]
    elman.manual_seed(2)
    probs = elman.tensor([[0.1, 0.2, 0.3, 0.4], [0.5, 0.0, 0.25, 0.25]])
    assert elman.multinomial(probs, 1).tolist() == GOLDEN["multinomial_rows_seed2"]
    elman.manual_seed(3)
    out = elman.multinomial(elman.tensor([0.1, 0.2, 0.3, 0.4]), 3).tolist()
    assert out == GOLDEN["multinomial_k3_seed3"]


def test_random_draws_match_torch_live(torch_or_skip: Any) -> None:
    torch = torch_or_skip
    calls = [
        lambda m, g: m.randperm(50, generator=g),
        lambda m, g: m.randint(10, (3, 4), generator=g),
        lambda m, g: m.randint(-5, 5, size=(7,), generator=g),
        lambda m, g: m.rand_like(m.zeros(2, 3), generator=g),
        lambda m, g: m.randn_like(m.zeros(4, dtype=m.float64), generator=g),
        lambda m, g: m.randn(size=(2, 2), generator=g),
        lambda m, g: m.multinomial(m.rand(5, 6, generator=g), 1, generator=g),
        lambda m, g: m.multinomial(m.rand(6, generator=g), 4, generator=g),
        lambda m, g: m.multinomial(m.rand(3, 5, generator=g), 40, True, generator=g),
        lambda m, g: m.multinomial(m.rand(5, dtype=m.float64, generator=g), 9, True, generator=g),
    ]
    for call in calls:
        ours = call(elman, elman.Generator().manual_seed(11))
        theirs = call(torch, torch.Generator().manual_seed(11))
        assert ours.dtype == theirs.numpy().dtype
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_inference_mode_and_variable() -> None:
    w = elman.ones(2, requires_grad=True)
    with elman.inference_mode():
        assert not (w * 2).requires_grad and elman.is_inference_mode_enabled()
    with elman.inference_mode(False):
        assert (w * 2).requires_grad

    @elman.inference_mode()
    def f(x: Any) -> Any:
        return x * 2

    assert not f(w).requires_grad and (w * 2).requires_grad
    v = elman.autograd.Variable(elman.zeros(2), requires_grad=True)
    assert isinstance(v, elman.Tensor) and v.requires_grad


ACTIVATIONS = [
    ("ReLU", {}),
    ("Tanh", {}),
    ("Sigmoid", {}),
    ("Softmax", {"dim": 1}),
    ("LogSoftmax", {"dim": 0}),
]


@pytest.mark.parametrize("name,kwargs", ACTIVATIONS)
def test_activation_modules_match_torch(torch_or_skip: Any, name: str, kwargs: Any) -> None:
    torch = torch_or_skip
    x = np.random.default_rng(1).standard_normal((3, 4))
    x[0, 0] = np.nan
    ours_in, theirs_in = elman.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    o, t = ours(ours_in), theirs(theirs_in)
    np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-12)
    (o * o.detach().nan_to_num() if hasattr(o, "nan_to_num") else o).sum()


def test_implicit_dim_log_softmax_warns_like_torch(torch_or_skip: Any) -> None:
    x = np.random.default_rng(2).standard_normal((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        ours = nn.LogSoftmax()(elman.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch_or_skip.nn.LogSoftmax()(torch_or_skip.tensor(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


LOSSES = [
    ("nll", lambda m, x, t, w: m.nn.functional.nll_loss(x, t)),
    ("nll_sum", lambda m, x, t, w: m.nn.functional.nll_loss(x, t, reduction="sum")),
    ("nll_none_weight", lambda m, x, t, w: m.nn.NLLLoss(weight=w, reduction="none")(x, t)),
    ("nll_weight_ignore", lambda m, x, t, w: m.nn.NLLLoss(weight=w, ignore_index=1)(x, t)),
    ("nll_1d", lambda m, x, t, w: m.nn.functional.nll_loss(x[0], t[0])),
    ("nll_3d", lambda m, x, t, w: m.nn.functional.nll_loss(x.reshape(2, 4, 1), t.reshape(2, 1))),
    ("bce", lambda m, x, t, w: m.nn.BCEWithLogitsLoss()(x, (x > 0).to(x.dtype))),
    (
        "bce_sum_weight",
        lambda m, x, t, w: m.nn.functional.binary_cross_entropy_with_logits(
            x * 30, (x < 0).to(x.dtype), weight=w, reduction="sum"
        ),
    ),  # fmt: skip
    ("bce_none", lambda m, x, t, w: m.nn.BCEWithLogitsLoss(reduction="none")(x, x.sigmoid())),
    (
        "bce_pos_weight",
        lambda m, x, t, w: m.nn.BCEWithLogitsLoss(pos_weight=w)(x * 20, (x > 0).to(x.dtype)),
    ),  # noqa: E501
    (
        "bce_pos_weight_soft",
        lambda m, x, t, w: m.nn.functional.binary_cross_entropy_with_logits(
            x, x.detach().sigmoid(), pos_weight=w[:1], reduction="sum"
        ),
    ),  # fmt: skip
]


@pytest.mark.parametrize("name", [c[0] for c in LOSSES])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_losses_match_torch(torch_or_skip: Any, name: str, dtype: str) -> None:
    torch = torch_or_skip
    fn = dict(LOSSES)[name]
    x = np.random.default_rng(3).standard_normal((2, 4)).astype(dtype)
    t, w = np.array([3, 1]), np.array([0.5, 1.0, 2.0, 3.0], dtype)
    ours_x, theirs_x = elman.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    o = fn(elman, ours_x, elman.tensor(t), elman.tensor(w))
    r = fn(torch, theirs_x, torch.tensor(t), torch.tensor(w))
    tol = {"rtol": 1e-12, "atol": 1e-14} if dtype == "float64" else {"rtol": 2e-6, "atol": 1e-6}
    np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), **tol)
    o.sum().backward()
    r.sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), **tol)


def test_loss_gradcheck() -> None:
    x = elman.tensor(np.random.default_rng(4).standard_normal((3, 4)), requires_grad=True)
    t = elman.tensor([0, 3, 2])
    w = elman.tensor([1.0, 2, 3, 4], dtype=elman.float64)
    assert elman.autograd.gradcheck(lambda a: F.nll_loss(a, t, weight=w), (x,))
    y = elman.tensor(np.random.default_rng(6).random((3, 4)))
    assert elman.autograd.gradcheck(lambda a: F.binary_cross_entropy_with_logits(a, y), (x,))
    pw = elman.tensor([0.5, 2.0, 1.0, 3.0], dtype=elman.float64)
    assert elman.autograd.gradcheck(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw),
        (x, y.requires_grad_(True)),
    )


def test_one_hot_and_loss_errors_match_torch(torch_or_skip: Any) -> None:
    torch = torch_or_skip
    for args in (([0, 2, 1],), ([[1], [0]], 3)):
        ours = F.one_hot(elman.tensor(args[0]), *args[1:])
        theirs = torch.nn.functional.one_hot(torch.tensor(args[0]), *args[1:])
        assert ours.dtype == theirs.numpy().dtype
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    bad = [
        lambda m: m.nn.functional.one_hot(m.tensor([1.0])),
        lambda m: m.nn.functional.one_hot(m.tensor([3]), 2),
        lambda m: m.nn.functional.one_hot(m.tensor([-1])),
        lambda m: m.nn.functional.nll_loss(m.zeros(2, 3), m.tensor([0.0, 1.0])),
        lambda m: m.nn.functional.nll_loss(m.zeros(2, 3), m.tensor([0, 1, 2])),
        lambda m: m.nn.functional.nll_loss(m.zeros(2, 3), m.tensor([0, 5])),
        lambda m: m.nn.functional.binary_cross_entropy_with_logits(m.zeros(2), m.zeros(3)),
    ]
    for call in bad:
        with pytest.raises(Exception) as theirs:
            call(torch)
        with pytest.raises(type(theirs.value), match=str(theirs.value)[:12].replace("(", ".")):
            call(elman)


def test_adadelta_matches_torch(torch_or_skip: Any) -> None:
    torch = torch_or_skip
    w0 = np.random.default_rng(5).standard_normal((3, 2))
    for kwargs in (
        {},
        {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1},
        {"maximize": True},
    ):
        ours = elman.nn.Parameter(elman.tensor(w0))
        theirs = torch.nn.Parameter(torch.tensor(w0))
        opt_o, opt_t = (
            elman.optim.Adadelta([ours], **kwargs),
            torch.optim.Adadelta([theirs], **kwargs),
        )
        for _ in range(20):
            for p, opt in ((ours, opt_o), (theirs, opt_t)):
                opt.zero_grad()
                ((p * p).sum() + p.sum() * 0.3).backward()
                opt.step()
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
        st_o, st_t = opt_o.state[ours], opt_t.state[theirs]
        np.testing.assert_allclose(st_o["acc_delta"].numpy(), st_t["acc_delta"].numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "DataParallel", "Transformer", "BatchNorm1d"])
def test_outside_elmans_purpose_says_so(name: str) -> None:
    with pytest.raises(AttributeError, match="outside elman's purpose"):
        getattr(nn, name)
    with pytest.raises(AttributeError, match="has no attribute 'Nonexistent'$"):
        nn.Nonexistent  # noqa: B018


def test_library_code_never_calls_the_legacy_constructor() -> None:
    """``Tensor(data)`` is torch's legacy constructor (float32 whatever the data): code inside
    elman builds tensors with ``Tensor._make`` / ``_wrap``, which keep the array's dtype. A
    stray ``Tensor(arr)`` (say from a merge) would turn int64 indices into float32."""
    import re

    src = Path(elman.__file__).parent
    call = re.compile(r"(?<![\w.])Tensor\((?!\))")
    offenders = []
    for path in src.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            if call.search(code) and not re.search(r"class |isinstance|``|>>>|\"|'", code):
                offenders.append(f"{path.relative_to(src)}:{number}: {line.strip()}")
    assert not offenders, offenders
