"""Every fuzz target, by area, with unique names (a repeated entry point gets #2, #3, ...)."""

from __future__ import annotations

import collections

import fuzz_targets_functional
import fuzz_targets_io
import fuzz_targets_more
import fuzz_targets_nn
import fuzz_targets_optim
import fuzz_targets_packing
import fuzz_targets_tensor
from fuzz_reference import REFERENCES
from fuzz_verdict import Target

AREAS = {
    "tensor": fuzz_targets_tensor.TARGETS,
    "nn": fuzz_targets_nn.TARGETS,
    "functional": fuzz_targets_functional.TARGETS,
    "packing": fuzz_targets_packing.TARGETS,
    "optim": fuzz_targets_optim.TARGETS,
    "io": fuzz_targets_io.TARGETS + fuzz_targets_more.TARGETS,
}


def _unique(targets: list[Target]) -> list[Target]:
    seen: collections.Counter[str] = collections.Counter()
    for t in targets:
        seen[t.name] += 1
        if seen[t.name] > 1:
            t.name = f"{t.name}#{seen[t.name]}"
    return targets


ALL = _unique([t for targets in AREAS.values() for t in targets])
for _t in ALL:
    _t.reference = _t.reference or REFERENCES.get(_t.name)
