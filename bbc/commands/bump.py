"""`bbc bump`: set an image's version in bbc.yaml and cascade to its descendants.

Only the version values change in the file; comments, order and layout stay as written.
"""

from __future__ import annotations

from bbc.adapters import lock
from bbc.model import versions
from bbc import config
from bbc.config import yamledit
from bbc.model.hierarchy import Hierarchy


def bump(hierarchy: Hierarchy, image: str, how: str, *, cascade: bool = True, dry_run: bool = False) -> int:
    if dry_run:
        return _bump(hierarchy, image, how, cascade=cascade, dry_run=True)
    # Decide on the file as it is inside the lock: a bump that ran meanwhile is built upon, not lost.
    with lock.config_lock(hierarchy.config.path):
        return _bump(config.load_hierarchy(hierarchy.config.path), image, how, cascade=cascade, dry_run=False)


def _bump(hierarchy: Hierarchy, image: str, how: str, *, cascade: bool, dry_run: bool) -> int:
    changed = versions.plan_bump(hierarchy, {image: how}, follow=cascade)
    diff = yamledit.set_versions(hierarchy.config.path, {n: new for n, (_, new) in changed.items()},
                                 dry_run=dry_run)
    for name, (old, new) in changed.items():
        why = "" if name == image else \
            f" (follows {versions.followed(hierarchy, name, changed)}, cascade: {hierarchy[name].cascade})"
        print(f"{name}: {old} -> {new}{why}")
    if dry_run:
        print(diff, end="")
        print(f"dry run: {hierarchy.config.path.name} not changed")
    return 0
