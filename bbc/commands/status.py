"""`bbc status`: per image its version, fingerprint, and whether the local build and the
registry are current; `stale` means built on an older build of its parent or of an image it uses. Local state
comes from the plan's one engine query."""

from __future__ import annotations

from collections.abc import Sequence

from bbc.model import labels, platforms, refs
from bbc.run import pipeline, report
from bbc.adapters.engine import Engine
from bbc.errors import RegistryError
from bbc.model.hierarchy import Hierarchy
from bbc.plan.kinds import Action
from bbc.plan.steps import Build, Index, Selection
from bbc.adapters.registry.protocol import RegistryAPI
from bbc.plan.remote import registry_for


def local_state(hierarchy: Hierarchy, index: Index, step: Build, parent_state: str | None) -> str:
    """current | missing | stale (built on an older build of its parent or of an image it uses,
    or on such an image) | out of date."""
    if step.action == Action.UP_TO_DATE:
        return "current"
    config = hierarchy.config
    tagged = index.by_tag.get(refs.ref(config.ref(step.image), step.version, step.image))
    if tagged is None:
        return "missing"
    if parent_state == "stale":
        return "stale"

    def now(name: str) -> str | None:
        found = index.by_tag.get(refs.ref(config.ref(name), hierarchy[name].version, name))
        return found.id if found is not None else None

    parent = hierarchy.parent(step.image)
    if parent is not None and (now(parent) is None or tagged.labels.get(labels.PARENT_ID) != now(parent)):
        return "stale"
    had = labels.used_builds(tagged.labels)
    if any(now(u.image) is None or had.get(u.key, ("", ""))[1] != now(u.image) for u in hierarchy[step.image].uses):
        return "stale"
    return "out of date"


def status(hierarchy: Hierarchy, engine: Engine, *, fmt: str = "table", offline: bool = False,
           registry: RegistryAPI | None = None, pool: Sequence[tuple[str, Engine]] = ()) -> int:
    """With a pool (`engines:`), a build on any engine counts, and an engine column says which
    engine holds each image's current build."""
    hierarchy = platforms.expand(hierarchy)  # a row per platform of a multi-platform image
    plan = pipeline.make_plan(hierarchy, engine, Selection(), others=[e for _, e in pool[1:]])
    reg, repo_of = registry_for(hierarchy, registry)
    rows = []
    states: dict[str, str] = {}
    for step in plan.builds:
        below = [states.get(n) for n in hierarchy.needs(step.image)]
        states[step.image] = local_state(hierarchy, plan.index, step, "stale" if "stale" in below else None)
        remote = "not checked" if offline else _remote_state(reg, repo_of(step.image), step,
                                                             hierarchy[step.image].platform)
        rows.append({
            "image": step.image,
            "version": step.version,
            "fingerprint": step.fingerprint,
            "local": states[step.image],
            "registry": remote,
            "why": [r for r in step.reasons if r != "up to date"],
            **({"engine": _holder(pool, step)} if pool else {}),
        })
    if fmt == "json":
        report.dump_json(rows)
    else:
        report.table(("image", "version", "fingerprint", "local", "registry") + (("engine",) if pool else ()),
                     [(str(r["image"]), str(r["version"]), str(r["fingerprint"] or "-")[:12], str(r["local"]),
                       str(r["registry"])) + ((str(r["engine"] or "-"),) if pool else ()) for r in rows])
    return 0


def _holder(pool: Sequence[tuple[str, Engine]], step: Build) -> str:
    """The engine holding the current build of `step` ("" when none does)."""
    if step.existing is None:
        return ""
    return next((name for name, e in pool if e.inspect(step.existing.id) is not None), "")


def _remote_state(reg: RegistryAPI, repository: str, step: Build, platform: str | None) -> str:
    try:
        # a platform's build: its entry in the index X.Y.Z names
        found = reg.labels_if_present(repository, refs.version_tag(step.version),
                                      platform if platforms.is_unit(step.image) else None)
    except RegistryError:
        return "unreachable"
    if found is None:
        return "not released"
    there = found.get(labels.FINGERPRINT)
    if step.fingerprint is not None and there == step.fingerprint:
        return "released"
    return "differs (bump the version)"
