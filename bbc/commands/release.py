"""`bbc release`: build what is needed, test it, push, and only then promote.

- `X.Y.Z` is write-once: different content under an existing X.Y.Z is refused, the same
  content is a no-op.
- All or nothing: the affected images are pushed under candidate tags first; release tags
  move only when every one of them built, passed its tests and was pushed. A registry that
  fails before that leaves every release tag as it was; re-running finishes the job.
- An image whose fingerprint the registry already holds is pulled, not rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bbc import executor, fingerprint, planner, remote, report, versions
from bbc.commands.build import make_plan, run_prepares
from bbc.engine import Engine
from bbc.errors import BbcError, RegistryError
from bbc.hierarchy import Hierarchy
from bbc.planner import Plan, Selection
from bbc.registry import Registry

Gate = Callable[[str, str], None]


@dataclass(frozen=True)
class Released:
    image: str
    version: str
    status: str  # released | already released | failed | not released
    digest: str = ""
    tags: tuple[str, ...] = ()
    message: str = ""


def release(
    hierarchy: Hierarchy,
    engine: Engine,
    sel: Selection,
    *,
    jobs: int = 1,
    gate: Gate | None = None,
    fmt: str = "table",
    registry: Registry | None = None,
) -> int:
    events = report.make_events(json_mode=fmt == "json")
    reg, repo_of = remote.registry_for(hierarchy, registry)
    try:
        chosen, needed = planner.select(hierarchy, sel)
        wanted = hierarchy.sort(chosen | needed)
        run_prepares(hierarchy, set(wanted), events)
        digests: dict[str, fingerprint.ContextDigest] = {}
        plan = remote.pull_what_registry_has(hierarchy, engine, sel, reg, repo_of, events,
                                             make_plan(hierarchy, engine, sel, digests), digests)
        already = _check_write_once(hierarchy, plan, reg, repo_of)
        results = executor.Executor(engine, hierarchy, events, jobs=jobs).run(plan)
        failed = [r for r in results if r.status not in executor.OK]
        if failed:
            events.message(f"release stopped: {', '.join(r.image for r in failed)} did not build; nothing was pushed")
            return _finish([Released(r.image, r.version, "not released", message=r.message or r.status)
                            for r in results], fmt, 1)
        ids = {r.image: r.image_id for r in results}
        todo = [name for name in wanted if name not in already]
        if gate is not None:
            for name in todo:
                events.message(f"[{name}] testing before release")
                try:
                    gate(name, ids[name])
                except BbcError as exc:
                    events.message(f"[{name}] tests FAILED: {exc.message}")
                    events.message("release stopped: nothing was pushed, no release tag moved")
                    return _finish([Released(n, hierarchy[n].version, "not released",
                                             message=exc.message if n == name else "release stopped")
                                    for n in wanted], fmt, 1)
        candidates = _push_candidates(hierarchy, engine, plan, todo, events)
        out = _promote(hierarchy, reg, repo_of, wanted, already, candidates, events)
    finally:
        report.close(events)
    return _finish(out, fmt, 0)


def _check_write_once(hierarchy: Hierarchy, plan: Plan, reg: Registry, repo_of: Callable[[str], str]) -> set[str]:
    """Images whose X.Y.Z already holds this exact build; refuse any holding other content."""
    already: set[str] = set()
    conflicts = []
    for step in plan.steps:
        labels = reg.labels_if_present(repo_of(step.image), step.version)
        if labels is None:
            continue
        there = labels.get(fingerprint.LABEL, "")
        if step.fingerprint is not None and there == step.fingerprint:
            already.add(step.image)
            continue
        conflicts.append(
            f"{hierarchy.config.where('images', step.image, 'version')}: {step.version} is already released "
            f"in {hierarchy.config.ref(step.image)} with different content (fingerprint {there[:12] or 'unknown'} "
            f"there, {(step.fingerprint or 'pending')[:12]} here); release tags are write-once: "
            f"`bbc bump {step.image} patch`"
        )
    if conflicts:
        raise BbcError("\n".join(conflicts), tip="nothing was built, pushed or tagged")
    return already


def _push_candidates(hierarchy: Hierarchy, engine: Engine, plan: Plan, todo: list[str],
                     events: report.Events) -> dict[str, str]:
    """Push every image to release under its candidate tag; no release tag moves here."""
    out = {}
    for name in todo:
        step = plan[name]
        repository = hierarchy.config.ref(name)
        tag = remote.candidate_tag(step.fingerprint or "")
        info = engine.inspect(f"{repository}:{step.version}")
        if info is None:
            raise BbcError(f"{name}: no local build tagged {repository}:{step.version} to push")
        engine.tag(info.id, repository, tag)
        try:
            digest = engine.push(repository, tag, lambda line: events.line(name, line))
        except BbcError as exc:
            raise RegistryError(
                f"{name}: pushing {repository}:{tag} failed: {exc.message}",
                tip="no release tag was moved; fix the registry and run `bbc release` again to finish",
            ) from None
        engine.remove_image(f"{repository}:{tag}")  # only the local name; the registry keeps it
        events.message(f"[{name}] pushed candidate {tag} ({digest[:19]})")
        out[name] = tag
    return out


def _promote(hierarchy: Hierarchy, reg: Registry, repo_of: Callable[[str], str], wanted: list[str],
             already: set[str], candidates: dict[str, str], events: report.Events) -> list[Released]:
    """Move release tags: every X.Y.Z first, then the floating tags of each line."""
    manifests = {}
    for name in candidates:
        manifest = reg.manifest(repo_of(name), candidates[name])
        if manifest is None:
            raise RegistryError(f"{name}: candidate {candidates[name]} vanished from the registry",
                                tip="run `bbc release` again")
        manifests[name] = manifest
    for name, manifest in manifests.items():
        reg.put_tag(repo_of(name), manifest, hierarchy[name].version)
    out = []
    for name in wanted:
        version = hierarchy[name].version
        repository = repo_of(name)
        manifest = manifests.get(name) or reg.manifest(repository, version)
        if manifest is None:
            raise RegistryError(f"{name}: {version} not found after promotion")
        existing = [t for t in reg.tags(repository) if t != version]
        moved = []
        for tag in versions.floating_tags(version, existing):
            current = reg.manifest(repository, tag)
            if current is None or current.digest != manifest.digest:
                reg.put_tag(repository, manifest, tag)
            moved.append(tag)
        status = "already released" if name in already else "released"
        events.message(f"[{name}] {status} {version} ({manifest.digest[:19]}) tags: {', '.join([version, *moved])}")
        out.append(Released(name, version, status, manifest.digest, (version, *moved)))
    return out


def _finish(results: list[Released], fmt: str, code: int) -> int:
    if fmt == "json":
        report.dump_json([{"image": r.image, "version": r.version, "result": r.status, "digest": r.digest,
                           "tags": list(r.tags), "message": r.message} for r in results])
    else:
        report.table(("image", "version", "result", "digest", "tags"),
                     [(r.image, r.version, r.status, r.digest[:19] or "-", ", ".join(r.tags) or "-") for r in results])
    return code
