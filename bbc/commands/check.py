"""`bbc check`: bbc.yaml and every Dockerfile it names, validated without an engine; the
external bases not pinned by digest, held to `policy.pinned_bases`."""

from __future__ import annotations

from bbc import bases
from bbc.hierarchy import Hierarchy


def check(hierarchy: Hierarchy) -> int:
    config = hierarchy.config
    print(f"{config.path.name}: ok ({len(hierarchy.order)} images, {len(hierarchy.roots())} roots)")
    level = config.policy.pinned_bases
    if level == "off":
        return 0
    loose = bases.unpinned(hierarchy)
    for found in loose:
        print(f"{level}: {found.where}: base {found.ref} is not pinned by digest "
              f"(policy.pinned_bases: {level}; `bbc pin` pins it)")
    return 1 if loose and level == "error" else 0
