"""The jobs of a CI pipeline: the images a fresh runner would have to build, parents first."""

from __future__ import annotations

from dataclasses import dataclass

from bbc.adapters.engine import Engine
from bbc.model.hierarchy import Hierarchy
from bbc.plan import bases, planner, remote, steps
from bbc.plan.kinds import Action
from bbc.plan.steps import Scope, Selection


@dataclass(frozen=True)
class Job:
    image: str
    version: str
    needs: tuple[str, ...]  # images of this pipeline it builds on
    why: str


def jobs(hierarchy: Hierarchy, sel: Selection, engine: Engine | None = None) -> list[Job]:
    """The images a fresh runner would have to build (parents first): not held by the registry
    under their version or candidate tag with this exact fingerprint."""
    reg, repo_of = remote.registry_for(hierarchy)
    scope = Scope(pull=remote.holds(reg, repo_of), bases=bases.Resolver(engine, hierarchy.config.mirrors).digest)
    plan = planner.plan(hierarchy, sel, steps.Index.of([]), scope)
    building = {b.image: b for b in plan.builds if b.action == Action.BUILD}
    out = []
    for name in hierarchy.sort(set(building)):
        parent = hierarchy[name].parent
        b = building[name]
        needs = tuple(n for n in hierarchy.needs(name) if n in building)  # the parent and used images (issue 21)
        why = (f"parent {parent} is built in this pipeline" if parent in needs
               else f"{', '.join(needs)} built in this pipeline" if needs
               else "the registry holds no build with its fingerprint")
        out.append(Job(name, b.version, needs, why))
    return out
