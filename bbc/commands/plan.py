"""`bbc plan`: every step a build (`--test`: a test run, `--release`: a release) would take,
and why — the same plan those commands run."""

from __future__ import annotations

from bbc.plan import bases, fingerprint, planner, remote
from bbc.run import pipeline, view as planview
from bbc.adapters.engine import Engine
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Scope, Selection
from bbc.adapters.registry.protocol import RegistryAPI
from bbc.release.promote import write_once


def plan(hierarchy: Hierarchy, engine: Engine, sel: Selection, *, fmt: str = "table", test: bool = False,
         release: bool = False, rerun: bool = False, registry: RegistryAPI | None = None) -> int:
    hierarchy, sel = pipeline.units(hierarchy, sel)  # a step per platform of a multi-platform image
    digests: dict[tuple[str, str], fingerprint.ContextDigest] = {}
    resolve = bases.Resolver(engine, hierarchy.config.mirrors).digest  # each external base asked once
    plan = pipeline.make_plan(hierarchy, engine, sel, Scope(test=test, rerun=rerun, bases=resolve), digests)
    if release:
        reg, repo_of = remote.registry_for(hierarchy, registry)
        already = write_once(hierarchy, {b.image: b.fingerprint for b in plan.builds}, reg, repo_of)
        scope = Scope(test=test, release=True, released=already, rerun=rerun, pull=remote.holds(reg, repo_of),
                      bases=resolve)
        plan = planner.plan(hierarchy, sel, plan.index, scope, digests)
    planview.show(hierarchy, plan, fmt)
    return 0
