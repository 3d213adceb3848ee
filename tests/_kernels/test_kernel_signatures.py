"""The kernel layer's rules for signatures and files, checked on the source (AST):

* no function in src/elman/_kernels takes more than 8 positional parameters unless its
  docstring lists every one of them, one per line (``name: ...`` or ``name (shape): ...``
  at the start of a line, after indentation or a ``* ``/``- `` bullet), or it is a
  compiled twin whose docstring starts "Compiled :func:`.X.f`" and ``X.f``, with the
  same parameters, lists them;
* no call site packs arguments into an ``args = (...)`` tuple to splat into a call;
* every file stays under 400 lines.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

KERNELS = Path(__file__).resolve().parents[2] / "src" / "elman" / "_kernels"
FILES = sorted(KERNELS.glob("*.py"))
MAX_POSITIONAL = 8


def _functions(tree: ast.AST) -> list[ast.FunctionDef]:
    return [f for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _positional(f: ast.FunctionDef) -> list[str]:
    return [a.arg for a in (*f.args.posonlyargs, *f.args.args)]


def _listed(doc: str, name: str) -> bool:
    """``name`` starts a line of the docstring, followed by ``:`` or a parenthesis."""
    pattern = rf"^\s*(?:[*-]\s+)?{re.escape(name)}\s*(?:\([^)]*\))?\s*:"
    return re.search(pattern, doc, flags=re.MULTILINE) is not None


def _twin_doc(doc: str, names: list[str]) -> str:
    """The docstring of the reference a compiled twin names, if it has the same parameters."""
    m = re.match(r"Compiled :func:`\.(\w+)\.(\w+)`", doc)
    if m is None or not (KERNELS / f"{m.group(1)}.py").exists():
        return doc
    tree = ast.parse((KERNELS / f"{m.group(1)}.py").read_text())
    for f in _functions(tree):
        if f.name == m.group(2) and _positional(f) == names:
            return ast.get_docstring(f) or ""
    return doc


def long_signatures_without_docs(path: Path) -> list[str]:
    bad = []
    for f in _functions(ast.parse(path.read_text())):
        names = _positional(f)
        if len(names) <= MAX_POSITIONAL:
            continue
        doc = _twin_doc(ast.get_docstring(f) or "", names)
        missing = [n for n in names if not _listed(doc, n)]
        if missing:
            bad.append(f"{path.name}:{f.lineno} {f.name} ({len(names)}): {', '.join(missing)}")
    return bad


def packed_argument_tuples(path: Path) -> list[str]:
    """``args = (...)`` assignments (of any name) later splatted into a call: ``f(*args)``."""
    tree = ast.parse(path.read_text())
    bad = []
    for f in _functions(tree):
        tuples = {
            t.id: node.lineno
            for node in ast.walk(f)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple)
            for t in node.targets
            if isinstance(t, ast.Name)
        }
        for node in ast.walk(f):
            if isinstance(node, ast.Starred) and isinstance(node.value, ast.Name):
                if node.value.id in tuples:
                    bad.append(f"{path.name}:{tuples[node.value.id]} {f.name}: {node.value.id}")
    return bad


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_long_signatures_list_every_parameter(path: Path) -> None:
    assert long_signatures_without_docs(path) == []


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_no_argument_tuples_are_packed_for_a_call(path: Path) -> None:
    assert packed_argument_tuples(path) == []


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_files_stay_under_400_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) < 400


def test_the_checks_find_what_they_look_for(tmp_path: Path) -> None:
    """The rules fire on a long undocumented signature and on a packed tuple."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f(a, b, c, d, e, f, g, h, i):\n"
        '    """a: one\n    b: two"""\n'
        "    args = (a, b)\n"
        "    return g(*args)\n"
    )
    assert long_signatures_without_docs(bad) == ["bad.py:1 f (9): c, d, e, f, g, h, i"]
    assert packed_argument_tuples(bad) == ["bad.py:4 f: args"]
    good = tmp_path / "good.py"
    good.write_text(
        "def f(a, b, c, d, e, f, g, h, i):\n"
        '    """Sums.\n\n    Args:\n'
        + "".join(f"        {n}: the {n}\n" for n in "abcdefgh")
        + '        i (N, H): the last\n    """\n'
    )
    assert long_signatures_without_docs(good) == []
