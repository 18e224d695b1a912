"""One plan for every command: a DAG of typed steps, each saying what it will do and why.

    prepare ─► build ─► test-layer ─► test-image ─► run-test ─► (tag) ─► push-candidate ─► promote

`bbc plan` prints it; `build`, `test` and `release` choose the kinds of step it holds (`Scope`)
and one executor (bbc/executor.py) runs any plan. Pure: reads files, the engine's image index
and what the caller says the registry holds; never builds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbc.plan import bases, fingerprint, prepare, testplan
from bbc.model import labels, refs
from bbc.adapters import state
from bbc.errors import BbcError
from bbc.adapters.engine import ImageInfo
from bbc.plan.kinds import Action
from bbc.plan.steps import Build, Index, Plan, Prepare, Promote, Push, RunTest, Scope, Selection, Step, Tag
from bbc.model.hierarchy import Hierarchy


def select(hierarchy: Hierarchy, selection: Selection) -> tuple[set[str], set[str]]:
    """(selected images, images needed because something selected builds on them)."""
    if selection.names:
        chosen = set(hierarchy.check_names(selection.names))
        if selection.with_dependents:
            chosen = hierarchy.closure_down(chosen)
    else:
        chosen = set(hierarchy.order)
    if selection.changed is not None:
        chosen &= hierarchy.closure_down(selection.changed)
    needed = hierarchy.closure_up(chosen) - chosen
    return chosen, needed


def plan(hierarchy: Hierarchy, selection: Selection, index: Index, scope: Scope = Scope(),
         digests: dict[tuple[str, str], fingerprint.ContextDigest] | None = None,
         selected: tuple[set[str], set[str]] | None = None) -> Plan:
    """`digests` caches context digests by (folder, dockerfile) within one run; `selected` is
    `select(hierarchy, selection)` when the caller has it already."""
    digests = {} if digests is None else digests
    chosen, needed = selected if selected is not None else select(hierarchy, selection)
    steps: list[Step] = []
    builds: dict[str, Build] = {}
    tagged_by: dict[str, str] = {}  # image -> id of the step after which its children may start
    warnings: list[str] = []
    remembered = _remembered(hierarchy.config.root)
    hashes = fingerprint.file_hashes(hierarchy.config.root)  # asked once: Path hashing per image adds up
    for name in hierarchy.order:
        if name not in chosen and name not in needed:
            continue
        spec = hierarchy[name]
        prep = _prepare_step(hierarchy, name, name in chosen)
        if prep is not None:
            steps.append(prep)
        build = _build_step(hierarchy, name, selection, chosen, needed, index, builds, digests, scope, warnings,
                            prep, tagged_by, remembered, hashes)
        gated = scope.gate and build.action != Action.UP_TO_DATE and testplan.testable(hierarchy, name)
        if gated:
            build = _replace(build, gated=True)
        builds[name] = build
        steps.append(build)
        tagged_by[name] = build.id
        if gated:
            test_steps = testplan.steps(hierarchy, name, index, builds, scope, digests, selected=name in chosen)
            steps.extend(test_steps)
            tag = Tag(image=name, version=spec.version, action=Action.RUN, reasons=("after its tests pass",),
                      needs=(test_steps[-1].id,), selected=name in chosen)
            steps.append(tag)
            tagged_by[name] = tag.id
    if scope.test and not scope.gate:
        # a release tests everything it pushes; `bbc test` the images asked for
        tested = (chosen | needed) - scope.released if scope.release else chosen
        for name in hierarchy.sort(tested):
            if testplan.testable(hierarchy, name):
                steps.extend(testplan.steps(hierarchy, name, index, builds, scope, digests,
                                            selected=name in chosen))
    if scope.release:
        steps.extend(_release_steps(hierarchy, chosen | needed, builds, steps, scope))
    hashes.save()
    return Plan(tuple(_ordered(steps)), tuple(warnings), index)


def _replace(step: Build, **changes: Any) -> Build:
    from dataclasses import replace

    return replace(step, **changes)


def _prepare_step(hierarchy: Hierarchy, name: str, selected: bool) -> Prepare | None:
    spec = hierarchy[name]
    why = prepare.pending(spec, hierarchy.config.root)
    if why is None:
        return None
    command = spec.prepare.command if spec.prepare else ""
    return Prepare(image=name, version=spec.version, action=Action.RUN, selected=selected,
                   reasons=(why, f"runs {command if isinstance(command, str) else ' '.join(command)}"))


def _build_step(hierarchy: Hierarchy, name: str, selection: Selection, chosen: set[str], needed: set[str],
                index: Index, builds: dict[str, Build], digests: dict[tuple[str, str], fingerprint.ContextDigest],
                scope: Scope, warnings: list[str], prep: Prepare | None, tagged_by: dict[str, str],
                remembered: set[str], hashes: fingerprint.FileHashes) -> Build:
    spec = hierarchy[name]
    config = hierarchy.config
    parent_step = builds.get(spec.parent) if spec.parent else None
    parent_fp = parent_step.fingerprint if parent_step else None
    reasons: list[str] = list(prep.reasons[:1]) if prep else []
    files: Mapping[str, str] = {}
    file_list: tuple[str, ...] | None = None
    fp: str | None = None
    external: tuple[tuple[bases.Found, str], ...] = ()
    if prep is None and (spec.parent is None or parent_fp is not None):
        key = (str(spec.path), spec.dockerfile)
        ctx = digests.get(key) or digests.setdefault(key, fingerprint.digest_context(
            spec.path, spec.dockerfile, hashes))
        files, file_list = ctx.files, ctx.listed
        found_bases = bases.of(spec, config.root, ctx.files.get(spec.dockerfile), hashes)
        external = tuple((found, (scope.bases or bases.pinned_only)(found)) for found in found_bases)
        fp = fingerprint.compute(spec, ctx, parent_fp, bases=[(found.ref, digest) for found, digest in external])
    # Only builds tagged in this image's repository count: a multi-stage build leaves its
    # builder stages behind untagged, and they inherit the parent's labels (fingerprint too).
    repository = config.ref(name) + ":"
    ours = [i for i in index.by_fp.get(fp, []) if any(t.startswith(repository) for t in i.tags)] if fp else []
    existing = _match(ours, parent_step)
    forced = name in chosen and selection.force
    if forced:
        reasons.append("forced")
    parent_moves = parent_step is not None and parent_step.action != Action.UP_TO_DATE
    if parent_moves:
        reasons.append(f"parent {spec.parent} rebuilt")
    if fp is not None and existing is None:
        if ours:
            reasons.append(f"built on an older build of {spec.parent}")
        else:
            reasons.extend(_what_changed(config.root, name, spec, files, parent_fp, remembered, external))
    if selection.changed and name in selection.changed:
        reasons.insert(0, "changed: " + _few(selection.changed[name]))
    action = Action.BUILD if (existing is None or forced or parent_moves) else Action.UP_TO_DATE
    pull_ref = ""
    if action == Action.UP_TO_DATE:
        reasons = [r for r in reasons if r.startswith("changed: ")] + ["up to date"]
    else:
        if name not in chosen:
            reasons.append("needed by " + ", ".join(
                sorted(c for c in hierarchy.children(name) if c in chosen or c in needed)[:3]))
        if fp is not None:
            tagged = index.by_tag.get(refs.ref(config.ref(name), spec.version, name))
            if tagged is not None and tagged.labels.get(labels.FINGERPRINT) not in (None, fp):
                warnings.append(f"{name}: version {spec.version} already names a different build; "
                                f"bump it before releasing (`bbc bump {name} patch`)")
            if scope.pull is not None and not forced:
                pull_ref = scope.pull(name, spec.version, fp) or ""
                if pull_ref:
                    action = Action.PULL
                    reasons.append(f"the registry holds this exact build ({pull_ref})")
    needs = tuple(x for x in ((prep.id if prep else None), tagged_by.get(spec.parent) if spec.parent else None) if x)
    return Build(image=name, version=spec.version, action=action, reasons=tuple(reasons), needs=needs,
                 selected=name in chosen, fingerprint=fp, existing=existing if action == Action.UP_TO_DATE else None,
                 files=files, file_list=file_list, parent_fingerprint=parent_fp, pull_ref=pull_ref, bases=external)


def _release_steps(hierarchy: Hierarchy, wanted: set[str], builds: dict[str, Build], steps: list[Step],
                   scope: Scope) -> list[Step]:
    tested = {s.image: s.id for s in steps if isinstance(s, RunTest)}
    out: list[Step] = []
    for name in hierarchy.sort(wanted):
        build = builds[name]
        if name in scope.released:
            continue
        needs = (build.id, *((tested[name],) if name in tested else ()))
        out.append(Push(image=name, version=build.version, action=Action.RUN, needs=needs, selected=build.selected,
                        fingerprint=build.fingerprint or "",
                        reasons=(f"to {refs.candidate_tag(build.fingerprint or '')}",)))
    if not scope.promote:
        return out
    names = tuple(hierarchy.sort(wanted))
    out.append(Promote(image="*", version="", action=Action.RUN, needs=tuple(s.id for s in out) or
                       tuple(builds[n].id for n in names), images=names, released=scope.released,
                       reasons=("every candidate pushed: X.Y.Z (write-once), then X.Y, X, latest",)))
    return out


def _ordered(steps: list[Step]) -> list[Step]:
    """Every step after those it needs, otherwise in the order planned."""
    ids = {s.id for s in steps}
    done: set[str] = set()
    out: list[Step] = []
    pending = list(steps)
    while pending:
        rest = []
        for step in pending:
            if all(n in done or n not in ids for n in step.needs):
                out.append(step)
                done.add(step.id)
            else:
                rest.append(step)
        if len(rest) == len(pending):  # cannot happen: needs only point backwards
            out.extend(rest)
            break
        pending = rest
    return out


def _match(candidates: list[ImageInfo], parent_step: Build | None) -> ImageInfo | None:
    """The build among `candidates` (this fingerprint, this repository) made on the parent
    build we would use."""
    if parent_step is None:
        return candidates[0] if candidates else None
    parent_id = parent_step.existing.id if parent_step.existing else None
    for image in candidates:
        if parent_id is not None and image.labels.get(labels.PARENT_ID) == parent_id:
            return image
    return None


def _what_changed(root: Any, name: str, spec: Any, files: Mapping[str, str], parent_fp: str | None,
                  remembered: set[str], external: tuple[tuple[bases.Found, str], ...] = ()) -> list[str]:
    before = state.read_json(state.manifest_path(root, name)) if f"{name}.json" in remembered else None
    if before is None:
        return ["not built yet"]
    out: list[str] = []
    old_files: dict[str, str] = before.get("files", {})
    touched = sorted([f for f in files if old_files.get(f) != files[f]] + [f for f in old_files if f not in files])
    if touched:
        out.append("files changed: " + _few(touched))
    for key, label in (("version", "version"), ("build_args", "build args"), ("labels", "labels"),
                       ("target", "target"), ("platform", "platform"), ("dockerfile", "dockerfile")):
        new = _spec_value(spec, key)
        if before.get(key) != new:
            out.append(f"{label} {before.get(key)} -> {new}" if key == "version" else f"{label} changed")
    old_bases: dict[str, str] = before.get("bases") or {}
    for found, digest in external:
        old = old_bases.get(found.ref)
        if old is not None and old != digest:
            out.append(f"base {found.ref} moved ({old[:19]}… -> {digest[:19]}…)")
    if not out and before.get("parent") != parent_fp:
        out.append(f"parent {spec.parent} changed")
    return out or ["no local build with this fingerprint"]


def _remembered(root: Any) -> set[str]:
    """The build manifests in .bbc/state, listed once a plan instead of one failed open() each."""
    try:
        return set(os.listdir(state.manifest_path(root, "x").parent))
    except OSError:
        return set()


def _spec_value(spec: Any, key: str) -> Any:
    value = getattr(spec, key)
    return dict(value) if isinstance(value, Mapping) else value


def manifest(spec: Any, step: Build) -> dict[str, Any]:
    """What to remember after a build, for the next plan's 'what changed'."""
    return {
        "fingerprint": step.fingerprint,
        "files": dict(step.files),
        "parent": step.parent_fingerprint,
        "bases": {found.ref: digest for found, digest in step.bases},
        **{k: _spec_value(spec, k) for k in ("version", "build_args", "labels", "target", "platform", "dockerfile")},
    }


def few(items: list[str], n: int = 3) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" (+{len(items) - n} more)" if len(items) > n else "")


_few = few
