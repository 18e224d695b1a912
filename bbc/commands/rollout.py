"""`bbc rollout`: move the downstream projects building on an image (default: all) onto the
released versions, one branch each (bbc/upkeep/rollout.py does the work)."""

from __future__ import annotations

from collections.abc import Callable

from bbc.adapters.engine import Engine
from bbc.model.hierarchy import Hierarchy
from bbc.upkeep import rollout as rollouts


def rollout(hierarchy: Hierarchy, connect: Callable[[], Engine], image: str | None = None, *, push: bool = False,
            test: bool = False, version: str | None = None, fmt: str = "table") -> int:
    return rollouts.rollout(hierarchy, connect, image, push=push, test=test, version=version, fmt=fmt)
