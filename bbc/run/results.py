"""What a step of a run came to: a Result, its Status, and whether it lets the steps that need
it start (`ok`). Commands read these; report.py turns them into lines and tables."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bbc.plan.kinds import Kind

if TYPE_CHECKING:  # only named: report.py reads results without loading the planner
    from bbc.plan import testing
    from bbc.plan.steps import Step
    from bbc.release import promote


class Status(StrEnum):
    BUILT = "built"
    UP_TO_DATE = "up-to-date"
    PULLED = "pulled"  # the registry held this exact build
    REUSED = "reused"  # a test image with this fingerprint was there
    PASSED = "passed"
    CACHED = "passed before"  # same image, same tests
    TAGGED = "tagged"
    PUSHED = "pushed"
    PROMOTED = "promoted"
    FAILED = "failed"
    SKIPPED = "skipped"  # something it needs failed, or the run stopped before it


# what lets the steps that need it start
OK = frozenset({Status.BUILT, Status.UP_TO_DATE, Status.PULLED, Status.REUSED, Status.PASSED, Status.CACHED,
                Status.TAGGED, Status.PUSHED, Status.PROMOTED})


@dataclass(frozen=True)
class Result:
    step: str  # the step's id
    kind: Kind
    image: str
    version: str
    status: Status
    seconds: float = 0.0
    size: int = 0
    image_id: str = ""
    message: str = ""
    tags: tuple[str, ...] = ()
    log: str = ""
    checks: tuple[testing.CheckResult, ...] = ()
    digest: str = ""
    released: tuple[promote.Released, ...] = ()
    engine: str = ""  # with a pool of engines: the one the step ran on

    @property
    def ok(self) -> bool:
        return self.status in OK

    @classmethod
    def of(cls, step: Step, status: Status, start: float | None = None, **fields: Any) -> Result:
        """The result of `step`; with `start` (time.monotonic()), the seconds since."""
        if start is not None:
            fields["seconds"] = time.monotonic() - start
        return cls(step.id, step.kind, step.image, step.version, status, **fields)
