"""elman.optim against torch.optim: every step of every optimizer and option, state dicts,
parameter groups, validation; and against the golden fixtures made by torch.

Each case feeds elman and torch identical parameters and identical gradients (a fixed
random sequence, or the gradients of a Linear + MSE model computed by each library) and
compares the parameters after every step. The cases are the ones of
``fixtures/make_optim_fixtures.py``; the golden tests replay them without torch.
"""

from __future__ import annotations

import copy
import doctest
import json
import re
from typing import Any

import numpy as np
import pytest

import elman
from conftest import FIXTURES, TORCH, assert_close, requires_torch, to_numpy
from elman import optim

GOLDEN = FIXTURES / "optim_golden.npz"
with np.load(GOLDEN, allow_pickle=False) as _npz:
    GOLD = {k: _npz[k] for k in _npz.files}
KEEP = tuple(int(k) for k in GOLD["meta/keep"])
STEPS = KEEP[-1]
OPT_CASES = sorted({k.split("/")[0] for k in GOLD if k.startswith("opt")})
MODEL_CASES = sorted({k.split("/")[0] for k in GOLD if re.match(r"model\d", k)})
DTYPES = ["float64", "float32"]
# per step, as the brief asks: float64 to 1e-12 relative, float32 to about 1e-6
TOL = {"float64": {"rtol": 1e-12, "atol": 1e-14}, "float32": {"rtol": 1e-5, "atol": 2e-6}}


def config(case: str) -> dict[str, Any]:
    return json.loads(str(GOLD[f"{case}/config"]))


def options(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if k == "betas" else v for k, v in kwargs.items()}


def build(lib: Any, cfg: dict[str, Any], params: list[Any]) -> Any:
    """The optimizer of ``cfg`` from ``lib`` (elman or torch) over ``params``."""
    groups: Any = params
    if cfg.get("groups"):
        g0, g1 = (options(g) for g in cfg["groups"])
        groups = [{"params": params[:1], **g0}, {"params": params[1:], **g1}]
    return getattr(lib.optim, cfg["optimizer"])(groups, **options(cfg["kwargs"]))


def make_params(lib: Any, arrays: list[np.ndarray]) -> list[Any]:
    if lib is elman:
        return [elman.nn.Parameter(a.copy()) for a in arrays]
    return [lib.nn.Parameter(lib.from_numpy(a.copy())) for a in arrays]


def as_grad(lib: Any, array: np.ndarray) -> Any:
    return elman.tensor(array.copy()) if lib is elman else lib.from_numpy(array.copy())


def feed(lib: Any, opt: Any, params: list[Any], cfg: dict, dtype: str, step: int) -> None:
    """Set the fixed gradients of ``step`` (none for parameter 2 on holes) and step."""
    opt.zero_grad()
    for i, p in enumerate(params):
        if not (cfg.get("holes") and i == 2 and step % 3 == 0):
            p.grad = as_grad(lib, GOLD[f"data/{dtype}/grad{i}"][step])
    opt.step()


def initial(dtype: str) -> list[np.ndarray]:
    return [GOLD[f"data/{dtype}/init{i}"] for i in range(3)]


def state_arrays(opt: Any) -> dict[str, np.ndarray]:
    return {
        f"{i}/{k}": to_numpy(v)
        for i, entry in opt.state_dict()["state"].items()
        for k, v in entry.items()
    }


# ---- fixed gradient sequences: every step against torch, then the golden numbers ------


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", OPT_CASES)
def test_steps_match_torch(case: str, dtype: str) -> None:
    cfg = config(case)
    ep, tp = make_params(elman, initial(dtype)), make_params(TORCH, initial(dtype))
    eopt, topt = build(elman, cfg, ep), build(TORCH, cfg, tp)
    arrays = [p._data for p in ep]
    for step in range(STEPS):
        feed(elman, eopt, ep, cfg, dtype, step)
        feed(TORCH, topt, tp, cfg, dtype, step)
        for i, (e, t) in enumerate(zip(ep, tp, strict=True)):
            assert_close(e.detach(), t, f"{case} step {step} p{i}", **TOL[dtype])
    assert all(p._data is a for p, a in zip(ep, arrays, strict=True))  # updated in place
    expected, actual = state_arrays(topt), state_arrays(eopt)
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert_close(actual[key], value, f"{case} state {key}", **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", OPT_CASES)
def test_steps_match_golden(case: str, dtype: str) -> None:
    cfg = config(case)
    params = make_params(elman, initial(dtype))
    opt = build(elman, cfg, params)
    for step in range(STEPS):
        feed(elman, opt, params, cfg, dtype, step)
        if step + 1 in KEEP:
            for i, p in enumerate(params):
                want = GOLD[f"{case}/{dtype}/p{i}"][KEEP.index(step + 1)]
                assert_close(p.detach(), want, f"{case} step {step} p{i}", **TOL[dtype])
    prefix = f"{case}/{dtype}/state/"
    expected = {k[len(prefix) :]: v for k, v in GOLD.items() if k.startswith(prefix)}
    actual = state_arrays(opt)
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert_close(actual[key], value, f"{case} state {key}", **TOL[dtype])
    if cfg.get("holes"):  # parameter 2 missed steps 0, 3, 6, ...: its counter says so
        steps = {k: float(v) for k, v in actual.items() if k.endswith("/step")}
        assert steps.get("2/step", STEPS - 17) == STEPS - 17


# ---- a real model: Linear + MSE, gradients from each library's autograd -------------------


def fit(lib: Any, cfg: dict[str, Any], dtype: str, steps: int = STEPS) -> list[np.ndarray]:
    data = {k: GOLD[f"model/{dtype}/{k}"] for k in ("x", "y", "weight", "bias")}
    if lib is elman:
        model = elman.nn.Linear(4, 3, dtype=dtype)
        model.load_state_dict({"weight": data["weight"], "bias": data["bias"]})
        x, y = elman.tensor(data["x"]), elman.tensor(data["y"])
    else:
        model = lib.nn.Linear(4, 3, dtype=getattr(lib, dtype))
        model.load_state_dict({k: lib.from_numpy(data[k].copy()) for k in ("weight", "bias")})
        x, y = lib.from_numpy(data["x"]), lib.from_numpy(data["y"])
    opt = getattr(lib.optim, cfg["optimizer"])(model.parameters(), **cfg["kwargs"])
    kept = []
    for step in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        if step + 1 in KEEP:
            kept += [to_numpy(model.weight), to_numpy(model.bias)]
    return kept


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MODEL_CASES)
def test_model_fit_matches_golden_and_torch(case: str, dtype: str) -> None:
    cfg = config(case)
    actual = fit(elman, cfg, dtype)
    golden = [GOLD[f"{case}/{dtype}/{k}"][j] for j in range(len(KEEP)) for k in ("weight", "bias")]
    for a, g in zip(actual, golden, strict=True):
        assert_close(a, g, f"{case} vs golden", **TOL[dtype])
    if TORCH is not None:
        for a, t in zip(actual, fit(TORCH, cfg, dtype), strict=True):
            assert_close(a, t, f"{case} vs torch", **TOL[dtype])
    assert not np.allclose(actual[-2], GOLD[f"model/{dtype}/weight"])  # it did train


# ---- state dicts ----------------------------------------------------------------------


def _assert_same_tree(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_same_tree(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same_tree(x, y)
    elif isinstance(a, (elman.Tensor, np.ndarray)):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    else:
        assert a == b


def _to_arrays(tree: Any) -> Any:
    """What a checkpoint writer may hand back: ndarrays for Tensors, str keys for ints."""
    if isinstance(tree, elman.Tensor):
        return np.array(tree._data)
    if isinstance(tree, dict):
        return {(str(k) if isinstance(k, int) else k): _to_arrays(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_to_arrays(v) for v in tree]
    return tree


@pytest.mark.parametrize("via", ["tensors", "arrays"])
@pytest.mark.parametrize("case", ["opt03", "opt10", "opt14", "opt19", "opt25"])
def test_state_dict_round_trip_mid_run(case: str, via: str) -> None:
    """Save at step 20, load into a fresh optimizer (built with another lr, which the
    loaded groups must restore), continue: bit-identical to the uninterrupted run."""
    cfg, dtype = config(case), "float64"
    convert = (lambda sd: sd) if via == "tensors" else _to_arrays
    straight = make_params(elman, initial(dtype))
    opt = build(elman, cfg, straight)
    for step in range(STEPS):
        feed(elman, opt, straight, cfg, dtype, step)

    first = make_params(elman, initial(dtype))
    opt = build(elman, cfg, first)
    for step in range(20):
        feed(elman, opt, first, cfg, dtype, step)
    saved = convert(opt.state_dict())
    snapshot = copy.deepcopy(saved)
    resumed = make_params(elman, [to_numpy(p) for p in first])
    feed(elman, opt, first, cfg, dtype, 20)
    _assert_same_tree(saved, snapshot)  # later steps do not reach into a saved dict

    opt2 = build(elman, {**cfg, "kwargs": {**cfg["kwargs"], "lr": 123.0}}, resumed)
    opt2.load_state_dict(saved)
    _assert_same_tree(saved, snapshot)  # loading copies: the dict stays as it was
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]
    for step in range(20, STEPS):
        feed(elman, opt2, resumed, cfg, dtype, step)
    for s, r in zip(straight, resumed, strict=True):
        np.testing.assert_array_equal(to_numpy(r), to_numpy(s))


def test_state_dict_layout() -> None:
    w, b = elman.nn.Parameter(elman.ones(2, 3)), elman.nn.Parameter(elman.zeros(3))
    opt = optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.5}], amsgrad=True)
    w.grad = elman.ones(2, 3)  # b has no grad: no state, as in torch
    opt.step()
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    assert list(sd["state"]) == [0] and [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    entry = sd["state"][0]
    assert sorted(entry) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert isinstance(entry["step"], elman.Tensor) and entry["step"].dtype == np.float32
    assert entry["step"].item() == 1.0 and entry["exp_avg"].dtype == np.float32
    np.testing.assert_allclose(entry["exp_avg"].numpy(), 0.1, rtol=1e-6)
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert entry["exp_avg"]._data is not opt.state[w]["exp_avg"]._data  # a copy


@requires_torch
@pytest.mark.parametrize("case", ["opt02", "opt12", "opt15", "opt21", "opt24"])
def test_state_dicts_cross_load_with_torch(case: str) -> None:
    """torch's state dict loads into elman and elman's into torch; both continue as torch."""
    cfg, dtype, torch = config(case), "float64", TORCH
    tp = make_params(torch, initial(dtype))
    topt = build(torch, cfg, tp)
    for step in range(20):
        feed(torch, topt, tp, cfg, dtype, step)
    ep = make_params(elman, [to_numpy(p) for p in tp])
    eopt = build(elman, cfg, ep)
    eopt.load_state_dict(topt.state_dict())  # torch tensors, torch-only group keys
    eopt.load_state_dict(eopt.state_dict())  # and back through elman's own layout
    back = make_params(torch, [to_numpy(p) for p in tp])
    topt2 = build(torch, cfg, back)
    sd = eopt.state_dict()
    sd["state"] = {
        i: {k: torch.from_numpy(to_numpy(v)) for k, v in s.items()} for i, s in sd["state"].items()
    }
    topt2.load_state_dict(sd)
    for step in range(20, STEPS):
        for lib, opt, params in ((torch, topt, tp), (elman, eopt, ep), (torch, topt2, back)):
            feed(lib, opt, params, cfg, dtype, step)
    for t, e, b in zip(tp, ep, back, strict=True):
        assert_close(e.detach(), t, f"{case} elman resumed from torch", **TOL[dtype])
        assert_close(b, t, f"{case} torch resumed from elman", **TOL[dtype])


def _mismatches() -> list[tuple[Any, str]]:
    return [
        (lambda sd: {**sd, "param_groups": sd["param_groups"] * 2}, "different number of"),
        (lambda sd: {**sd, "param_groups": [{**sd["param_groups"][0], "params": [0]}]},
         "doesn't match the size of optimizer's group"),
    ]  # fmt: skip


@pytest.mark.parametrize("k", [0, 1])
def test_load_mismatched_state_dict_raises(k: int) -> None:
    mutate, text = _mismatches()[k]
    params = make_params(elman, initial("float64"))
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = elman.ones_like(p)
    opt.step()
    before = state_arrays(opt)
    with pytest.raises(ValueError, match=re.escape(text)) as err:
        opt.load_state_dict(mutate(opt.state_dict()))
    assert state_arrays(opt).keys() == before.keys()  # nothing was loaded
    if TORCH is not None:
        tparams = make_params(TORCH, initial("float64"))
        topt = TORCH.optim.SGD(tparams, lr=0.1, momentum=0.9)
        with pytest.raises(ValueError) as terr:
            topt.load_state_dict(mutate(topt.state_dict()))
        assert str(err.value) == str(terr.value)


# ---- construction and validation ------------------------------------------------------

INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("SGD", {"lr": -1}, "Invalid learning rate: -1"),
    ("SGD", {"momentum": -0.5}, "Invalid momentum value: -0.5"),
    ("SGD", {"weight_decay": -1e-3}, "Invalid weight_decay value: -0.001"),
    ("SGD", {"nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "Nesterov momentum requires"),
    ("Adam", {"lr": -0.1}, "Invalid learning rate: -0.1"),
    ("Adam", {"eps": -1.0}, "Invalid epsilon value: -1.0"),
    ("Adam", {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
    ("Adam", {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    ("Adam", {"weight_decay": -2}, "Invalid weight_decay value: -2"),
    ("Adam", {"betas": (0, 0.9)}, "betas must be either both floats or both Tensors"),
    ("AdamW", {"lr": -1}, "Invalid learning rate: -1"),
    ("AdamW", {"betas": (0.5, 1.5)}, "Invalid beta parameter at index 1: 1.5"),
    ("RMSprop", {"lr": -1}, "Invalid learning rate: -1"),
    ("RMSprop", {"eps": -1}, "Invalid epsilon value: -1"),
    ("RMSprop", {"momentum": -1}, "Invalid momentum value: -1"),
    ("RMSprop", {"weight_decay": -1}, "Invalid weight_decay value: -1"),
    ("RMSprop", {"alpha": -0.5}, "Invalid alpha value: -0.5"),
    ("Adagrad", {"lr": -1}, "Invalid learning rate: -1"),
    ("Adagrad", {"lr_decay": -1}, "Invalid lr_decay value: -1"),
    ("Adagrad", {"weight_decay": -1}, "Invalid weight_decay value: -1"),
    ("Adagrad", {"initial_accumulator_value": -1}, "Invalid initial_accumulator_value value: -1"),
    ("Adagrad", {"eps": -1}, "Invalid epsilon value: -1"),
]


@pytest.mark.parametrize(("name", "kwargs", "text"), INVALID)
def test_invalid_hyperparameters_raise_torch_errors(name: str, kwargs: dict, text: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(text)) as err:
        getattr(optim, name)([elman.nn.Parameter(elman.zeros(2))], **kwargs)
    if TORCH is not None:
        with pytest.raises(ValueError) as terr:
            getattr(TORCH.optim, name)([TORCH.nn.Parameter(TORCH.zeros(2))], **kwargs)
        assert str(err.value) == str(terr.value)


def test_bad_params_raise_torch_errors() -> None:
    p = elman.nn.Parameter(elman.zeros(2))
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got"):
        optim.SGD(p)
    with pytest.raises(ValueError, match="^optimizer got an empty parameter list$"):
        optim.Adam([])
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the"):
        optim.Adam([p, np.zeros(2)])
    with pytest.raises(ValueError, match="^can't optimize a non-leaf Tensor$"):
        optim.Adam([p * 2])
    with pytest.raises(TypeError, match="organized in ordered collections"):
        optim.SGD([{"params": {p}}])
    with pytest.raises(ValueError, match="^some parameters appear in more than one parameter"):
        optim.SGD([{"params": [p]}, {"params": p}])
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p])
    with pytest.raises(ValueError, match="all optimizer params should be with/without names"):
        optim.SGD([("w", p), elman.nn.Parameter(elman.zeros(1))])
    with pytest.raises(TypeError, match="^param_group must be a dict"):
        optim.SGD([p]).add_param_group([p])  # type: ignore[arg-type]


def test_defaults_groups_and_repr() -> None:
    model = elman.nn.Linear(2, 1)
    opt = optim.SGD(
        [{"params": [model.weight]}, {"params": model.bias, "lr": 0.5}], lr=0.1, momentum=0.9
    )
    assert opt.defaults == {
        "lr": 0.1,
        "momentum": 0.9,
        "dampening": 0,
        "weight_decay": 0,
        "nesterov": False,
        "maximize": False,
        "foreach": None,  # torch's implementation switches, in torch's order
        "differentiable": False,
        "fused": None,
    }
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"][0] is model.bias and opt.param_groups[1]["momentum"] == 0.9
    assert repr(opt).splitlines()[:7] == [
        "SGD (",
        "Parameter Group 0",
        "    dampening: 0",
        "    differentiable: False",
        "    foreach: None",
        "    fused: None",
        "    lr: 0.1",
    ]
    named = optim.Adam(model.named_parameters())
    assert named.param_groups[0]["param_names"] == ["weight", "bias"]
    assert named.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    assert optim.AdamW([model.weight]).defaults["weight_decay"] == 1e-2
    assert optim.AdamW([model.weight]).defaults["decoupled_weight_decay"] is True


# ---- stepping semantics ---------------------------------------------------------------


@requires_torch
def test_zero_grad_closure_and_late_param_group_match_torch() -> None:
    """zero_grad(set_to_none=False) keeps zero grads (still stepped: decay, momentum);
    step(closure) returns the loss, runs the closure with grad enabled; a group added
    mid-run (with Adagrad's initial sum taken from the defaults) steps as in torch."""
    torch, dtype = TORCH, "float64"
    init = initial(dtype)
    x = GOLD[f"model/{dtype}/x"][:, :3]
    results = {}
    for lib in (elman, torch):
        params = make_params(lib, init)
        opt = lib.optim.Adagrad(params[:2], lr=0.1, initial_accumulator_value=0.2)
        xt = lib.from_numpy(x.copy()) if lib is torch else elman.tensor(x)

        def closure(opt: Any = opt, params: list[Any] = params, xt: Any = xt) -> Any:
            opt.zero_grad(set_to_none=False)
            loss = ((xt @ params[0]).sum(1) ** 2).mean() + (params[1] ** 3).sum()
            loss.backward()
            return loss.detach()

        losses = []
        with lib.no_grad():
            losses.append(float(opt.step(closure)))
        grad = params[0].grad
        opt.zero_grad(set_to_none=False)
        assert params[0].grad is grad and not to_numpy(grad).any()
        opt.step()  # zero gradients: Adagrad still counts the step
        late = {"params": [params[2]], "lr": 0.3, "lr_decay": 0.1, "initial_accumulator_value": 5.0}
        opt.add_param_group(late)  # torch ignores the group's initial_accumulator_value
        for _ in range(5):
            losses.append(float(opt.step(closure)))
            params[2].grad = as_grad(lib, to_numpy(params[2]))
            opt.step()
        opt.zero_grad()
        assert all(p.grad is None for p in params)
        results[lib.__name__] = [to_numpy(p) for p in params] + [np.array(losses)]
    for e, t in zip(results["elman"], results["torch"], strict=True):
        assert_close(e, t, "zero_grad/closure/add_param_group", **TOL[dtype])


def test_params_without_grad_are_skipped() -> None:
    a, b = elman.nn.Parameter(elman.ones(3)), elman.nn.Parameter(elman.ones(2))
    for opt in (optim.SGD([a, b], lr=0.1, weight_decay=0.5, momentum=0.9), optim.AdamW([a, b])):
        a.grad, b.grad = elman.ones(3), None
        before = b._data.copy()
        opt.step()
        assert b not in opt.state and a in opt.state
        np.testing.assert_array_equal(b._data, before)
        assert (a._data < 1).all()


def test_step_keeps_identity_and_dtype_and_follows_the_formula() -> None:
    w = elman.nn.Parameter(np.arange(4.0))
    arr = w._data
    opt = optim.RMSprop([w], lr=0.1, momentum=0.5, centered=True)
    w.grad = elman.tensor(np.full(4, 0.5))
    opt.step()
    assert w._data is arr and w.dtype == np.float64 and w.requires_grad and w.is_leaf
    assert opt.state[w]["square_avg"].dtype == np.float64
    # one centered RMSprop step with momentum: lr * g / (sqrt(v - m^2) + eps)
    v, m = 0.01 * 0.25, 0.01 * 0.5
    expected = np.arange(4.0) - 0.1 * 0.5 / (np.sqrt(v - m * m) + 1e-8)
    np.testing.assert_allclose(w._data, expected, rtol=1e-15, atol=1e-15)


def test_docstring_examples_run() -> None:
    import elman.optim._plateau as plateau
    from elman.optim import adagrad, adam, lr_scheduler, optimizer, rmsprop, sgd

    for module in (optimizer, sgd, adam, rmsprop, adagrad, lr_scheduler, plateau):
        failed, attempted = doctest.testmod(module, raise_on_error=False, verbose=False)
        assert attempted > 0 and failed == 0, module.__name__
