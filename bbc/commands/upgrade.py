"""`bbc upgrade`: one command for an org-wide upgrade (bbc/upkeep/upgrade.py does it).

- `bbc upgrade PACKAGE==VERSION`: rewrite every pin of PACKAGE, bump the owning images,
  optionally build (and test) that subgraph and make one commit.
- `bbc upgrade --image IMAGE major|minor|patch|X.Y.Z`: bump + cascade, build, test, and
  optionally release and roll out.
"""

from __future__ import annotations

from collections.abc import Callable

from bbc.adapters.engine import Engine
from bbc.model.hierarchy import Hierarchy
from bbc.run import report
from bbc.upkeep import upgrade as upgrading
from bbc.upkeep.upgrade import UpgradeRequest


def upgrade(hierarchy: Hierarchy, connect: Callable[[], Engine], request: UpgradeRequest) -> int:
    return upgrading.upgrade(hierarchy, connect, request, report.PlainEvents()).code
