"""Differential NaN/inf cases for RNN and RNNCell: one case, run in torch and in elman.

A :class:`Case` names a module (``rnn`` or ``cell``), its configuration, an input layout
and the poison: NaN, +inf or -inf written into chosen elements of the input ``x``, the
initial state ``h0``, any weight or bias (torch's state_dict names), or the incoming
gradients ``g_out`` (of the output) and ``g_hn`` (of h_n). :func:`make_arrays` builds
every array from the case's seed (NumPy only), :func:`run_torch` and :func:`run_elman` run
the forward and ``autograd.backward([out, h_n], [g_out, g_hn])`` and return the output,
h_n and every gradient under the same keys; :func:`compare` says where they differ:
NaN positions, ±inf positions and signs, and finite values beyond the usual tolerances.

Used by tests/reliability/test_nan_inf.py (quick, against committed torch fixtures and
live torch), tests/reliability/campaign_nan_inf.py (long, random) and
tests/fixtures/make_nan_inf_fixtures.py. Importing this module imports neither torch nor
elman.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

VALUES = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}
# rnn layouts: time-major (L, N, I); batch_first (N, L, I); unbatched (L, I); a
# PackedSequence from pack_padded_sequence (enforce_sorted=False) then pad_packed_sequence;
# padded input with elman's lengths= (torch: pack -> RNN -> pad). cell: (N, I) or (I,).
RNN_LAYOUTS = ("time", "batch_first", "unbatched", "packed", "lengths")
CELL_LAYOUTS = ("batched", "unbatched")
TOL = {"float32": {"rtol": 2e-4, "atol": 2e-5}, "float64": {"rtol": 1e-9, "atol": 1e-12}}


@dataclass(frozen=True)
class Case:
    module: str  # "rnn" or "cell"
    I: int
    H: int
    dtype: str
    relu: bool
    layout: str
    L: int = 1  # steps (rnn)
    N: int = 1  # batch (ignored when unbatched)
    num_layers: int = 1
    bidirectional: bool = False
    bias: bool = True
    lengths: tuple[int, ...] = ()  # packed / lengths layouts: one per sequence
    poison: tuple[tuple[str, int, str], ...] = ()  # (array, flat index, "nan"/"inf"/"-inf")
    seed: int = 0
    general: bool = False  # elman: a replaced parameter, so the general (non-fast) lane runs
    dropout: float = 0.0  # between layers, training mode; both draw masks from seed ``seed``
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> str:
        d = asdict(self)
        d.pop("extra")
        return json.dumps(d, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> Case:
        d = json.loads(text)
        d["lengths"] = tuple(d["lengths"])
        d["poison"] = tuple(tuple(p) for p in d["poison"])
        return Case(**d)

    def label(self) -> str:
        act = "relu" if self.relu else "tanh"
        shape = f"L{self.L}N{self.N}I{self.I}H{self.H}x{self.num_layers}"
        shape += "bi" if self.bidirectional else ""
        shape += "" if self.bias else "nobias"
        where = ",".join(f"{a}[{i}]={v}" for a, i, v in self.poison)
        lane = "/general" if self.general else ""
        shape += f"p{self.dropout}" if self.dropout else ""
        return f"{self.module}:{self.layout}{lane}:{shape}:{self.dtype}:{act}:{where}"


def param_names(case: Case) -> list[str]:
    """The module's parameters in torch's order."""
    if case.module == "cell":
        return ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if case.bias else [])
    names = []
    for layer in range(case.num_layers):
        for sfx in ("", "_reverse")[: 2 if case.bidirectional else 1]:
            names += [f"weight_ih_l{layer}{sfx}", f"weight_hh_l{layer}{sfx}"]
            names += [f"bias_ih_l{layer}{sfx}", f"bias_hh_l{layer}{sfx}"] if case.bias else []
    return names


def _param_shape(case: Case, name: str) -> tuple[int, ...]:
    D = 2 if case.bidirectional else 1
    if name.startswith("bias"):
        return (case.H,)
    if name.startswith("weight_hh"):
        return (case.H, case.H)
    first = case.module == "cell" or name.startswith("weight_ih_l0")
    return (case.H, case.I if first else D * case.H)


def array_shapes(case: Case) -> dict[str, tuple[int, ...]]:
    """Shape of every array of the case: x, h0, g_out, (g_hn,) and ``p/<param>``."""
    H, I, L, N = case.H, case.I, case.L, case.N
    if case.module == "cell":
        batch = () if case.layout == "unbatched" else (N,)
        shapes = {"x": (*batch, I), "h0": (*batch, H), "g_out": (*batch, H)}
    else:
        D = 2 if case.bidirectional else 1
        NLD = case.num_layers * D
        if case.layout == "unbatched":
            seq, h = (L,), (NLD, H)
        elif case.layout == "batch_first":
            seq, h = (N, L), (NLD, N, H)
        else:
            seq, h = (L, N), (NLD, N, H)
        shapes = {"x": (*seq, I), "h0": h, "g_out": (*seq, D * H), "g_hn": h}
    for name in param_names(case):
        shapes[f"p/{name}"] = _param_shape(case, name)
    return shapes


def poison_targets(case: Case) -> list[str]:
    """Every array a poison may go into."""
    return list(array_shapes(case))


def make_arrays(case: Case) -> dict[str, np.ndarray]:
    """The case's arrays: weights ~ U(-1/sqrt(H), 1/sqrt(H)) (torch's init), x, h0 and the
    gradients ~ N(0, 1) (h0 halved), then the poison written in."""
    rng = np.random.default_rng(case.seed)
    k = 1 / np.sqrt(case.H)
    arrays = {}
    for name, shape in array_shapes(case).items():
        if name.startswith("p/"):
            a = rng.uniform(-k, k, shape)
        else:
            a = rng.standard_normal(shape) * (0.5 if name == "h0" else 1.0)
        arrays[name] = a.astype(case.dtype)
    for name, index, value in case.poison:
        a = arrays[name]
        if a.size:
            a.flat[index % a.size] = VALUES[value]
    return arrays


# ---- torch ---------------------------------------------------------------------------------


def run_torch(case: Case, arrays: dict[str, np.ndarray], torch: Any) -> dict[str, np.ndarray]:
    """torch's output, h_n and gradients (keys: out, hn, grad/x, grad/h0, grad/<param>)."""
    dtype = getattr(torch, case.dtype)
    act = "relu" if case.relu else "tanh"
    if case.module == "cell":
        module = torch.nn.RNNCell(case.I, case.H, bias=case.bias, nonlinearity=act, dtype=dtype)
    else:
        module = torch.nn.RNN(
            case.I, case.H, num_layers=case.num_layers, nonlinearity=act, bias=case.bias,
            batch_first=case.layout == "batch_first", bidirectional=case.bidirectional,
            dropout=case.dropout, dtype=dtype,
        )  # fmt: skip
    torch.manual_seed(case.seed)  # the dropout masks (nothing else is drawn)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.from_numpy(arrays[f"p/{name}"]))
    x = torch.tensor(arrays["x"], requires_grad=True)
    h0 = torch.tensor(arrays["h0"], requires_grad=True)
    outputs, grads = _torch_forward(case, module, x, h0, torch)
    given = [torch.from_numpy(arrays["g_out"])]
    if case.module == "rnn":
        given.append(torch.from_numpy(arrays["g_hn"]))
    torch.autograd.backward(outputs, given)
    result = {"out": outputs[0], "grad/x": x.grad, "grad/h0": h0.grad}
    if case.module == "rnn":
        result["hn"] = outputs[1]
    for name, p in module.named_parameters():
        result[f"grad/{name}"] = p.grad
    return {k: v.detach().numpy().copy() for k, v in result.items()}


def _torch_forward(case: Case, module: Any, x: Any, h0: Any, torch: Any) -> tuple[list, Any]:
    if case.module == "cell":
        return [module(x, h0)], None
    if case.layout in ("packed", "lengths"):
        rnn_utils = torch.nn.utils.rnn
        packed = rnn_utils.pack_padded_sequence(x, list(case.lengths), enforce_sorted=False)
        out, hn = module(packed, h0)
        out, _ = rnn_utils.pad_packed_sequence(out, total_length=case.L)
        return [out, hn], None
    out, hn = module(x, h0)
    return [out, hn], None


# ---- elman ---------------------------------------------------------------------------------


def run_elman(case: Case, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """elman's output, h_n and gradients under :func:`run_torch`'s keys."""
    import elman

    act = "relu" if case.relu else "tanh"
    if case.module == "cell":
        module = elman.nn.RNNCell(case.I, case.H, bias=case.bias, nonlinearity=act)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = elman.nn.RNN(
                case.I, case.H, num_layers=case.num_layers, nonlinearity=act, bias=case.bias,
                batch_first=case.layout == "batch_first", bidirectional=case.bidirectional,
                dropout=case.dropout,
            )  # fmt: skip
    module = module.to(getattr(elman, case.dtype))
    elman.manual_seed(case.seed)  # the dropout masks, torch's stream
    state = {name: elman.tensor(arrays[f"p/{name}"]) for name in param_names(case)}
    module.load_state_dict(state)
    if case.general and case.module == "rnn":  # a replaced parameter: the general lane
        name = param_names(case)[0]
        setattr(module, name, elman.nn.Parameter(elman.tensor(arrays[f"p/{name}"])))
    x = elman.tensor(arrays["x"], requires_grad=True)
    h0 = elman.tensor(arrays["h0"], requires_grad=True)
    if case.module == "cell":
        outputs = [module(x, h0)]
    elif case.layout == "packed":
        rnn_utils = elman.nn.utils.rnn
        packed = rnn_utils.pack_padded_sequence(x, list(case.lengths), enforce_sorted=False)
        out, hn = module(packed, h0)
        out, _ = rnn_utils.pad_packed_sequence(out, total_length=case.L)
        outputs = [out, hn]
    elif case.layout == "lengths":
        outputs = list(module(x, h0, lengths=list(case.lengths)))
    else:
        outputs = list(module(x, h0))
    given = [elman.tensor(arrays["g_out"])]
    if case.module == "rnn":
        given.append(elman.tensor(arrays["g_hn"]))
    elman.autograd.backward(outputs, given)
    result = {"out": outputs[0], "grad/x": x.grad, "grad/h0": h0.grad}
    if case.module == "rnn":
        result["hn"] = outputs[1]
    for name, p in module.named_parameters():
        result[f"grad/{name}"] = p.grad
    return {k: np.array(v.detach().numpy(), copy=True) for k, v in result.items()}


# ---- comparison ----------------------------------------------------------------------------


def compare(got: dict[str, np.ndarray], want: dict[str, np.ndarray], dtype: str) -> list[str]:
    """What differs: per key, NaN positions, ±inf positions or signs, or finite values
    beyond the tolerances of ``dtype``. An empty list: equal."""
    problems = []
    for key in sorted(set(got) | set(want)):
        if key not in got or key not in want:
            problems.append(f"{key}: missing in {'elman' if key not in got else 'torch'}")
            continue
        problems += _compare_one(key, got[key], want[key], TOL[dtype])
    return problems


def _compare_one(key: str, a: np.ndarray, e: np.ndarray, tol: dict[str, float]) -> list[str]:
    if a.shape != e.shape or a.dtype != e.dtype:
        return [f"{key}: {a.dtype}{a.shape} vs torch {e.dtype}{e.shape}"]
    out = []
    an, en = np.isnan(a), np.isnan(e)
    if (an != en).any():
        where = np.argwhere(an != en)
        out.append(f"{key}: NaN at {len(where)} positions differ, e.g. {tuple(where[0])}: "
                   f"{a[tuple(where[0])]} vs torch {e[tuple(where[0])]}")  # fmt: skip
    both_inf = np.isinf(a) | np.isinf(e)
    bad_inf = both_inf & ~an & ~en & (a != e)
    if bad_inf.any():
        where = np.argwhere(bad_inf)
        out.append(f"{key}: inf at {len(where)} positions differ, e.g. {tuple(where[0])}: "
                   f"{a[tuple(where[0])]} vs torch {e[tuple(where[0])]}")  # fmt: skip
    finite = np.isfinite(a) & np.isfinite(e)
    with np.errstate(all="ignore"):
        far = finite & ~np.isclose(a, e, **tol)
    if far.any():
        where = np.argwhere(far)
        out.append(f"{key}: {len(where)} finite values differ, e.g. {tuple(where[0])}: "
                   f"{a[tuple(where[0])]} vs torch {e[tuple(where[0])]}")  # fmt: skip
    return out


# ---- random cases --------------------------------------------------------------------------


def random_case(rng: np.random.Generator, seed: int, module: str | None = None) -> Case:
    """A random small configuration with one to three poisoned elements."""
    module = module or ("cell" if rng.random() < 0.15 else "rnn")
    dtype = str(rng.choice(["float32", "float64"]))
    relu = bool(rng.random() < 0.5)
    I, H = int(rng.integers(1, 7)), int(rng.integers(1, 9))
    if module == "cell":
        layout, N, bias = str(rng.choice(CELL_LAYOUTS)), int(rng.integers(1, 5)), rng.random() < 0.8
        base = Case("cell", I, H, dtype, relu, layout, N=N, bias=bool(bias), seed=seed)
    else:
        layout = str(rng.choice(RNN_LAYOUTS))
        L, N = int(rng.integers(1, 7)), int(rng.integers(1, 5))
        if rng.random() < 0.25:  # wider: several vector blocks, the six-row products
            L, N = int(rng.integers(1, 9)), int(rng.integers(1, 15))
            I, H = int(rng.integers(1, 13)), int(rng.integers(9, 41))
        lengths: tuple[int, ...] = ()
        if layout in ("packed", "lengths"):
            lengths = tuple(int(v) for v in rng.integers(1, L + 1, N))
        layers = int(rng.integers(1, 4))
        base = Case(
            "rnn", I, H, dtype, relu, layout, L=L, N=N, num_layers=layers,
            bidirectional=bool(rng.random() < 0.5), bias=bool(rng.random() < 0.8),
            lengths=lengths, seed=seed, general=bool(rng.random() < 0.2),
            dropout=0.4 if layers > 1 and rng.random() < 0.2 else 0.0,
        )  # fmt: skip
    targets = poison_targets(base)
    poison = []
    for _ in range(int(rng.choice([1, 1, 1, 2, 3]))):
        name = str(rng.choice(targets))
        poison.append((name, int(rng.integers(0, 1 << 30)), str(rng.choice(list(VALUES)))))
    return _replace(base, poison=tuple(poison))


def _replace(case: Case, **changes: Any) -> Case:
    d = {k: getattr(case, k) for k in case.__dataclass_fields__ if k != "extra"}
    d.update(changes)
    return Case(**d)


# ---- the quick set (CI) --------------------------------------------------------------------

# two small shapes: bidirectional (the pairs of directions, the batch halves, split columns)
# and a unidirectional stack on one input feature (layer pairs, the one-feature projection)
QUICK_SHAPES = (
    dict(I=3, H=5, L=4, N=3, num_layers=2, bidirectional=True),
    dict(I=1, H=4, L=5, N=2, num_layers=2, bidirectional=False),
)
QUICK_TARGETS = ("x", "h0", "g_out", "g_hn", "weight_ih", "weight_hh", "bias_ih", "bias_hh")


def quick_cases() -> list[Case]:
    """The CI set: each quick shape x float32/float64 x relu/tanh x dense/packed x a poison
    in each kind of array (nan, inf and -inf in turn; dense layouts and packed forms in
    turn), and RNNCell with each kind of array poisoned."""
    cases = []
    k = 0
    for shape in QUICK_SHAPES:
        for dtype in ("float32", "float64"):
            for relu in (False, True):
                for packed in (False, True):
                    for target in QUICK_TARGETS:
                        layouts = ("packed", "lengths") if packed else RNN_LAYOUTS[:3]
                        layout = layouts[k % len(layouts)]
                        lengths = (4, 2, 3)[: shape["N"]] if packed else ()
                        base = Case("rnn", dtype=dtype, relu=relu, layout=layout,
                                    lengths=lengths, seed=k, general=k % 5 == 0, **shape)  # type: ignore[arg-type]  # fmt: skip
                        cases.append(_replace(base, poison=(_quick_poison(base, target, k),)))
                        k += 1
    for dtype in ("float32", "float64"):
        for relu in (False, True):
            for target in ("x", "h0", "g_out", "weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                base = Case("cell", 3, 4, dtype, relu, CELL_LAYOUTS[k % 2], N=3, seed=k)
                cases.append(_replace(base, poison=(_quick_poison(base, target, k),)))
                k += 1
    return cases


def _quick_poison(case: Case, target: str, k: int) -> tuple[str, int, str]:
    """A poison in an array of kind ``target`` (for a weight or bias, one of the module's,
    chosen by k), at a position chosen by k, with nan, inf, -inf in turn."""
    names = [n for n in array_shapes(case) if n == target or n.startswith(f"p/{target}")]
    name = names[k % len(names)]
    value = ("nan", "inf", "-inf")[k % 3]
    return name, (k * 7919) % (1 << 20), value


# ---- the golden fixtures (tests/fixtures/make_nan_inf_fixtures.py) -------------------------


def load_golden(path: Any) -> dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """Case name -> (meta, torch's results) from the fixture file."""
    golden = {}
    with np.load(path) as npz:
        for key in npz.files:
            if not key.endswith("/meta"):
                continue
            name = key[: -len("/meta")]
            meta = json.loads(str(npz[key]))
            flat, results, pos = npz[f"{name}/out"], {}, 0
            for k, shape in meta["keys"]:
                n = int(np.prod(shape, dtype=np.int64))
                results[k] = flat[pos : pos + n].reshape(shape)
                pos += n
            if "error" in meta:
                results["error"] = np.array(meta["error"])
            golden[name] = (meta, results)
    return golden


def inputs_sha(arrays: dict[str, np.ndarray] | list[np.ndarray]) -> str:
    """SHA-256 of a case's input arrays (names, dtypes, shapes and bytes, in order)."""
    h = hashlib.sha256()
    items = sorted(arrays.items()) if isinstance(arrays, dict) else enumerate(arrays)
    for name, a in items:
        h.update(f"{name}:{a.dtype}:{a.shape};".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()
