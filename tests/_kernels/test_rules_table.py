"""The dispatch rules table: generated from the checked-in sweeps, total, contract names only,
and no worse than the rules it replaces on the sweeps' measurements."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import timeit
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elman._kernels import rules, rules_table

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"

# the variant names of the contract (ELMAN_KERNEL_VARIANT's public names and the three
# fused combinations that had none)
NAMES = {
    "fused", "fused-outer", "fused-forward", "fused-forward-outer", "fused-forward-gemm",
    "fused-gemm",
    "layered-axpy", "layered-dot", "layered-outer", "layered-gemm", "layered-split",
    "layered-pairs", "layered-rows", "layered-rows-outer",
}  # fmt: skip


def _generator():
    sys.path.insert(0, str(BENCH))  # make_rules_table imports benchmarks/agreement.py
    spec = importlib.util.spec_from_file_location("make_rules_table", BENCH / "make_rules_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen():
    return _generator()


@pytest.fixture(scope="module")
def sweep():
    return json.loads((BENCH / "dispatch-sweep.json").read_text())


@pytest.fixture(scope="module")
def samples(gen, sweep):
    return gen.load_samples(sweep)


@pytest.fixture(scope="module")
def wide(gen):
    """The issue-18 sweep the table is fitted on (seed 18, 300 shapes)."""
    return gen.load_issue18(json.loads(Path(gen.ISSUE18).read_text()))


def test_regenerating_from_the_sweep_gives_the_checked_in_table(gen, tmp_path):
    out = tmp_path / "rules_table.py"
    assert gen.main(["--out", str(out)]) == 0
    checked_in = Path(rules_table.__file__).read_text()
    assert out.read_text() == checked_in


def test_the_table_names_only_contract_variants_and_ends_unconditional():
    assert {name for name, _ in rules_table.RULES} <= NAMES
    assert rules_table.RULES[-1][1] == ()
    for _, bounds in rules_table.RULES:
        for key, low, high in bounds:
            assert key in rules.FEATURES
            assert low is None or high is None or low <= high


def test_the_generator_keeps_the_structure_and_moves_only_derived_bounds(gen):
    """Same rows, variants and features as the generator's structure; a structural bound
    (derive=False) keeps its value."""
    assert len(gen.ROWS) == len(rules_table.RULES)
    for (_, variant, bounds), (name, table_bounds) in zip(gen.ROWS, rules_table.RULES, strict=True):
        assert name == variant
        assert [b[0] for b in bounds] == [b[0] for b in table_bounds]
        for (key, low, high, derive), (_, tlow, thigh) in zip(bounds, table_bounds, strict=True):
            assert (low is None) == (tlow is None) and (high is None) == (thigh is None)
            if not derive:
                assert (low, high) == (tlow, thigh), key


sizes = st.one_of(st.integers(0, 4), st.integers(1, 1 << 20), st.sampled_from([1, 2, 3]))


@settings(max_examples=300, deadline=None)
@given(sizes, sizes, sizes, sizes, st.integers(1, 8), st.sampled_from([1, 2]), st.booleans(),
       st.booleans())  # fmt: skip
def test_pick_is_total_and_names_a_contract_variant(T, N, I, H, layers, D, two, blas):
    name = rules.pick(T, N, I, H, layers, D, two, blas)
    assert name in NAMES
    # the cached answer is the table's first match
    assert name == rules.first_match(rules.features(T, N, I, H, layers, D, two, blas))


def test_pick_follows_the_row_order():
    """A hand-built table: the first matching row wins, bounds are inclusive."""
    table = (("a", (("H", None, 32),)), ("b", (("H", 32, 64), ("N", 2, None))), ("c", ()))
    f = rules.features
    assert rules.first_match(f(10, 1, 4, 32, 1, 1, True, True), table) == "a"
    assert rules.first_match(f(10, 2, 4, 33, 1, 1, True, True), table) == "b"
    assert rules.first_match(f(10, 1, 4, 33, 1, 1, True, True), table) == "c"
    assert rules.first_match(f(10, 2, 4, 65, 1, 1, True, True), table) == "c"


def _ratio(sample, name):
    """The pick's measured ratio to the fastest variant of the sample's kind (forward alone,
    or forward+backward); inf where the sample's sweep did not time it."""
    r = sample["regret"].get(name)
    return math.inf if r is None else math.exp(r)


def test_on_the_speed_table_the_table_is_no_worse_than_the_rules_it_replaces(gen, samples, sweep):
    """Every speed-table shape (both thread conditions, dense and packed): the table's pick
    is within 15% of the measured best, or no slower than the pick of the rules it replaced
    (benchmarks/rules_rows.py's starting values: the table of main 806e220, fitted on
    dispatch-sweep.json alone). From the JSON."""
    speed = {",".join(map(str, s)) for s in _sweep_module().SPEED}
    old = gen.to_rules(gen.ROWS)
    packed = [s for s in gen.load_samples(sweep, packed=True) if s["shape"] in speed]
    assert len(packed) == 4 * len(speed)  # two conditions, two kinds
    checked = 0
    for s in samples + packed:
        if s["shape"] not in speed:
            continue
        new_r = _ratio(s, rules.first_match(s["f"]))
        old_r = _ratio(s, rules.first_match(s["f"], old))
        assert new_r <= 1.15 or new_r <= old_r, (s["shape"], s["cond"], new_r, old_r)
        checked += 1
    assert checked == 8 * len(speed)  # two conditions, dense and packed, two kinds


def test_on_the_whole_sweep_the_table_is_near_the_best_at_least_as_often(gen, samples, wide):
    """On both inputs: the table's pick is near the best (within 15% of the sample's kind's
    fastest) at least as often as the rules it replaced; where a sample's sweep
    never timed the table's pick (dispatch-sweep.json predates fused-gemm), it is left out."""
    old = gen.to_rules(gen.ROWS)
    for group, floor in ((samples, 0.8), (wide, 0.85)):
        judged = [s for s in group if rules.first_match(s["f"]) in s["known"]]
        near_new = sum(_ratio(s, rules.first_match(s["f"])) <= 1.15 for s in judged)
        near_old = sum(_ratio(s, rules.first_match(s["f"], old)) <= 1.15 for s in judged)
        assert near_new >= near_old
        assert near_new >= floor * len(group)
    assert len(wide) == 600  # 300 shapes, two kinds


def test_rules_check_judges_a_table_offline_from_the_variant_cells(gen):
    """benchmarks/rules_check.py: the pick of a table on a sweep entry is the table's first
    match, timed by that variant's own cell (a forward: the fastest cell of the variants that
    run its forward code); the summary counts the same misses as a direct count over the
    file."""
    sys.path.insert(0, str(BENCH))
    import rules_check
    import rules_samples

    data = json.loads(Path(gen.ISSUE18).read_text())
    table = rules_check.load_rules(Path(rules_table.__file__))
    assert table == rules_table.RULES
    good = 0
    for e in data["shapes"].values():
        name = rules_check.table_pick(e, table)
        cells = {k[8:]: min(v) for k, v in e["fwd"].items() if k.startswith("variant:") and v}
        code = rules_samples.forward_code
        pooled: dict[str, float] = {}  # twins' forwards (one code): their fastest cell
        for k, t in cells.items():
            pooled[code(k)] = min(pooled.get(code(k), t), t)
        good += name in cells and pooled[code(name)] <= 1.15 * min(cells.values())
    text = rules_check.table_summary(data, table, "min")
    assert f"(fwd): {good}/300 " in text


def _sweep_module():
    spec = importlib.util.spec_from_file_location("dispatch_sweep", BENCH / "dispatch_sweep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_cached_pick_costs_a_lookup():
    """RNN calls of ~7 us: a repeated signature must cost well under a microsecond."""
    args = (15, 3, 7, 4, 2, 1, True, True)
    rules.pick(*args)
    best = min(timeit.repeat(lambda: rules.pick(*args), number=2000, repeat=5)) / 2000
    assert best < 2e-6, best
