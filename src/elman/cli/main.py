"""Entry point of the ``elman`` command: one sub-command per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._version import __version__
from . import bench, convert, shapes, train, use


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="elman",
        description="elman: torch.nn.RNN rebuilt on NumPy. Pick a sub-command; "
        "'elman COMMAND --help' explains its flags.",
    )
    parser.add_argument("--version", action="version", version=f"elman {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    shapes.add_parser(sub)
    bench.add_parser(sub)
    train.add_parser(sub)
    use.add_parsers(sub)
    convert.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(args.run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
