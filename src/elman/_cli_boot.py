"""Ctrl-C during the first second of the ``elman`` command: exit 130 quietly, no traceback.

Both ways of starting the command (the ``elman`` script and ``python -m elman``) import this
package before any command-line code can run, and that import (NumPy, Numba, the kernels)
takes the better part of a second. Only when the process is the ``elman`` command, a SIGINT
arriving during the import prints one line and exits with 130; ``elman.cli.main`` replaces
this handler as soon as it runs. Importing elman from any other program changes nothing.
"""

from __future__ import annotations

import os
import signal
import sys


def _started_as_command() -> bool:
    argv0 = os.path.basename(sys.argv[0]) if sys.argv else ""
    if argv0 in ("elman", "elman.exe", "elman-script.py"):
        return True
    # `python -m elman`: runpy imports the package while sys.argv[0] is still "-m"
    orig = list(getattr(sys, "orig_argv", []))
    return argv0 == "-m" and any(
        orig[i] == "-m" and orig[i + 1] == "elman" for i in range(len(orig) - 1)
    )


def _quiet_interrupt(signum: int, frame: object) -> None:
    os.write(2, b"elman: interrupted\n")
    os._exit(130)


def install() -> None:
    """Install the quiet SIGINT handler if this process is the ``elman`` command."""
    if _started_as_command() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _quiet_interrupt)


install()
