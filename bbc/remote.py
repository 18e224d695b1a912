"""The registry side of builds and releases: where an image lives, and pulling a build the
registry already holds instead of rebuilding it (a fresh CI machine does not rebuild the world)."""

from __future__ import annotations

from collections.abc import Callable

from bbc import fingerprint, planner, report
from bbc.engine import Engine
from bbc.errors import BbcError, RegistryError
from bbc.hierarchy import Hierarchy
from bbc.planner import Plan, Selection
from bbc.registry import Registry, split_image_name


def candidate_tag(fp: str) -> str:
    return f"candidate-{fp[:16]}"


def registry_for(hierarchy: Hierarchy, registry: Registry | None = None) -> tuple[Registry, Callable[[str], str]]:
    """A client for the hierarchy's registry, and image name -> repository path on it."""
    host, _ = split_image_name(hierarchy.config.ref(hierarchy.order[0]))
    client = registry or Registry(host)
    return client, lambda name: split_image_name(hierarchy.config.ref(name))[1]


def pull_what_registry_has(hierarchy: Hierarchy, engine: Engine, sel: Selection, reg: Registry,
                            repo_of: Callable[[str], str], events: report.Events, plan: Plan,
                            digests: dict[str, fingerprint.ContextDigest]) -> Plan:
    """Pull (instead of building) every image of `plan` whose exact build the registry already
    holds; return the plan made after the pulls."""
    for name in [s.image for s in plan.steps]:
        step = plan[name]  # re-read: a pulled parent may have made this image current
        if step.action != planner.BUILD or step.fingerprint is None:
            continue
        repository = repo_of(name)
        for ref in (step.version, candidate_tag(step.fingerprint)):
            try:
                labels = reg.labels_if_present(repository, ref) or {}
            except RegistryError:
                continue  # unreachable: build it
            if labels.get(fingerprint.LABEL) == step.fingerprint:
                events.message(f"[{name}] pulling {ref}: the registry already holds this exact build")
                try:
                    engine.pull(f"{reg.host}/{repository}", ref)
                except BbcError as exc:
                    events.message(f"[{name}] pull failed ({exc.message}); building instead")
                    break
                plan = planner.plan(hierarchy, sel, engine.images_with_label(fingerprint.LABEL), digests)
                break
    return plan
