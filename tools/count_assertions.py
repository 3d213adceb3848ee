"""Count the assertions of a test tree, per file and per test, and compare two trees.

Moving tests must never weaken them: this counts, statically (one per place in the source,
not per run), every

- ``assert`` statement;
- call of ``pytest.raises`` / ``pytest.warns`` / ``pytest.deprecated_call`` / ``pytest.fail``
  (and ``pytest.approx`` outside an ``assert``, where it compares on its own);
- call of a ``numpy.testing`` or ``torch.testing`` assert function, however imported
  (``np.testing.assert_allclose``, ``from numpy.testing import assert_array_equal``);
- call of ``self.assert*`` (unittest style);
- call of one of the suite's own helpers: a function defined anywhere in the tree (not a
  ``test_*`` function) whose body holds one of the above or calls another such helper,
  called by its bare name where it is defined or imported from a test module
  (``from conftest import assert_close``), or as ``module.helper`` of an imported test
  module, or as ``self.helper`` / ``cls.helper`` inside the class that defines it.

Usage::

    python tools/count_assertions.py tests                    # per file and total
    python tools/count_assertions.py tests --against old/tests  # what moved, what dropped

With ``--against`` it matches every test function of the old tree (key: class and name)
with the new tree's wherever it now lives, groups files that exchanged tests, and fails
(exit status 1) when the total, a group or a single test has fewer assertions than before,
or a test of the old tree is gone. ``--collect`` also compares the cases pytest collects
(parametrized rows, table-driven tests), keyed without their file.
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PYTEST_CALLS = {"raises", "warns", "deprecated_call", "fail"}
TESTING_MODULES = ("numpy.testing", "torch.testing")


@dataclass
class FileCount:
    """The assertions of one file: in total and per test function (key ``Class::name``)."""

    path: str
    total: int = 0
    tests: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # the other top-level definitions (helpers, tables), by content: a helper module split
    # off a test file is grouped with it through them
    defs: set[str] = field(default_factory=set)


def _aliases(tree: ast.Module, test_modules: set[str]) -> tuple[dict[str, str], set[str]]:
    """Names bound by imports -> dotted origin, and aliases of imported test modules."""
    names: dict[str, str] = {}
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                names[a.asname or a.name.split(".")[0]] = (
                    a.name if a.asname else a.name.split(".")[0]
                )
                if a.name in test_modules:
                    modules.add(a.asname or a.name)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names, modules


def _dotted(expr: ast.expr) -> str | None:
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


class _Counter(ast.NodeVisitor):
    """Counts assertion sites below one node (helpers given by name)."""

    def __init__(self, names, modules, helpers, own_helpers, methods) -> None:
        self.names, self.modules = names, modules
        self.helpers, self.own_helpers, self.methods = helpers, own_helpers, methods
        self.count = 0
        self.in_assert = 0

    def visit_Assert(self, node: ast.Assert) -> None:
        self.count += 1
        self.in_assert += 1
        self.generic_visit(node)
        self.in_assert -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        pass  # a nested def is counted on its own (it is a helper, or never called)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Call(self, node: ast.Call) -> None:
        if self.is_assertion(node.func):
            self.count += 1
        self.generic_visit(node)

    def is_assertion(self, func: ast.expr) -> bool:
        dotted = _dotted(func)
        if dotted is None:
            return False
        head, _, rest = dotted.partition(".")
        origin = self.names.get(head, head) + ("." + rest if rest else "")
        last = dotted.rsplit(".", 1)[-1]
        if origin.startswith("pytest."):
            what = origin[len("pytest.") :]
            return what in PYTEST_CALLS or (what == "approx" and not self.in_assert)
        if origin.startswith(("np.testing.", "numpy.testing.", "torch.testing.")) or (
            origin.startswith(TESTING_MODULES) and last.startswith("assert")
        ):
            return last.startswith("assert")
        if not rest:  # a bare name: a helper of this file or imported from a test module
            return head in self.own_helpers or (
                head in self.names
                and self.names[head].rsplit(".", 1)[0] in self.modules_imported_from
                and self.names[head].rsplit(".", 1)[1] in self.helpers
            )
        if head in ("self", "cls") and "." not in rest:
            return rest.startswith("assert") or rest in self.methods
        if head in self.modules and "." not in rest:
            return rest in self.helpers
        return False

    modules_imported_from: set[str] = set()


def _defs(tree: ast.Module):
    """Every function definition with its class (or None) and its enclosing test (or None)."""
    out = []

    def walk(node, cls, test):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                walk(child, child.name, test)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((child, cls, test))
                inner_test = test or (child if child.name.startswith("test") else None)
                walk(child, None, inner_test)
            else:
                walk(child, cls, test)

    walk(tree, None, None)
    return out


def count_tree(root: Path) -> dict[str, FileCount]:
    """The assertion counts of every ``*.py`` file under ``root`` (keys: relative paths)."""
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    trees = {p: ast.parse(p.read_text(encoding="utf-8"), filename=str(p)) for p in files}
    test_modules = {p.stem for p in files}
    # helpers: a fixpoint, since a helper may assert only through another helper
    info = {p: (_aliases(t, test_modules), _defs(t)) for p, t in trees.items()}
    helpers: set[str] = set()
    while True:
        found = set(helpers)
        for (names, modules), defs in info.values():
            own = {d.name for d, _, _ in defs} & helpers
            for d, cls, _ in defs:
                if d.name.startswith("test") or d.name in found:
                    continue
                methods = {m.name for m, c, _ in defs if c == cls and cls} & helpers
                c = _Counter(names, modules, helpers, own, methods)
                c.modules_imported_from = test_modules
                for stmt in d.body:
                    c.visit(stmt)
                if c.count:
                    found.add(d.name)
        if found == helpers:
            break
        helpers = found
    result: dict[str, FileCount] = {}
    for p, tree in trees.items():
        (names, modules), defs = info[p]
        own = {d.name for d, _, _ in defs} & helpers
        fc = FileCount(str(p.relative_to(root)))

        def counter(cls, own=own, names=names, modules=modules, defs=defs):
            methods = {m.name for m, c, _ in defs if c == cls and cls} & helpers
            c = _Counter(names, modules, helpers, own, methods)
            c.modules_imported_from = test_modules
            return c

        top = counter(None)
        for stmt in tree.body:  # module level and class bodies outside functions
            top.visit(stmt)
            if not getattr(stmt, "name", "test").startswith("test") or isinstance(
                stmt, (ast.Assign, ast.AnnAssign)
            ):
                fc.defs.add(ast.dump(stmt))
        fc.total += top.count
        for d, cls, test in defs:
            c = counter(cls)
            for stmt in d.body:
                c.visit(stmt)
            for dec in d.decorator_list:
                c.visit(dec)
            fc.total += c.count
            owner = test or (d if d.name.startswith("test") else None)
            if owner is not None:
                key = f"{cls}::{owner.name}" if cls and owner is d else owner.name
                if owner is d:
                    fc.tests[key].append(c.count)
                else:  # a def nested in a test: its asserts belong to that test
                    _add_nested(fc, owner, c.count, defs)
        result[fc.path] = fc
    return result


def _add_nested(fc: FileCount, owner, n: int, defs) -> None:
    cls = next((c for d, c, _ in defs if d is owner), None)
    key = f"{cls}::{owner.name}" if cls else owner.name
    if fc.tests.get(key):
        fc.tests[key][-1] += n
    else:
        fc.tests[key].append(n)


def _print_tree(counts: dict[str, FileCount]) -> int:
    total = sum(f.total for f in counts.values())
    for path, fc in sorted(counts.items()):
        if fc.total or fc.tests:
            print(f"{fc.total:6d}  {sum(len(v) for v in fc.tests.values()):5d} tests  {path}")
    ntests = sum(sum(len(v) for v in f.tests.values()) for f in counts.values())
    print(f"{total:6d}  {ntests:5d} tests  TOTAL")
    return total


def compare(new: dict[str, FileCount], old: dict[str, FileCount]) -> bool:
    """Print what moved where and whether anything dropped; True when nothing did."""
    ok = True
    where_old: dict[str, list[tuple[str, int]]] = defaultdict(list)
    where_new: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for tree, where in ((old, where_old), (new, where_new)):
        for path, fc in tree.items():
            for key, ns in fc.tests.items():
                where[key].extend((path, n) for n in ns)
    # groups: old and new files linked by a test key they share (union-find)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for tree, where in ((old, where_old), (new, where_new)):
        for path, fc in tree.items():
            for d in fc.defs:
                where[f"def:{hash(d)}"].append((path, -1))
    for key in [k for k, v in where_old.items() if k.startswith("def:") and len(v) > 1]:
        del where_old[key]  # boilerplate found in several old files: links nothing
    for key in where_old.keys() & where_new.keys():
        files = [f"old:{p}" for p, _ in where_old[key]] + [f"new:{p}" for p, _ in where_new[key]]
        for f in files[1:]:
            parent[find(f)] = find(files[0])
    for p in old:  # a file with no tests (a helper module): linked by its name
        for q in new:
            if Path(p).name == Path(q).name:
                parent[find(f"new:{q}")] = find(f"old:{p}")
        find(f"old:{p}")
    for p in new:
        find(f"new:{p}")
    groups: dict[str, list[str]] = defaultdict(list)
    for x in parent:
        groups[find(x)].append(x)
    print("\nfile groups (old files -> the new files their tests went to):")
    for members in sorted(groups.values(), key=sorted):
        olds = sorted(m[4:] for m in members if m.startswith("old:"))
        news = sorted(m[4:] for m in members if m.startswith("new:"))
        a = sum(old[p].total for p in olds)
        b = sum(new[p].total for p in news)
        if olds == news and a == b:
            continue  # unchanged file
        flag = "" if b >= a else "   <-- DROPPED"
        ok &= b >= a
        print(f"  {a:5d} -> {b:5d}{flag}\n      old: {', '.join(olds) or '-'}")
        print(f"      new: {', '.join(news) or '-'}")
    print("\ntests whose assertions dropped or that are gone:")
    bad = 0
    for key, places in sorted(where_old.items()):
        if key.startswith("def:"):
            continue
        before = sorted(n for _, n in places)
        after = sorted(n for _, n in where_new.get(key, []))
        if len(after) < len(before) or any(
            a < b for a, b in zip(sorted(after)[-len(before) :], before, strict=True)
        ):
            bad += 1
            print(f"  {key}: {before} -> {after}  ({', '.join(p for p, _ in places)})")
    if not bad:
        print("  none")
    ok &= bad == 0
    a, b = sum(f.total for f in old.values()), sum(f.total for f in new.values())
    ca = Counter(k for k, v in where_old.items() for _ in v if not k.startswith("def:"))
    cb = Counter(k for k, v in where_new.items() for _ in v if not k.startswith("def:"))
    print(
        f"\ntotal assertions: {a} -> {b};  test functions: {sum(ca.values())} -> {sum(cb.values())}"
    )
    ok &= b >= a
    print("OK: nothing dropped" if ok else "FAIL: assertions dropped")
    return ok


def collect(tests: Path) -> Counter[str]:
    """The test ids pytest collects under ``tests`` (run from its parent with ``src`` on the
    path), without their file: ``Class::test_name[param-id]`` -> how many times."""
    root = tests.resolve().parent
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    out = subprocess.run(
        [*cmd, str(tests.resolve())], cwd=root, env=env, capture_output=True, text=True
    )
    ids = [line.split("::", 1)[1] for line in out.stdout.splitlines() if "::" in line]
    if out.returncode != 0 or not ids:
        raise SystemExit(f"collection failed in {root}:\n{out.stdout[-3000:]}{out.stderr[-3000:]}")
    return Counter(ids)


def compare_collected(new: Counter[str], old: Counter[str]) -> bool:
    """Every collected case (parametrized rows included) of the old tree is still collected."""
    gone = old - new
    print(f"\ncollected test cases: {sum(old.values())} -> {sum(new.values())}")
    for key, n in sorted(gone.items()):
        print(f"  gone: {key}" + (f" (x{n})" if n > 1 else ""))
    print("OK: every case still collected" if not gone else "FAIL: cases gone")
    return not gone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tests", type=Path, nargs="?", default=Path("tests"))
    parser.add_argument("--against", type=Path, help="another tests directory to compare with")
    parser.add_argument(
        "--collect",
        action="store_true",
        help="with --against: also compare the cases pytest collects (table rows, params)",
    )
    parser.add_argument("--quiet", action="store_true", help="with --against: no per-file list")
    args = parser.parse_args(argv)
    new = count_tree(args.tests)
    if args.against is None:
        _print_tree(new)
        return 0
    if not args.quiet:
        _print_tree(new)
    ok = compare(new, count_tree(args.against))
    if args.collect:
        ok &= compare_collected(collect(args.tests), collect(args.against))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
