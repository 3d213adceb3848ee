"""Documented differences of single entry points (functional, init, utils, optim and io).

See fuzz_allow.py for the rules and for the differences that hold everywhere; each reason
is listed in docs/differences.md.
"""

from __future__ import annotations

import numpy as np
from fuzz_allow import Allow, _has
from fuzz_core import Arr
from fuzz_values import contains

ALLOW_UTILS = [
    Allow(
        RuntimeError,
        "any",
        "pack_padded_sequence rejects lengths longer than the padded length (torch packs them "
        "and may fail later, on another argument)",
        targets=r"nn\.utils\.rnn\.(pack|pad_packed)",
        elman_msg=r"at most the padded length",
    ),
    Allow(
        RuntimeError,
        ("ok", IndexError, RuntimeError),
        "hand-built PackedSequences are validated",
        targets=r"nn\.utils\.rnn\.PackedSequence",
        elman_msg="PackedSequence|invert_permutation",
    ),
    Allow(
        RuntimeError,
        ("ok", IndexError),
        "invert_permutation rejects non-permutations",
        targets=r"nn\.utils\.rnn\.invert",
    ),
    Allow(
        (RuntimeError, ValueError),
        "any",
        "unpad_sequence rejects lengths outside [0, T] and a wrong number of lengths",
        targets=r"nn\.utils\.rnn\.unpad",
    ),
    Allow(
        "ok",
        "ok",
        "float lengths are truncated to int64 (torch's unpad_sequence slices with the float)",
        targets=r"nn\.utils\.rnn\.unpad",
        when=_has(lambda v: isinstance(v, Arr) and v.data.dtype.kind == "f" and v.data.ndim == 1),
    ),
    Allow(
        "any",
        RuntimeError,
        "cross_entropy takes class indices of any integer dtype",
        targets=r"nn\.(functional\.cross_entropy|CrossEntropyLoss)",
        torch_msg=r"expected target dtype to be Long or Byte|expected scalar type Long but "
        r"found Byte",
    ),
    Allow(
        "any",
        RuntimeError,
        "embedding takes indices of any integer dtype",
        targets=r"nn\.(functional\.embedding|Embedding)",
        torch_msg=r"'indices' to have one of the following scalar types",
    ),
    Allow(
        "ok",
        RuntimeError,
        "clip_grad_value_ of no gradients does nothing",
        targets=r"nn\.utils\.clip_grad_value_",
        torch_msg=r"nested_tensorlist",
    ),
    Allow(
        ValueError,
        Exception,
        "a damaged safetensors file is a CheckpointError (a ValueError "
        "naming the file); safetensors raises SafetensorError",
        targets=r"io\.",
    ),
    Allow(
        ValueError,
        "any",
        "a non-numeric hyperparameter loaded from a state dict fails where the step converts it",
        targets=r"optim\.",
        elman_msg=r"could not convert",
    ),
    Allow(
        RuntimeError,
        (IndexError, RuntimeError),
        "lengths must be 1-D",
        targets=r"nn\.utils",
        elman_msg=r"'lengths' argument should be a 1D",
    ),
    Allow(
        IndexError,
        RuntimeError,
        "a 1-D padded batch is refused for its missing dimension before its lengths are looked at",
        targets=r"nn\.utils\.rnn\.pa",
        elman_msg=r"Dimension",
        torch_msg=r"Cannot pack empty|index_select",
    ),
    Allow(
        (TypeError, ValueError),
        ValueError,
        "a state dict whose keys are not strings or whose values are not arrays is refused",
        targets=r"io\.",
        torch_msg=r"is invalid, expected torch\.Tensor|non contiguous",
    ),
    Allow(
        NotImplementedError,
        ("ok", RuntimeError),
        "mse_loss and l1_loss take floating point input only",
        targets=r"nn\.(functional\.)?(L1|l1)",
        elman_msg="not implemented",
    ),
    Allow(
        "ok",
        "ok",
        "the gradient of a broadcast float16 target is summed in float32 (torch "
        "sums it in float16, where huge terms give inf - inf = NaN)",
        targets=r"nn\.(MSE|L1)"
        r"Loss|nn\.functional\.(mse|l1)_loss",
        detail=r"grad.*NaN positions differ \(0 vs",
        when=_has(lambda v: isinstance(v, Arr) and v.data.dtype == np.float16),
    ),
    Allow(
        ValueError,
        ("ok", ZeroDivisionError, ValueError),
        "a scheduler period (step_size, "
        "T_max) must be positive (torch divides by 0 at a step, and steps backwards for a "
        "negative one)",
        targets=r"optim\.lr_scheduler",
        elman_msg=r"must be greater than zero",
    ),
    Allow(
        (TypeError, ValueError),
        KeyError,
        "a scheduler's period is checked before its resume state",
        targets=r"optim\.lr_scheduler",
        elman_msg=r"(step_size|T_max) must",
    ),
    Allow(
        ValueError,
        "any",
        "elman's weights files carry a SHA-256 of their data: damage is "
        "detected (safetensors loads altered data)",
        targets=r"io\.",
        elman_msg=r"SHA-256",
    ),
    Allow(
        ValueError,
        "any",
        "'__metadata__' cannot name a tensor (safetensors writes it and "
        "then cannot read the file back)",
        targets=r"io\.",
        elman_msg=r"__metadata__",
    ),
    Allow(
        TypeError,
        IndexError,
        "a non-bool batch_first is reported before lengths of the wrong rank",
        targets=r"nn\.utils\.rnn\.pa",
        elman_msg=r"batch_first",
    ),
    Allow(
        "ok",
        RuntimeError,
        "dropout(inplace=True) where the graph must record the op returns a new tensor",
        targets=r"nn\.(functional\.dropout|Dropout)",
        torch_msg=r"leaf Variable that requires grad is being used in an in-place",
    ),
    Allow(
        RuntimeError,
        "any",
        "optimizer state of the wrong shape is refused when it is loaded",
        targets=r"optim\.",
        elman_msg=r"loaded state dict has",
    ),
    Allow(
        RuntimeError,
        "any",
        "lengths that do not match the batch are refused (torch with "
        "enforce_sorted=False drops the other sequences)",
        targets=r"nn\.utils\.rnn\.pa",
        elman_msg=r"Expected `len\(lengths\)`",
    ),
    Allow(
        ValueError,
        "any",
        "a NaN norm_type is refused",
        targets=r"nn\.utils\.",
        elman_msg=r"norm_type must be a number or inf, got nan",
    ),
    Allow(
        "ok",
        "ok",
        "float32 rounding: torch's addcmul fuses its multiply-add, so a centered "
        "RMSprop variance that is exactly 0 in elman can be -1 ulp in torch, whose square root "
        "is NaN (or tiny)",
        targets=r"optim\.RMSprop",
        detail=r"NaN positions differ \(0 vs|"
        r"values differ",
        when=lambda a: bool(a[4].get("centered")) and a[4].get("alpha") == 0,
    ),
    Allow(
        "ok",
        "ok",
        "NumPy unsigned hyperparameters are read as numbers (torch negates np.uint8(1) to 255)",
        targets=r"optim\.",
        when=lambda a: any(isinstance(v, np.unsignedinteger) for v in a[4].values()),
    ),
    Allow(
        "ok",
        ValueError,
        "non-contiguous tensors are saved (as a contiguous copy)",
        targets=r"io\.",
        torch_msg=r"non contiguous tensor",
    ),
    Allow(
        TypeError,
        ValueError,
        "a state dict that is not a mapping is a TypeError",
        targets=r"io\.",
        torch_msg=r"Expected a dict",
    ),
    Allow(
        TypeError,
        ValueError,
        "a dropout probability that is not a number is a TypeError",
        targets=r"nn\.(functional\.dropout|Dropout)",
        elman_msg=r"must be a number",
    ),
    Allow(
        "ok",
        ZeroDivisionError,
        "xavier init of an empty tensor does nothing (torch divides by zero)",
        targets=r"nn\.init\.xavier",
    ),
    Allow(
        "ok",
        "ok",
        "gradient norms are computed in float64 and rounded once (torch's float32 "
        "sum of squares overflows for huge gradients)",
        targets=r"nn\.utils\.(clip_grad_norm_|"
        r"get_total_norm)",
        when=_has(
            lambda v: (
                isinstance(v, Arr)
                and v.data.dtype.kind == "f"
                and np.abs(v.data).max(initial=0) > 1e15
            )
        ),
    ),
    Allow(
        "ok",
        RuntimeError,
        "gradient norms are computed in float64: a huge finite gradient has a finite norm",
        targets=r"nn\.utils\.(clip_grad_norm_|get_total_norm)",
        torch_msg=r"non-finite",
        when=_has(
            lambda v: (
                isinstance(v, Arr)
                and v.data.dtype.kind == "f"
                and np.isfinite(v.data).all()
                and np.abs(v.data).max(initial=0) > 1e15
            )
        ),
    ),
    Allow(
        "ok",
        "ok",
        "embedding's max_norm computes row norms in float64 (torch's float32 norm "
        "of a huge row overflows)",
        targets=r"nn\.(functional\.embedding|Embedding)",
        when=lambda a: contains(
            a,
            lambda v: (
                isinstance(v, Arr)
                and v.data.dtype.kind == "f"
                and np.abs(v.data[np.isfinite(v.data)]).max(initial=0) > 1e15
            ),
        ),
    ),
    Allow(
        "any",
        "any",
        "a damaged weights file is verified by elman (SHA-256 of the data); "
        "safetensors loads what it can parse",
        targets=r"io\.",
        when=lambda a: isinstance(a, tuple) and a[0][1] != "none",
    ),
    Allow(
        "ok",
        RuntimeError,
        "linear takes a 1-D weight with a bias",
        targets=r"nn\.functional"
        r"\.linear",
        torch_msg=r"mat2 must be a matrix",
    ),
]
