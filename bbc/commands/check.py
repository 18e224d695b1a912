"""`bbc check`: bbc.yaml and every Dockerfile it names, validated without an engine; drift
between them (bbc/upkeep/drift.py: exit 1 for a FROM naming another parent, notes otherwise); the
external bases not pinned by digest, held to `policy.pinned_bases`."""

from __future__ import annotations

from bbc.plan import bases
from bbc.upkeep import drift
from bbc.model.hierarchy import Hierarchy


def check(hierarchy: Hierarchy) -> int:
    config = hierarchy.config
    print(f"{config.path.name}: ok ({len(hierarchy.order)} images, {len(hierarchy.roots())} roots)")
    code = 0
    for found in drift.find(hierarchy):
        print(f"{found.level}: {found.where}: {found.message}")
        if found.level == drift.CONFLICT:
            code = 1
    level = config.policy.pinned_bases
    if level == "off":
        return code
    loose = bases.unpinned(hierarchy)
    for base in loose:
        print(f"{level}: {base.where}: base {base.ref} is not pinned by digest "
              f"(policy.pinned_bases: {level}; `bbc pin` pins it)")
    return 1 if loose and level == "error" else code
