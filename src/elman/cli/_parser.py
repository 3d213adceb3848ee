"""The argument parser of the ``elman`` command: one-line errors, typo suggestions, no
prefix abbreviations, and value checks as argparse types (so a bad value is a usage error,
exit code 2, caught before anything runs)."""

from __future__ import annotations

import argparse
import difflib
import math
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ._errors import EXIT_USAGE

__all__ = ["Parser", "suggest", "integer", "number", "probability"]


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` for elman: errors are one line naming the command.

    ``allow_abbrev`` is off (``--epoch`` is not taken for ``--epochs``); an unknown flag or
    choice gets a "did you mean" suggestion. Sub-parsers made from it inherit all of this.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        message = _with_choice_suggestion(message)
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        sys.exit(EXIT_USAGE)

    def option_strings(self) -> list[str]:
        return [s for action in self._actions for s in action.option_strings]


def suggest(word: str, candidates: Sequence[str]) -> str | None:
    """The closest candidate to a mistyped ``word``, if any is close enough."""
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def unrecognized(parser: Parser, extras: Sequence[str]) -> NoReturn:
    """Report flags no parser knew, suggesting the nearest of ``parser``'s flags."""
    flags = [e for e in extras if e.startswith("-")]
    first = (flags or list(extras))[0]
    name = first.split("=", 1)[0]
    hint = suggest(name, parser.option_strings()) if name.startswith("-") else None
    what = "unrecognized argument" if len(extras) == 1 else "unrecognized arguments"
    text = f"{what}: {' '.join(extras)}"
    if hint:
        text += f"; did you mean {hint}?"
    parser.error(text)


_CHOICE = re.compile(r"invalid choice: '?([^' ]*)'? \(choose from (.*)\)$")


def _with_choice_suggestion(message: str) -> str:
    match = _CHOICE.search(message)
    if not match:
        return message
    choices = [c.strip().strip("'") for c in match.group(2).split(",")]
    hint = suggest(match.group(1), choices)
    return f"{message}; did you mean {hint!r}?" if hint else message


# ---- value checks, used as argparse `type=` -----------------------------------------------


def integer(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer within [minimum, maximum]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        _check_range(value, text, minimum, maximum)
        return value

    parse.__name__ = "integer"
    return parse


def number(
    minimum: float | None = None, *, above: float | None = None, maximum: float | None = None
) -> Callable[[str], float]:
    """An argparse type: a finite number >= ``minimum`` (or > ``above``), <= ``maximum``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if above is not None and not value > above:
            raise argparse.ArgumentTypeError(f"must be > {_show(above)}, got {text}")
        _check_range(value, text, minimum, maximum)
        return value

    parse.__name__ = "number"
    return parse


def _check_range(value: float, text: str, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {_show(minimum)}, got {text}")
    if maximum is not None and value > maximum:
        raise argparse.ArgumentTypeError(f"must be <= {_show(maximum)}, got {text}")


def _show(bound: float) -> str:
    return str(bound) if isinstance(bound, int) else f"{bound:g}"


def probability(text: str) -> float:
    """An argparse type: a probability in [0, 1]."""
    return number(0.0, maximum=1.0)(text)


probability.__name__ = "probability"
