"""One handler per kind of step, found by the step's class: a new kind of step is a class in
bbc/plan/steps.py, a place in the planner, and a Handler here."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bbc.plan.steps import Build, ProjectBuild, Promote, Push, RunTest, Step, Tag, TestPart
from bbc.run.handlers.base import Context, Handler
from bbc.run.handlers.build import BuildHandler, ProjectBuildHandler
from bbc.run.handlers.release import PromoteHandler, PushHandler, TagHandler
from bbc.run.handlers.tests import RunTestHandler, TestPartHandler

HANDLERS: Mapping[type[Step], Handler[Any]] = MappingProxyType({
    Build: BuildHandler(),
    TestPart: TestPartHandler(),
    RunTest: RunTestHandler(),
    Tag: TagHandler(),
    Push: PushHandler(),
    Promote: PromoteHandler(),
    ProjectBuild: ProjectBuildHandler(),
})


def handler_for(step: Step) -> Handler[Any] | None:
    """The handler of `step`'s class; None: no way to run it (a prepare step runs before planning)."""
    return HANDLERS.get(type(step))


__all__ = ["HANDLERS", "Context", "Handler", "handler_for"]
