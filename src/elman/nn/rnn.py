"""RNN: torch's multi-layer Elman RNN with torch's constructor, names and checks.

(RNNCell, one step, is in rnn_cell.py.)
"""

from __future__ import annotations

import copy
import math
from typing import Any, NamedTuple

import numpy as np

from .._kernels.flat import Span, flat_spans, split_flat
from ..autograd import Tensor
from ..autograd.tensor import GENERATION
from . import init
from ._checks import (
    as_input,
    check_bool,
    check_device,
    check_dropout,
    check_nonlinearity,
    check_param_dtype,
    check_parameter_memory,
    check_size,
    dtype_mismatch,
)
from ._rnn_fast import fast_forward
from ._rnn_function import BATCH_FIRST, TIME_MAJOR, UNBATCHED, group_weights
from ._rnn_function import rnn as rnn_function
from ._rnn_packed import forward_lengths, forward_packed
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

__all__ = ["RNN"]


class FlatWeights(NamedTuple):
    """What :meth:`RNN.flatten_parameters` made: the buffer, the parameters viewing it."""

    buf: np.ndarray
    params: list[Parameter]
    arrays: list[np.ndarray]  # the parameters' arrays then (views of buf)
    spans: list[Span]  # where each parameter lies in buf
    groups: list[tuple[Any, Any, Any, Any]]  # per (layer, direction): the kernels' weights
    valid_at: int  # GENERATION.value when last seen valid (-1: never)
    # a fused backward's gradient buffer and its views, reused while nobody holds them
    # (nn/_rnn_fast._grad_views); one per buffer, whatever the call signatures
    grads: list[Any]


def _shape_tuple(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"


def _shape_list(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def _check_rnn_memory(I: int, H: int, L: int, bias: bool, bidirectional: bool, dt: Any) -> None:
    """The parameter count in closed form (no loop over a possibly absurd num_layers)."""
    D = 2 if bidirectional else 1
    per_bias = 2 * H if bias else 0
    first = H * I + H * H + per_bias  # (H, I), (H, H), 2 x (H,)
    later = H * D * H + H * H + per_bias  # (H, D*H), (H, H), 2 x (H,)
    elements = D * first + (L - 1) * D * later
    check_parameter_memory(elements, L * D * (4 if bias else 2), dt, "RNN")


class RNN(Module):
    r"""Multi-layer Elman RNN with tanh or ReLU, as ``torch.nn.RNN``.

    For each element of the input sequence each layer computes

    .. math::
        h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})

    where :math:`x_t` is the input at time t (for layers after the first, the previous
    layer's output, with dropout in training mode when ``dropout > 0``) and :math:`h_{t-1}`
    the state at t-1 (``h0`` at t = 0). With ``nonlinearity='relu'`` ReLU replaces tanh.

    Args:
        input_size: features of the input, I.
        hidden_size: features of the hidden state, H.
        num_layers: stacked recurrent layers (default 1).
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        bias: use ``b_ih`` and ``b_hh`` (default True).
        batch_first: input and output are (N, L, ·) instead of (L, N, ·); h0/h_n are not
            affected (default False).
        dropout: probability of dropout on each layer's output except the last (default 0).
        bidirectional: also run each layer from the end to the start (default False).
        device: ``None`` or ``"cpu"``.
        dtype: float32 (default) or float64.

    Shapes, with D = 2 if bidirectional else 1:
        input: (L, N, I), (N, L, I) if batch_first, or (L, I) unbatched.
        h0: (D * num_layers, N, H), or (D * num_layers, H) unbatched; zeros if omitted.
        output: (L, N, D * H) (batch_first: (N, L, D * H)); forward features first.
        h_n: (D * num_layers, N, H); index ``layer * D + direction``.

    Parameters ``weight_ih_l{k}`` (H, I or D*H), ``weight_hh_l{k}`` (H, H), ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` (H,), with suffix ``_reverse`` for the reverse direction, all drawn from
    U(-1/sqrt(H), 1/sqrt(H)) exactly as torch draws them for the same seed.

    Example:
        >>> import elman
        >>> rnn = elman.nn.RNN(10, 20, 2)
        >>> output, hn = rnn(elman.randn(5, 3, 10), elman.randn(2, 3, 20))
        >>> output.shape, hn.shape
        (elman.Size([5, 3, 20]), elman.Size([2, 3, 20]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        check_nonlinearity(nonlinearity)
        if kwargs:  # after the nonlinearity, as torch (its RNNBase.__init__ call raises it)
            name = next(iter(kwargs))
            raise TypeError(f"RNN.__init__() got an unexpected keyword argument '{name}'")
        dropout_value = check_dropout(dropout, num_layers)
        bias = check_bool("bias", bias)
        batch_first = check_bool("batch_first", batch_first)
        check_size("input_size", input_size)
        check_size("hidden_size", hidden_size)
        num_layers = check_size("num_layers", num_layers, integral=True)
        bidirectional = check_bool("bidirectional", bidirectional)  # torch does not check it
        check_device(device)
        dt = check_param_dtype(dtype)
        _check_rnn_memory(input_size, hidden_size, num_layers, bias, bidirectional, dt)
        self.mode = "RNN_RELU" if nonlinearity == "relu" else "RNN_TANH"
        self.nonlinearity = nonlinearity
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = dropout_value
        self.bidirectional = bidirectional
        self.proj_size = 0
        D = self.num_directions
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * D
            for d in range(D):
                sfx = "_reverse" if d == 1 else ""
                shapes = {
                    f"weight_ih_l{layer}{sfx}": (hidden_size, layer_in),
                    f"weight_hh_l{layer}{sfx}": (hidden_size, hidden_size),
                }
                if bias:
                    shapes[f"bias_ih_l{layer}{sfx}"] = (hidden_size,)
                    shapes[f"bias_hh_l{layer}{sfx}"] = (hidden_size,)
                for name, shape in shapes.items():
                    setattr(self, name, Parameter(np.empty(shape, dtype=dt)))
                self._all_weights.append(list(shapes))
        self._flat_weights_names = [n for group in self._all_weights for n in group]
        self._fast_plans: dict[Any, Any] = {}
        self.flatten_parameters()
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        """D: 2 for a bidirectional RNN, else 1 (the shapes' D)."""
        return 2 if self.bidirectional else 1

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(H), 1/sqrt(H)) in parameters() order."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self) -> list[Parameter | None]:
        """The parameters in torch's order; None where one was set to None or deleted."""
        params = self._parameters  # direct lookups: this runs on every forward
        return [params.get(n) for n in self._flat_weights_names]

    def _check_weights(self) -> None:
        """Every weight the RNN multiplies is there: a deleted or None weight is reported by
        name here instead of failing inside the kernels (torch runs a deleted weight's stale
        copy and reports a None one as "expected Tensor as element 1 in argument 2")."""
        params = self._parameters
        for name in self._flat_weights_names:
            if params.get(name) is None:
                if name in params:
                    raise TypeError(
                        f"RNN {name} is None; the RNN needs a Parameter there "
                        f"(rnn.{name} = elman.nn.Parameter(...))"
                    )
                raise AttributeError(
                    f"RNN has no {name} (it was deleted); assign a Parameter to rnn.{name} "
                    "before calling the RNN"
                )

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """Store the parameters as views of one flat buffer, as torch does for cuDNN.

        elman does this when the RNN is built and after ``to()``/``float()``/``double()``;
        the fast lane for small problems reads the buffer as is instead of packing the
        weights on every call. A parameter replaced since (``rnn.weight_hh_l0 = ...`` or
        ``.data = ...``) makes the RNN pack per call again, with the same results, until
        this is called. Values are kept; ``.grad`` is left alone.
        """
        self._fast_plans.clear()  # plans were checked against the weights' dtype
        params = self._flat_weights
        self._flat = None
        if not params or any(p is None for p in params):
            return
        dtype = params[0]._data.dtype
        if any(p._data.dtype != dtype for p in params):  # mixed dtypes: nothing to flatten
            return
        spans = flat_spans([p._data.shape for p in params])
        buf = np.empty(spans[-1][1], dtype=dtype)
        arrays = split_flat(buf, spans)
        for p, view in zip(params, arrays, strict=True):
            view[...] = p._data
            p._data = view
        groups = group_weights(arrays, self.bias)
        self._flat = FlatWeights(buf, params, arrays, spans, groups, -1, [])

    def _flat_buffer(self) -> np.ndarray | None:
        """The flat buffer if every parameter is still the view made by
        :meth:`flatten_parameters`, else None."""
        flat = self._flat
        if flat is None:
            return None
        if flat.valid_at == GENERATION.value:  # no parameter replaced anywhere since
            return flat.buf
        params = self._parameters
        for name, p, a in zip(self._flat_weights_names, flat.params, flat.arrays, strict=True):
            if params.get(name) is not p or p._data is not a:
                return None
        # (a plain attribute: past Module.__setattr__'s checks for parameters and modules)
        object.__setattr__(self, "_flat", flat._replace(valid_at=GENERATION.value))
        return flat.buf

    def __deepcopy__(self, memo: dict[int, Any]) -> RNN:
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            object.__setattr__(new, k, copy.deepcopy(v, memo))
        new.flatten_parameters()  # the copied parameters are separate arrays: one buffer again
        return new

    def _params_replaced(self) -> None:
        if "_fast_plans" not in self.__dict__:  # unpickled: the caches were not saved
            self._fast_plans = {}
            self._flat = None
        if self._flat_buffer() is None:  # to() gave the parameters new arrays
            self.flatten_parameters()

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled RNN. States pickled by torch before 1.8 have no ``proj_size``;
        it is 0, as torch's ``RNNBase.__setstate__`` sets it."""
        super().__setstate__(state)
        self.__dict__.setdefault("proj_size", 0)

    def __getstate__(self) -> dict[str, Any]:
        # the flat buffer and the fast-lane plans are caches, rebuilt after loading
        state = super().__getstate__()
        state.pop("_flat", None)
        state.pop("_fast_plans", None)
        return state

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.nonlinearity != "tanh":
            s += f", nonlinearity='{self.nonlinearity}'"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ---- forward ------------------------------------------------------------------------

    def check_input(self, input: Tensor, hx: Tensor | None) -> None:
        """torch's checks in torch's order: ranks, dtype, features, hx shape, length, then
        the hx dtype (torch fails there in its matmul; elman says which dtype to use)."""
        self._check_weights()
        if input.ndim not in (2, 3):
            raise ValueError(
                f"RNN: Expected input to be 2D or 3D, got {input.ndim}D tensor instead"
            )
        if hx is not None:
            if input.ndim == 2 and hx.ndim != 2:
                raise RuntimeError(
                    f"For unbatched 2-D input, hx should also be 2-D but got {hx.ndim}-D tensor"
                )
            if input.ndim == 3 and hx.ndim != 3:
                raise RuntimeError(
                    f"For batched 3-D input, hx should also be 3-D but got {hx.ndim}-D tensor"
                )
        want = self.weight_ih_l0.dtype
        if input.dtype != want:
            raise ValueError(dtype_mismatch("RNN input", input.dtype, want))
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {input.shape[-1]}"
            )
        if hx is not None:
            batch = () if input.ndim == 2 else (input.shape[0 if self.batch_first else 1],)
            expected = (self.num_layers * self.num_directions, *batch, self.hidden_size)
            if tuple(hx.shape) != expected:
                raise RuntimeError(
                    f"Expected hidden size {_shape_tuple(expected)}, got {_shape_list(hx.shape)}"
                )
        seq_len = input.shape[0 if input.ndim == 2 or not self.batch_first else 1]
        if seq_len == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        if hx is not None and hx.dtype != want:  # torch: "mat1 and mat2 must have the same dtype"
            raise RuntimeError(dtype_mismatch("RNN hx", hx.dtype, want, arg="hx"))

    def forward(self, input: Any, hx: Any = None, *, lengths: Any = None) -> tuple[Any, Tensor]:
        """Run the RNN; returns ``(output, h_n)``. See the class docstring for shapes.

        ``input`` may also be a :class:`~elman.nn.utils.rnn.PackedSequence` (the output is
        then one too), or a padded batch with ``lengths=`` (one length per sequence, any
        order): the result equals pack -> RNN -> pad, with zeros past each length and h_n
        taken at each sequence's last valid step.
        """
        if lengths is None and type(input) is Tensor and (hx is None or type(hx) is Tensor):
            result = fast_forward(self, input, hx)
            if result is not None:
                return result
        hx = None if hx is None else as_input(hx)
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ValueError("lengths= is for padded input; a PackedSequence has its own")
            return forward_packed(self, input, hx)
        input = as_input(input)
        if lengths is not None:
            return forward_lengths(self, input, hx, lengths)
        self.check_input(input, hx)
        if input.ndim == 2:
            layout, batch = UNBATCHED, ()
        else:
            layout = BATCH_FIRST if self.batch_first else TIME_MAJOR
            batch = (input.shape[0 if self.batch_first else 1],)
        if hx is None:
            D = self.num_directions
            hx = Tensor._make(
                np.zeros((self.num_layers * D, *batch, self.hidden_size), input.dtype)
            )
        return self._run(input, hx, layout, None)

    def _run(
        self, input: Tensor, hx: Tensor, layout: str, batch_sizes: np.ndarray | None
    ) -> tuple[Tensor, Tensor]:
        return rnn_function(
            input,
            hx,
            self._flat_weights,
            layout=layout,
            batch_sizes=batch_sizes,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            has_bias=self.bias,
            nonlinearity=self.nonlinearity,
            dropout_p=self.dropout,
            training=self.training,
        )
