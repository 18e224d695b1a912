"""What a command was asked for, as a Selection: the images named (checked against the
hierarchy before any engine is asked), and with `--changed` the images whose files changed."""

from __future__ import annotations

from bbc.model import platforms
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Selection


def selection(hierarchy: Hierarchy, names: tuple[str, ...], *, changed: bool = False, since: str | None = None,
              with_dependents: bool = False, force: bool = False) -> Selection:
    """The images a command works on; unknown names fail here, before any engine is asked.
    One platform of a multi-platform image may be named alone (`static@arm64`)."""
    units = platforms.expand(hierarchy)
    hierarchy.check_names([n for n in names if n not in units.config.images])
    changed_map = None
    if changed or since:
        from bbc.plan import changes  # git: only when asked

        changed_map = changes.changed_images(hierarchy, since)
    return Selection(tuple(names), with_dependents, changed_map, force)
