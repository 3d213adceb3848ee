"""Documented differences of single entry points (tensors, creation and modules).

See fuzz_allow.py for the rules and for the differences that hold everywhere; each reason
is listed in docs/differences.md.
"""

from __future__ import annotations

from fuzz_allow import Allow, _has, _negative_step

ALLOW_NN = [
    Allow(
        TypeError,
        "ok",
        "bidirectional is validated as a bool (torch accepts anything)",
        targets=r"nn\.RNN$",
        elman_msg=r"bidirectional should be of type bool",
    ),
    Allow(
        TypeError,
        (ValueError, TypeError),
        "RNN's explicit signature reports missing sizes first",
        targets=r"nn\.RNN$",
        elman_msg=r"missing \d required positional",
    ),
    Allow(
        (ValueError, TypeError),
        ("ok", RuntimeError, TypeError),
        "RNNCell checks its sizes, bias and nonlinearity when it is built",
        targets=r"nn\.RNNCell$",
    ),
    Allow(
        ValueError,
        (RuntimeError, AssertionError),
        "negative sizes are a ValueError",
        targets=r"nn\.(Linear|Embedding)$",
        elman_msg=r"must be zero or greater",
    ),
    Allow(
        TypeError,
        ("ok", ValueError, TypeError, RuntimeError, OverflowError),
        "non-integer and bool seeds raise TypeError",
        targets=r"(elman\.manual_seed|random\.Generator)",
    ),
    Allow(
        TypeError,
        ("ok", RuntimeError, TypeError),
        "a tensor exponent is not supported (a clear TypeError)",
        elman_msg=r"tensor \*\* tensor is not supported",
    ),
    Allow(
        "any",
        ValueError,
        "slices with a negative step reverse, as NumPy's",
        _has(_negative_step),
        torch_msg=r"step must be greater than zero",
    ),
    Allow(
        "ok",
        RuntimeError,
        "view() copies where the data is not contiguous",
        targets=r"Tensor\.view",
        torch_msg=r"view size is not compatible",
    ),
    Allow(
        RuntimeError,
        "any",
        "an in-place write of a value that requires grad is refused "
        "(elman does not record in-place writes)",
        elman_msg=r"does not record in-place",
    ),
    Allow(
        ValueError,
        ("ok", RuntimeError),
        "a NaN dropout probability is refused when the module is built",
        elman_msg=r"between 0 and 1, but got nan",
    ),
    Allow(
        (TypeError, ValueError),
        (AssertionError, TypeError),
        "Embedding checks its sizes before padding_idx",
        targets=r"nn\.Embedding",
        elman_msg=r"num_embeddings|embedding_dim",
    ),
    Allow(
        RuntimeError,
        "ok",
        "for packed input the hx shape is checked (torch uses the first rows of a larger hx)",
        targets=r"nn\.RNN\.forward\(packed\)",
        elman_msg=r"Expected hidden size",
    ),
    Allow(
        RuntimeError,
        "any",
        "an hx whose rank differs from the input's is refused",
        targets=r"nn\.RNNCell\.forward",
        elman_msg=r"hx should also be",
    ),
    Allow(
        "ok",
        "ok",
        "buffers are stored detached: CrossEntropyLoss(weight=w) gives w no gradient",
        targets=r"nn\.CrossEntropyLoss",
        detail=r"grad.*: None vs",
    ),
    Allow(
        "any",
        RuntimeError,
        "buffers are stored detached: CrossEntropyLoss(weight=w) with a "
        "w that requires grad uses w as a constant",
        targets=r"nn\.CrossEntropyLoss",
        torch_msg=r"not differentiable with respect to argument 'weight'",
    ),
    Allow(
        TypeError,
        "any",
        "bool sizes are refused",
        elman_msg=r"should be of type int, got: (numpy\.)?bool",
    ),
    Allow(
        IndexError,
        "any",
        "__setitem__ checks the index before the value's range",
        targets=r"Tensor\.__setitem__",
    ),
    Allow(
        "ok",
        RuntimeError,
        "__setitem__ casts the value to the tensor's dtype for every kind of index",
        targets=r"Tensor\.__setitem__",
        torch_msg=r"dtypes match",
    ),
    Allow(
        RuntimeError,
        "ok",
        "modules hold float32/float64 parameters only",
        targets=r"nn\.Embedding\.from_pretrained",
        elman_msg=r"floating point",
    ),
    Allow(TypeError, "any", "bools are not dims", elman_msg=r"found element of type bool"),
    Allow(
        RuntimeError,
        TypeError,
        "tensor(None) cannot infer a dtype",
        targets=r"elman\.tensor",
        elman_msg=r"Could not infer dtype of NoneType",
    ),
    Allow(
        RuntimeError,
        "ok",
        "a NaN or negative label_smoothing is refused (torch treats a negative one as 0)",
        elman_msg=r"label_smoothing must be between 0\.0 and 1\.0\. Got: (nan|-)",
    ),
    Allow(
        "ok",
        TypeError,
        "max(None) is max()",
        targets=r"Tensor\.max",
        torch_msg=r"got \(NoneType\)|not NoneType",
    ),
    Allow(
        TypeError,
        "any",
        "padding_idx must be an int",
        targets=r"nn\.Embedding",
        elman_msg=r"padding_idx must be int",
    ),
    Allow(
        TypeError,
        RuntimeError,
        "a complex value is not written into a real tensor",
        targets=r"Tensor\.__setitem__",
        torch_msg=r"cannot be converted to type",
    ),
    Allow(
        "ok",
        TypeError,
        "arange(n, None) is arange(n)",
        targets=r"elman\.arange",
        torch_msg=r"got \(\w+, NoneType\)",
    ),
    Allow(
        RuntimeError,
        ValueError,
        "expand's -1 in a new leading dim is refused with torch's message",
        targets=r"Tensor\.expand",
        torch_msg=r"negative dimensions",
    ),
    Allow(
        TypeError,
        RuntimeError,
        "arange takes real numbers only",
        targets=r"elman\.arange",
        elman_msg=r"must be Number, not complex",
    ),
    Allow(
        "ok",
        "ok",
        "a float exponent too small for float32 is applied in double precision (torch's result "
        "depends on its vectorised or scalar path)",
        targets=r"Tensor\.(__pow__|pow)",
        when=lambda a: isinstance(a[0][1], float) and 0 < abs(a[0][1]) < 1.2e-38,
    ),
    Allow(
        IndexError,
        ValueError,
        "indexing checks the number of indices before a slice's step (NumPy's order)",
        targets=r"Tensor\.__getitem__",
        torch_msg=r"step cannot be zero",
    ),
    Allow(
        "ok",
        TypeError,
        "squeeze(None) is squeeze()",
        targets=r"Tensor\.squeeze",
        torch_msg=r"got \(NoneType\)",
    ),
]
