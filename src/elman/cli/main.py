"""Entry point of the ``elman`` command: one sub-command per job, one-line errors."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from .._version import __version__
from . import bench, convert, onnx_cmd, run, scale, shapes, train, use
from ._errors import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    EXIT_USER,
    UserError,
    describe_os_error,
    first_line,
)
from ._parser import Parser, unrecognized

EPILOG = """\
exit codes:
  0    done
  1    a user error found while running (a missing or malformed file, an unwritable or
       occupied --out, a full disk, a loss that became NaN/inf): one line on stderr
  2    the command line is wrong (an unknown flag, a value out of range): nothing ran
  130  interrupted (Ctrl-C); 'elman train' saves a checkpoint first
  143  'elman train' stopped by SIGTERM (kill, docker stop) after saving a checkpoint
"""


def build_parser() -> tuple[Parser, dict[str, Parser]]:
    """The top-level parser and the sub-command parsers by name."""
    parser = Parser(
        prog="elman",
        description="elman: torch.nn.RNN rebuilt on NumPy. Pick a sub-command;\n"
        "'elman COMMAND --help' explains its flags.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"elman {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    shapes.add_parser(sub)
    bench.add_parser(sub)
    train.add_parser(sub)
    use.add_parsers(sub)
    convert.add_parsers(sub)
    onnx_cmd.add_parser(sub)
    scale.add_sweep_parser(sub)
    run.add_parser(sub)
    return parser, dict(sub.choices)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code (see the module's EPILOG)."""
    command = "elman"
    try:
        # Ctrl-C from here on raises KeyboardInterrupt, handled below (the early handler of
        # elman._cli_boot exits during the import only)
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        parser, subparsers = build_parser()
        args, extras = parser.parse_known_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        command = f"elman {args.command}"
        if extras:
            unrecognized(subparsers[args.command], extras)
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, not at exit
        return code
    except UserError as exc:
        return _fail(f"{command}: {first_line(str(exc))}", EXIT_USER)
    except KeyboardInterrupt:
        return _fail(f"{command}: interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # the reader of stdout went away (`elman sample | head`): stop quietly
        _silence_stdout()
        return EXIT_USER
    except OSError as exc:  # a file or disk problem not translated where it happened
        return _fail(f"{command}: {describe_os_error(exc)}", EXIT_USER)
    except MemoryError:
        return _fail(f"{command}: out of memory; try smaller sizes", EXIT_USER)


def _fail(line: str, code: int) -> int:
    try:
        sys.stdout.flush()  # what was printed before the error comes first
    except (OSError, ValueError):
        pass
    sys.stderr.write(line + "\n")
    return code


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (captured)
        pass
    finally:
        os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
