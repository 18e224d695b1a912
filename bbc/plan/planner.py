"""One plan for every command: a DAG of typed steps, each saying what it will do and why.

    prepare ─► build ─► test-layer ─► test-image ─► run-test ─► (tag) ─► push-candidate ─► promote

`bbc plan` prints it; `build`, `test` and `release` choose the kinds of step it holds (`Scope`)
and one executor (bbc/run/executor.py) runs any plan. Pure: reads files, the engine's image index
and what the caller says the registry holds; never builds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bbc.adapters import state
from bbc.adapters.engine import ImageInfo
from bbc.config import ImageSpec
from bbc.model import labels, refs
from bbc.model.hierarchy import Hierarchy
from bbc.plan import bases, fingerprint, prepare, testplan
from bbc.plan.context import Digests, PlanContext
from bbc.plan.kinds import Action
from bbc.plan.steps import Build, Index, Plan, Prepare, Promote, Push, RunTest, Scope, Selection, Step, Tag


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
         digests: Digests | None = None, selected: tuple[set[str], set[str]] | None = None) -> Plan:
    """`digests` caches context digests by (folder, dockerfile) within one run; `selected` is
    `select(hierarchy, selection)` when the caller has it already."""
    chosen, needed = selected if selected is not None else select(hierarchy, selection)
    root = hierarchy.config.root
    p = PlanContext(hierarchy, selection, index, scope, chosen, needed, {} if digests is None else digests,
                    fingerprint.file_hashes(root), _remembered(root))
    steps: list[Step] = []
    for name in hierarchy.order:
        if name in chosen or name in needed:
            steps.extend(_image_steps(p, name))
    if scope.test and not scope.gate:
        # a release tests everything it pushes; `bbc test` the images asked for
        tested = (chosen | needed) - scope.released if scope.release else chosen
        for name in hierarchy.sort(tested):
            if testplan.testable(hierarchy, name):
                steps.extend(testplan.steps(p, name))
    if scope.release:
        steps.extend(_release_steps(hierarchy, chosen | needed, p.builds, steps, scope))
    p.hashes.save()
    return Plan(tuple(_ordered(steps)), tuple(p.warnings), index)


def _image_steps(p: PlanContext, name: str) -> list[Step]:
    """An image's prepare step (when pending) and build; with a gate, its tests and the Tag
    step its release tags wait for."""
    prep = _prepare_step(p.hierarchy, name, name in p.chosen)
    build = _build_step(p, name, prep)
    gated = p.scope.gate and build.action != Action.UP_TO_DATE and testplan.testable(p.hierarchy, name)
    if gated:
        build = replace(build, gated=True)
    p.builds[name] = build
    p.tagged_by[name] = build.id
    out: list[Step] = [*([prep] if prep is not None else []), build]
    if gated:
        out.extend(testplan.steps(p, name))
        out.append(Tag(image=name, version=build.version, action=Action.RUN, reasons=("after its tests pass",),
                       needs=(out[-1].id,), selected=name in p.chosen))
        p.tagged_by[name] = out[-1].id
    return out


def _prepare_step(hierarchy: Hierarchy, name: str, selected: bool) -> Prepare | None:
    spec = hierarchy[name]
    why = prepare.pending(spec, hierarchy.config.root)
    if why is None:
        return None
    command = spec.prepare.command if spec.prepare else ""
    return Prepare(image=name, version=spec.version, action=Action.RUN, selected=selected,
                   reasons=(why, f"runs {command if isinstance(command, str) else ' '.join(command)}"))


@dataclass(frozen=True)
class _Inputs:
    """What an image's fingerprint is made of (none while a prepare step, or the parent's or a
    used image's fingerprint, is still to come)."""

    fingerprint: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)  # context entries, for "what changed"
    listed: tuple[str, ...] | None = None
    external: tuple[tuple[bases.Found, str], ...] = ()
    used: tuple[tuple[str, str], ...] = ()  # (key, fingerprint) of each used image's build


def _inputs(p: PlanContext, spec: ImageSpec, parent_fp: str | None, used: tuple[tuple[str, str], ...]) -> _Inputs:
    digest = p.digest(spec)
    external = p.external(spec, digest, spec.parent_arg if spec.parent else None)
    fp = fingerprint.compute(spec, digest, parent_fp, bases=[(found.ref, d) for found, d in external], uses=used)
    return _Inputs(fp, digest.files, digest.listed, external, used)


def _build_step(p: PlanContext, name: str, prep: Prepare | None) -> Build:
    spec = p.hierarchy[name]
    parent = p.builds.get(spec.parent) if spec.parent else None
    parent_fp = parent.fingerprint if parent else None
    used = {u.key: p.builds[u.image] for u in spec.uses}
    used_fps = tuple((key, b.fingerprint or "") for key, b in used.items())
    ready = prep is None and (spec.parent is None or parent_fp is not None) and all(fp for _, fp in used_fps)
    inputs = _inputs(p, spec, parent_fp, used_fps) if ready else _Inputs()
    # Only builds tagged in this image's repository count: a multi-stage build leaves its
    # builder stages behind untagged, and they inherit the parent's labels (fingerprint too).
    repository = p.hierarchy.config.ref(name) + ":"
    ours = [i for i in p.index.by_fp.get(inputs.fingerprint, []) if any(t.startswith(repository) for t in i.tags)
            ] if inputs.fingerprint else []
    existing = _match(ours, parent, used)
    forced = name in p.chosen and p.selection.force
    parent_moves = parent is not None and parent.action != Action.UP_TO_DATE
    used_moves = list(dict.fromkeys(b.image for b in used.values() if b.action != Action.UP_TO_DATE))
    reasons = [*(prep.reasons[:1] if prep else ()), *(["forced"] if forced else []),
               *([f"parent {spec.parent} rebuilt"] if parent_moves else []),
               *(f"used image {u} rebuilt" for u in used_moves)]
    if inputs.fingerprint is not None and existing is None:
        reasons += [r for r in (_older(spec, ours[0], parent, used) if ours else
                                _what_changed(p, name, spec, inputs, parent_fp))
                    if r.removesuffix(" changed") not in (f"used image {u}" for u in used_moves)]
    if p.selection.changed and name in p.selection.changed:
        reasons.insert(0, "changed: " + _few(p.selection.changed[name]))
    action, pull_ref = Action.UP_TO_DATE, ""
    if existing is None or forced or parent_moves or used_moves:
        action, pull_ref = _to_build(p, name, inputs.fingerprint, forced, reasons)
    else:
        reasons = [r for r in reasons if r.startswith("changed: ")] + ["up to date"]
    after = (prep.id if prep else None, *(p.tagged_by.get(n) for n in p.hierarchy.needs(name)))
    return Build(image=name, version=spec.version, action=action, reasons=tuple(reasons),
                 needs=tuple(dict.fromkeys(x for x in after if x)), selected=name in p.chosen,
                 fingerprint=inputs.fingerprint, existing=existing if action == Action.UP_TO_DATE else None,
                 files=inputs.files, file_list=inputs.listed, parent_fingerprint=parent_fp, pull_ref=pull_ref,
                 bases=inputs.external, used=used_fps)


def _to_build(p: PlanContext, name: str, fp: str | None, forced: bool, reasons: list[str]) -> tuple[Action, str]:
    """An image to build: who needs it, a warning when its version names another build, and
    the registry tag to pull it from instead when the registry holds this exact build."""
    spec = p.hierarchy[name]
    if name not in p.chosen:
        reasons.append("needed by " + ", ".join(
            sorted(c for c in p.hierarchy.dependents(name) if c in p.chosen or c in p.needed)[:3]))
    if fp is None:
        return Action.BUILD, ""
    tagged = p.index.by_tag.get(refs.ref(p.hierarchy.config.ref(name), spec.version, name))
    if tagged is not None and tagged.labels.get(labels.FINGERPRINT) not in (None, fp):
        p.warnings.append(f"{name}: version {spec.version} already names a different build; "
                          f"bump it before releasing (`bbc bump {name} patch`)")
    pull_ref = (p.scope.pull(name, spec.version, fp) or "") if p.scope.pull is not None and not forced else ""
    if not pull_ref:
        return Action.BUILD, ""
    reasons.append(f"the registry holds this exact build ({pull_ref})")
    return Action.PULL, pull_ref


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


def _match(candidates: list[ImageInfo], parent_step: Build | None, used: Mapping[str, Build]) -> ImageInfo | None:
    """The build among `candidates` (this fingerprint, this repository) made on the parent
    build we would use, with the builds of the used images we would pass."""
    parent_id = parent_step.existing.id if parent_step is not None and parent_step.existing else None
    if parent_step is not None and parent_id is None:
        return None
    wanted = {key: b.existing.id if b.existing else None for key, b in used.items()}
    if None in wanted.values():
        return None
    for image in candidates:
        if parent_id is not None and image.labels.get(labels.PARENT_ID) != parent_id:
            continue
        if {k: i for k, (_, i) in labels.used_builds(image.labels).items()} == wanted:
            return image
    return None


def _older(spec: ImageSpec, built: ImageInfo, parent: Build | None, used: Mapping[str, Build]) -> list[str]:
    """Why a build of this fingerprint does not count: which build it was made on or with."""
    out = []
    if parent is not None and parent.existing and built.labels.get(labels.PARENT_ID) != parent.existing.id:
        out.append(f"built on an older build of {spec.parent}")
    had = labels.used_builds(built.labels)
    out += [f"built with an older build of {b.image}" for key, b in used.items()
            if b.existing and had.get(key, ("", ""))[1] != b.existing.id]
    # with the parent to be built, which build of it this one will find is not known yet
    return out or ([f"built on an older build of {spec.parent}"] if parent is None or parent.existing else [])


def _what_changed(p: PlanContext, name: str, spec: ImageSpec, inputs: _Inputs, parent_fp: str | None) -> list[str]:
    """Why an image with no build of this fingerprint is built: what differs from its last build."""
    files = inputs.files
    before = state.read_json(state.manifest_path(p.root, name)) if f"{name}.json" in p.remembered else None
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
    for found, digest in inputs.external:
        old = old_bases.get(found.ref)
        if old is not None and old != digest:
            out.append(f"base {found.ref} moved ({old[:19]}… -> {digest[:19]}…)")
    if not out and before.get("parent") != parent_fp:
        out.append(f"parent {spec.parent} changed")
    old_uses: dict[str, str] = before.get("uses") or {}
    if not out:
        out += [f"used image {u.image} changed" for u in spec.uses if old_uses.get(u.key) != dict(inputs.used).get(u.key)]
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
        "uses": dict(step.used),
        **{k: _spec_value(spec, k) for k in ("version", "build_args", "labels", "target", "platform", "dockerfile")},
    }


def few(items: list[str], n: int = 3) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" (+{len(items) - n} more)" if len(items) > n else "")


_few = few
