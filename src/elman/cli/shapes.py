"""``elman shapes``: print parameter names and shapes and the I/O shapes of a configuration."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ._errors import UserError, check_memory


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "shapes",
        help="print an RNN's parameter names/shapes and its input, h0, output and h_n shapes",
        description=(
            "Build elman.nn.RNN with the given configuration, run it once on random input "
            "and print each parameter's name and shape, then the input / h0 / output / h_n "
            "shapes, in the layout of the seed documents. Defaults reproduce the first "
            "program of seed 000 (batch 2, sequence 10, input 5000, hidden 4, batch_first)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--input-size", type=int, default=5000, help="features per input step (I)")
    p.add_argument("--hidden-size", type=int, default=4, help="features of the hidden state (H)")
    p.add_argument("--num-layers", type=int, default=1, help="stacked recurrent layers")
    p.add_argument("--nonlinearity", choices=("tanh", "relu"), default="tanh", help="activation")
    p.add_argument(
        "--no-bias", dest="bias", action="store_false", help="build without b_ih and b_hh"
    )
    p.add_argument(
        "--batch-first",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="input/output laid out (N, L, features) instead of (L, N, features)",
    )
    p.add_argument(
        "--dropout", type=float, default=0.0, help="dropout between layers (training mode)"
    )
    p.add_argument("--bidirectional", action="store_true", help="add a reverse direction")
    p.add_argument("--batch-size", type=int, default=2, help="sequences per batch (N)")
    p.add_argument("--seq-len", type=int, default=10, help="time steps per sequence (L)")
    p.add_argument(
        "--unbatched", action="store_true", help="feed one (L, I) sequence without a batch axis"
    )
    p.add_argument("--no-h0", dest="h0", action="store_false", help="omit h0 (the RNN uses zeros)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--seed", type=int, default=0, help="seed for weights and inputs")
    p.set_defaults(run=run)


def _check_sizes(args: argparse.Namespace) -> None:
    """Refuse sizes whose arrays cannot fit in memory (the OS would kill the process)."""
    D = 2 if args.bidirectional else 1
    I, H, L, N = args.input_size, args.hidden_size, args.seq_len, max(args.batch_size, 1)
    if min(I, H, L, args.num_layers) <= 0:
        return  # the RNN's own checks say what is wrong
    params = D * (H * I + H * H + 2 * H) + (args.num_layers - 1) * D * (H * D * H + H * H + 2 * H)
    values = params + L * N * I + L * N * D * H * (args.num_layers + 1)
    # float64 draws behind float32 randn, plus the outputs: a generous 3 copies
    check_memory(3 * 8 * values, "these sizes")


def run(args: argparse.Namespace) -> int:
    import elman

    elman.manual_seed(args.seed)
    _check_sizes(args)
    try:
        rnn = elman.nn.RNN(
            input_size=args.input_size,
            hidden_size=args.hidden_size,
            num_layers=args.num_layers,
            nonlinearity=args.nonlinearity,
            bias=args.bias,
            batch_first=args.batch_first,
            dropout=args.dropout,
            bidirectional=args.bidirectional,
            dtype=args.dtype,
        )
    except (TypeError, ValueError) as exc:
        raise UserError(str(exc)) from None
    rnn.eval()
    D = 2 if args.bidirectional else 1
    if args.unbatched:
        x_shape: tuple[int, ...] = (args.seq_len, args.input_size)
        h_shape: tuple[int, ...] = (D * args.num_layers, args.hidden_size)
    else:
        n, length = args.batch_size, args.seq_len
        x_shape = (n, length, args.input_size) if args.batch_first else (length, n, args.input_size)
        h_shape = (D * args.num_layers, n, args.hidden_size)
    dtype = np.dtype(args.dtype)
    x = elman.randn(*x_shape, dtype=dtype)
    h0 = elman.randn(*h_shape, dtype=dtype) if args.h0 else None
    for name, param in rnn.named_parameters():
        print(name, param.shape)
    h0_text = h0.shape if h0 is not None else "None (zeros)"
    print(f"input : {x.shape}  //  h0 : {h0_text}")
    try:
        with elman.no_grad():
            output, hn = rnn(x, h0)
    except (RuntimeError, ValueError) as exc:
        raise UserError(str(exc)) from None
    print(f"output : {output.shape}  //  hn : {hn.shape}")
    return 0
