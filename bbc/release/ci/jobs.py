"""The jobs of a CI pipeline: the images a fresh runner would have to build, parents first, a
job per platform of a multi-platform image (`static@arm64`), each on a runner of its
platform (runners.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bbc.adapters.engine import Engine
from bbc.model import platforms
from bbc.model.hierarchy import Hierarchy
from bbc.plan import bases, planner, remote, steps
from bbc.plan.kinds import Action
from bbc.plan.steps import Scope, Selection
from bbc.release.ci import runners


@dataclass(frozen=True)
class Job:
    image: str  # an image, or one platform's build of a multi-platform image (`static@arm64`)
    version: str
    needs: tuple[str, ...]  # images (units) of this pipeline it builds on
    why: str
    platform: str | None = None  # what it builds for (None: the image names no platform)
    runs_on: tuple[str, ...] = runners.GITHUB_DEFAULT  # GitHub `runs-on` labels
    tags: tuple[str, ...] = ()  # GitLab runner tags


def jobs(hierarchy: Hierarchy, sel: Selection, engine: Engine | None = None) -> list[Job]:
    """The builds a fresh runner would have to make (parents first): not held by the registry
    under their version or candidate tag with this exact fingerprint."""
    reg, repo_of = remote.registry_for(hierarchy)
    scope = Scope(pull=remote.holds(reg, repo_of), bases=bases.Resolver(engine, hierarchy.config.mirrors).digest)
    hierarchy = platforms.expand(hierarchy)  # a job per platform: each on a runner of its own
    plan = planner.plan(hierarchy, sel.in_units(hierarchy), steps.Index.of([]), scope)
    building = {b.image: b for b in plan.builds if b.action == Action.BUILD}
    ci = hierarchy.config.ci
    out = []
    for name in hierarchy.sort(set(building)):
        spec = hierarchy[name]
        parent = spec.parent
        b = building[name]
        needs = tuple(n for n in hierarchy.needs(name) if n in building)  # the parent and used images (issue 21)
        why = (f"parent {parent} is built in this pipeline" if parent in needs
               else f"{', '.join(needs)} built in this pipeline" if needs
               else "the registry holds no build with its fingerprint")
        out.append(Job(name, b.version, needs, why, spec.platform,
                       runners.github(ci, spec.platform), runners.gitlab(ci, spec.platform)))
    return out
