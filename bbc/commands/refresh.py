"""`bbc refresh`: the maintenance window in one command (bbc/upkeep/refresh.py does it).

Takes what `bbc outdated` finds, bumps the owning images, builds and tests them, and with
`--commit` makes one commit; `--release` and `--rollout` go on. Any failure restores every
file refresh changed, names the step, and exits 1. With `--format json` every human line goes
to stderr and stdout gets one report for the nightly job.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bbc.adapters.engine import Engine
from bbc.model.hierarchy import Hierarchy
from bbc.run import report
from bbc.upkeep import refresh as refreshing
from bbc.upkeep.refresh import RefreshRequest


def refresh(hierarchy: Hierarchy, connect: Callable[[], Engine], request: RefreshRequest, *,
            fmt: str = "table") -> int:
    events = report.PlainEvents(sys.stderr if fmt == "json" else sys.stdout)
    result = refreshing.refresh(hierarchy, connect, request, events)
    if fmt == "json":
        report.dump_json(result.as_json())
    elif result.error is not None:
        raise result.error
    return result.code
