"""`bbc plan`: every step a build (`--test`: a test run, `--release`: a release) would take,
and why — the same plan those commands run."""

from __future__ import annotations

from bbc import pipeline, planner, planview, remote
from bbc.engine import Engine
from bbc.hierarchy import Hierarchy
from bbc.planner import Scope, Selection
from bbc.promote import Registry, write_once


def plan(hierarchy: Hierarchy, engine: Engine, sel: Selection, *, fmt: str = "table", test: bool = False,
         release: bool = False, rerun: bool = False, registry: Registry | None = None) -> int:
    index = pipeline.index(engine)
    scope = Scope(test=test, rerun=rerun)
    if release:
        reg, repo_of = remote.registry_for(hierarchy, registry)
        builds = planner.plan(hierarchy, sel, index)
        already = write_once(hierarchy, {b.image: b.fingerprint for b in builds.builds}, reg, repo_of)
        scope = Scope(test=test, release=True, released=already, rerun=rerun, pull=remote.holds(reg, repo_of))
    planview.show(hierarchy, planner.plan(hierarchy, sel, index, scope), fmt)
    return 0
