"""The surveyed scripts' torch surface as data, checked against the corpus.

``SURVEY`` maps each torch name or behaviour the surveyed scripts rely on (IDs S01..S29 of
docs/compat.md) to the scripts that use it. Names are written the way
``tools/surface.py`` writes them (``torch.nn.RNN``, ``torch.nn.RNN(batch_first=)``,
``Tensor.view``...), so the corpus scripts that use each one are looked up in
``surface.json``; behaviours no static pass can see (the DataLoader's collation of strings,
a deprecated overload...) name their corpus scripts by hand in ``BY_HAND``. ``OUT_OF_SCOPE``
lists what elman deliberately does not provide, with the reason.

``python tests/compat/tools/survey.py`` prints the two tables of docs/compat.md ("Torch
surface needed" and "Outside elman's purpose") and exits non-zero if an in-scope name has no
corpus script.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SURFACE = Path(__file__).resolve().parent.parent / "surface.json"


def ids(spec: str) -> list[str]:
    return [f"S{int(x):02d}" for x in spec.split()]


SURVEY: dict[str, list[str]] = {
    # ---- layers and modules
    "torch.nn.Module": ids(
        "1 2 3 4 5 6 7 8 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 29"
    ),
    "torch.nn.RNN": ids("1 3 6 8 9 12 13 14 16 17 18 19 22 25 26 27 28 29"),
    "torch.nn.RNN(batch_first=)": ids("6 8 9 14 16 17 22 27 29"),
    "torch.nn.RNN(input_size=)": ids("6 8 9 12 13 22 29"),
    "torch.nn.RNN(hidden_size=)": ids("6 8 9 12 13 22 29"),
    "torch.nn.RNN(num_layers=)": ids("6 22 26"),
    "torch.nn.RNN(nonlinearity=)": ids("3 28 29"),
    "torch.nn.RNN(dropout=)": ids("3 13"),
    "torch.nn.RNN(bidirectional=)": ids("26"),
    "torch.nn.RNNCell": ids("20 21 22 24 28"),
    "torch.nn.Linear": ids(
        "1 2 3 5 6 7 8 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 29"
    ),
    "torch.nn.Embedding": ids("3 8 10 11 18 22 24 25 26 27"),
    "torch.nn.Dropout": ids("2 3"),
    "torch.nn.LogSoftmax": ids("1 2 15"),
    "torch.nn.Sigmoid": ids("21"),
    "torch.nn.Parameter": ids("12 26"),
    "torch.nn.NLLLoss": ids("1 2 3"),
    "torch.nn.CrossEntropyLoss": ids("7 8 10 11 12 13 14 17 22 23 24"),
    "torch.nn.MSELoss": ids("4 6 16 20 21 23 29"),
    "torch.nn.BCEWithLogitsLoss": ids("18"),
    "torch.nn.init.uniform_": ids("3"),
    "torch.nn.init.zeros_": ids("3 29"),
    "torch.nn.init.eye_": ids("29"),
    "torch.nn.utils.clip_grad_norm_": ids("3"),
    "torch.nn.utils.rnn.pack_padded_sequence": ids("10 25"),
    "torch.nn.modules.rnn.RNN": ids("3"),
    "torch.nn.modules.linear.Linear": ids("3"),
    "torch.nn.modules.dropout.Dropout": ids("3"),
    "torch.nn.modules.sparse.Embedding": ids("3"),
    # ---- functional
    "torch.nn.functional.log_softmax": ids("3 5"),
    "torch.nn.functional.softmax": ids("14 24 26"),
    "torch.nn.functional.relu": ids("5 24 27"),
    "torch.nn.functional.tanh": ids("1"),
    "torch.nn.functional.dropout": ids("24"),
    "torch.nn.functional.nll_loss": ids("5"),
    "torch.nn.functional.nll_loss(reduction=)": ids("5"),
    "torch.nn.functional.cross_entropy": ids("26 27"),
    "torch.nn.functional.binary_cross_entropy_with_logits": ids("25"),
    "torch.nn.functional.one_hot": ids("19"),
    # ---- optimisation
    "torch.optim.SGD": ids("1 15 18 19 21"),
    "torch.optim.Adam": ids("6 7 8 10 11 12 13 14 16 17 22 23 24 25 26 29"),
    "torch.optim.AdamW": ids("3"),
    "torch.optim.Adadelta": ids("5"),
    "torch.optim.LBFGS": ids("4 20"),
    "torch.optim.Optimizer": ids("19"),
    "torch.optim.lr_scheduler.StepLR": ids("5"),
    "torch.optim.lr_scheduler.ReduceLROnPlateau": ids("24"),
    "Optimizer.step": ids("1 4 5 6 7 8 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 29"),
    # ---- data
    "torch.utils.data.DataLoader": ids("5 7 10 11 17 24 29"),
    "torch.utils.data.Dataset": ids("10 11 24 29"),
    "torch.utils.data.random_split": ids("1"),
    "DataLoader/Dataset.dataset": ids("5 10 17"),
    # ---- tensor creation, dtypes
    "torch.zeros": ids("1 2 3 4 8 9 10 11 12 13 14 16 17 19 20 21 22 23 24 26 29"),
    "torch.zeros(dtype=)": ids("4 20 21"),
    "torch.ones": ids("12"),
    "torch.randn": ids("9 20 28"),
    "torch.rand": ids("19"),
    "torch.randint": ids("3"),
    "torch.tensor": ids("1 3 19 24"),
    "torch.tensor(dtype=)": ids("1 24"),
    "torch.Tensor": ids("8 9 14 16 23"),
    "torch.LongTensor": ids("2 8 10 11 12 13 25 26"),
    "torch.FloatTensor": ids("7 12 13"),
    "torch.from_numpy": ids("4 6 14 20 21 29"),
    "torch.long": ids("1"),
    "torch.int64": ids("3"),
    "torch.float32": ids("19 24"),
    "torch.double": ids("4 20 21"),
    "torch.cat": ids("2 3 4 15 20"),
    "torch.stack": ids("6 24 27"),
    "torch.multinomial": ids("3 11"),
    "torch.max": ids("7 14 26"),
    "torch.argmax": ids("26"),
    "torch.sigmoid": ids("18 25"),
    "torch.round": ids("18"),
    "torch.equal": ids("18"),
    "torch.eq": ids("24"),
    "torch.sqrt": ids("19"),
    "torch.sum": ids("19"),
    "torch.mean": ids("29"),
    # ---- tensor methods, properties and operators
    "Tensor.view": ids("3 8 9 10 11 12 13 16 22 23 26 27"),
    "Tensor.reshape": ids("5 17 19"),
    "Tensor.view_as": ids("5 10"),
    "Tensor.permute": ids("24 26"),
    "Tensor.transpose": ids("9 12 13"),
    "Tensor.t": ids("3 10"),
    "Tensor.T": ids("19"),
    "Tensor.contiguous": ids("3 14 23 26"),
    "Tensor.narrow": ids("3"),
    "Tensor.squeeze": ids("8 12 18 25 29"),
    "Tensor.unsqueeze": ids("12 16 25"),
    "Tensor.unsqueeze_": ids("2"),
    "Tensor.split": ids("4 20"),
    "Tensor.size": ids("1 2 3 4 6 8 9 10 14 16 19 24 26 29"),
    "Tensor.shape": ids("17 19"),
    "Tensor.numel": ids("18 19"),
    "Tensor.item": ids("1 2 3 5 8 14 16 17 18 19 21 22 24 25 26 29"),
    "Tensor.numpy": ids("1 4 6 7 8 16 20 23"),
    "Tensor.data": ids("6 7 8 10 11 12 13 14 15 16 26"),
    "Tensor.grad": ids("1 2 3 19 26"),
    "Tensor.detach": ids("3 20 21 24 27"),
    "Tensor.detach_": ids("19"),
    "Tensor.requires_grad": ids("18 26"),
    "Tensor.to": ids("3 5 14 17 18 19 24 25"),
    "Tensor.cpu": ids("3 10 24"),
    "Tensor.long": ids("10 14 19 23 24 25"),
    "Tensor.float": ids("18 25 26 29"),
    "Tensor.type": ids("3 7"),
    "Tensor.new_zeros": ids("3"),
    "Tensor.fill_": ids("3"),
    "Tensor.zero_": ids("27"),
    "Tensor.add_": ids("1 2 3"),
    "Tensor.clamp_": ids("26"),
    "Tensor.topk": ids("1 2 15"),
    "Tensor.max": ids("8 10 11 12 13 14 17 22 23 24"),
    "Tensor.argmax": ids("5 19"),
    "Tensor.eq": ids("5 10"),
    "Tensor.sum": ids("1 5 10 17 18 19 24 25"),
    "Tensor.div": ids("3 11"),
    "Tensor.exp": ids("3 11"),
    "Tensor.sort": ids("10"),
    "Tensor.scatter_": ids("23"),
    "Tensor.backward": ids("1 2 3 4 5 6 7 8 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 29"),
    "Tensor.__getitem__": ids("1 2 3 6 7 10 13 14 16 17 19 20 24 26"),
    "Tensor.__setitem__": ids("1 2 10 19"),
    "Tensor.__index__": ids("2 3 11 13 15"),
    "Tensor.__format__": ids("12 13 25"),
    "Tensor.__float__": ids("8 17"),
    "Tensor.__iter__": ids("8 9 13 22"),
    "Tensor.__len__": ids("3"),
    "Tensor.__bool__": ids("2 19 26"),
    "Tensor.__array__": ids("20"),
    # ---- autograd and grad modes
    "torch.no_grad": ids("1 2 3 4 5 18 20 21 25 26 29"),
    "torch.set_grad_enabled": ids("25"),
    "torch.autograd.Variable": ids("8 9 10 11 15 23 26 29"),
    # ---- module methods and attributes
    "Module.parameters": ids("1 2 3 5 6 7 8 10 11 12 13 14 15 16 17 18 19 22 23 24 25 26 29"),
    "Module.zero_grad": ids("1 2 3 10 11"),
    "Module.train": ids("3 5 17 18 24 25 26"),
    "Module.eval": ids("3 5 14 17 18 23 24 25 26"),
    "Module.to": ids("3 5 14 17 18 24 25"),
    "Module.double": ids("4 20 21"),
    "Module.state_dict": ids("5 18 24"),
    "Module.load_state_dict": ids("18 24"),
    "RNN.flatten_parameters": ids("3 10"),
    "RNN.hidden_size": ids("19"),
    "RNN.num_layers": ids("19"),
    "RNN.bidirectional": ids("19"),
    "RNN.weight_hh_l0": ids("29"),
    "RNN.weight_ih_l0": ids("29"),
    # ---- files
    "torch.save": ids("3 4 5 15 18 24"),
    "torch.load": ids("3 4 15 18 24"),
    "torch.load(map_location=)": ids("3"),
    "torch.serialization.safe_globals": ids("3"),
    # ---- devices, seeds, runtime
    "torch.manual_seed": ids("3 4 5 8 18 23 24 25"),
    "torch.cuda.manual_seed_all": ids("24"),
    "torch.device": ids("3 5 14 17 18 24 25"),
    "torch.cuda.is_available": ids("1 10 11 14 17 18 24 25 29"),
    "torch.cuda.device_count": ids("10"),
    "torch.accelerator.is_available": ids("3 5"),
    "torch.accelerator.current_accelerator": ids("3 5"),
    "torch.backends.cudnn.deterministic": ids("18 25"),
    "torch.set_default_device": ids("1"),
    "torch.get_default_device": ids("1"),
    "torch.Generator": ids("1"),
    "torch.Generator(device=)": ids("1"),
}

# behaviours no static pass sees: the corpus scripts that exercise them, named by hand
BY_HAND: dict[str, tuple[list[str], list[str]]] = {
    "DataLoader default collation of str fields (tuples of strings)": (ids("10 11"), ["16"]),
    "DataLoader default collation of dicts of ndarray/int": (ids("24"), ["22"]),
    "DataLoader default collation of (ndarray, int) pairs": (ids("5 7 17"), ["10"]),
    "DataLoader(drop_last=True)": (ids("24"), ["20", "22"]),
    "DataLoader shuffle order drawn from the global generator": (
        ids("5 7 10 11 17 24 29"),
        ["09", "10", "16", "17", "22", "27"],
    ),
    "Tensor.add_(alpha, other): deprecated overload, warns": (ids("2"), ["03"]),
    "nn.LogSoftmax() without dim: implicit dim 1, warns": (ids("15"), ["01"]),
    "nn.RNN(dropout>0, num_layers=1): warns": (ids("13"), ["15"]),
    "float() of a tensor that requires grad: warns": (ids("8"), ["11"]),
    "torch.Tensor(list or float64 ndarray) makes float32": (
        ids("8 9 14 16 23"),
        ["08", "11", "25"],
    ),
    "torch.save(ndarray) + torch.load(weights_only=False)": (ids("4"), ["06"]),
    "torch.save(module) + torch.load under safe_globals": (ids("3 15"), ["04"]),
    "pack_padded_sequence with NumPy lengths": (ids("10"), ["16"]),
    "weight tying (decoder.weight = encoder.weight)": (ids("3 27"), ["04", "21"]),
    "optimizer.step(closure) returning the loss": (ids("4 20"), ["06"]),
    "loss.backward(retain_graph=True)": (ids("21"), ["23"]),
    "loss accumulated from a Python 0 (0 + tensor)": (ids("2 8 13 22"), ["03", "11", "12", "15"]),
    "hidden state carried across steps via .data / .detach()": (
        ids("3 6 16 21 27"),
        ["04", "07", "08", "21", "23"],
    ),
    "F.dropout default training=True (drops in eval)": (ids("24"), ["22"]),
    "Adam(filter(lambda p: p.requires_grad, ...)) with a frozen Parameter": (ids("26"), ["18"]),
}

OUT_OF_SCOPE: dict[str, tuple[list[str], str]] = {
    "torch.nn.LSTM / nn.LSTMCell": (
        ids("4 5 7 23 27 29"),
        "gated cells are a different model; elman is the Elman RNN (where one of these is the "
        "model, the corpus puts nn.RNN / nn.RNNCell in its place, the swap an Elman-RNN user "
        "makes)",
    ),
    "torch.nn.GRU": (ids("10 11"), "same: a gated cell; the corpus ports S10 to nn.RNN"),
    "torch.nn.Transformer*, PositionalEncoding, MultiheadAttention, LayerNorm": (
        ids("3"),
        "attention models, not recurrent ones",
    ),
    "torch.onnx.export": (ids("3"), "export is elman's own `elman export` / elman.onnx"),
    "torch.nn.BatchNorm1d, torch.nn.Dropout2d": (
        ids("5"),
        "normalisation and channel dropout of image/MLP heads, not part of an RNN toolkit; "
        "the corpus's stand-in uses nn.Dropout",
    ),
    ".cuda(), torch.nn.DataParallel, pin_memory=True": (
        ids("5 10 11 26"),
        "GPUs: elman is CPU-only; the scripts guard these behind torch.cuda.is_available() / "
        "device_count() / an --accel flag, which must answer for a CPU (DataLoader's "
        "num_workers>0, seen in S11's loader demo, is for the surface work to decide: load "
        "in-process with the same batches, or refuse plainly)",
    ),
    "torchvision, torchtext, spacy, fastai Learner, d2l data loaders": (
        ids("5 7 17 18 25 26 27 19"),
        "separate packages that import real torch; the corpus generates or bundles its data",
    ),
    "pyedflib, statsmodels, scikit-learn metrics, pandas": (
        ids("20 24"),
        "data readers and metrics outside torch",
    ),
    "loss.data[0], Variable(volatile=True)": (
        ids("8 10 11 15 23 26"),
        "pre-0.4 idioms that current torch itself rejects (indexing a 0-d tensor) or ignores",
    ),
}


def main() -> int:
    surface = json.loads(SURFACE.read_text())
    union: dict[str, list[str]] = surface["_union"]
    kwargs: dict[str, set[str]] = {}
    for script, entry in surface.items():
        if script == "_union":
            continue
        for fn, kws in entry["kwargs"].items():
            for kw in kws:
                kwargs.setdefault(f"{fn}({kw}=)", set()).add(script)

    missing = []
    print("| torch name or behaviour | surveyed scripts | corpus scripts |")
    print("|---|---|---|")
    for name, users in SURVEY.items():
        corpus = set(union.get(name, [])) | kwargs.get(name, set())
        corpus |= {s for k, v in union.items() if k.startswith(name + " (operator") for s in v}
        short = sorted(c[:2] for c in corpus)
        if not short:
            missing.append(name)
        print(f"| `{name}` | {' '.join(users)} | {' '.join(short) or '**none**'} |")
    for name, (users, corpus_ids) in BY_HAND.items():
        print(f"| {name} | {' '.join(users)} | {' '.join(corpus_ids)} |")
    print()
    print("| outside elman's purpose | surveyed scripts | why |")
    print("|---|---|---|")
    for name, (users, why) in OUT_OF_SCOPE.items():
        print(f"| {name} | {' '.join(users)} | {why} |")
    if missing:
        print(f"\nNOT COVERED BY THE CORPUS: {missing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
