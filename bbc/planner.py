"""Decide, per image, whether to build and why. Pure: reads files and the engine's image
index handed in, never builds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bbc import fingerprint, prepare, state
from bbc.engine import ImageInfo
from bbc.hierarchy import Hierarchy

BUILD = "build"
UP_TO_DATE = "up-to-date"
PARENT_LABEL = "bbc.parent.id"
IMAGE_LABEL = "bbc.image"


@dataclass(frozen=True)
class Step:
    image: str
    version: str
    action: str  # BUILD | UP_TO_DATE
    reasons: tuple[str, ...]
    fingerprint: str | None  # None while a prepare step still has to produce inputs
    existing: ImageInfo | None = None  # the matching local build, when up to date
    selected: bool = True  # False: only here because a selected image needs it
    files: Mapping[str, str] = field(default_factory=dict)
    parent_fingerprint: str | None = None


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]  # topological order
    warnings: tuple[str, ...] = ()

    def __getitem__(self, image: str) -> Step:
        for step in self.steps:
            if step.image == image:
                return step
        raise KeyError(image)

    @property
    def to_build(self) -> list[Step]:
        return [s for s in self.steps if s.action == BUILD]


@dataclass(frozen=True)
class Selection:
    names: tuple[str, ...] = ()
    with_dependents: bool = False
    changed: Mapping[str, list[str]] | None = None  # from changes.changed_images, with --changed
    force: bool = False


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


def index_by_fingerprint(images: Iterable[ImageInfo]) -> dict[str, list[ImageInfo]]:
    out: dict[str, list[ImageInfo]] = {}
    for image in images:
        fp = image.labels.get(fingerprint.LABEL)
        if fp:
            out.setdefault(fp, []).append(image)
    for group in out.values():
        group.sort(key=lambda i: i.created, reverse=True)
    return out


def plan(hierarchy: Hierarchy, selection: Selection, local: Iterable[ImageInfo],
         digests: dict[str, fingerprint.ContextDigest] | None = None) -> Plan:
    """`digests` caches context digests between plans of one run (they do not depend on
    what the engine holds)."""
    digests = {} if digests is None else digests
    local = list(local)
    by_fp = index_by_fingerprint(local)
    by_tag = {tag: image for image in local for tag in image.tags}
    chosen, needed = select(hierarchy, selection)
    root = hierarchy.config.root
    steps: dict[str, Step] = {}
    warnings: list[str] = []
    for name in hierarchy.order:
        if name not in chosen and name not in needed:
            continue
        spec = hierarchy[name]
        parent_step = steps.get(spec.parent) if spec.parent else None
        parent_fp = parent_step.fingerprint if parent_step else None
        reasons: list[str] = []
        pending = prepare.pending(spec, root)
        files: dict[str, str] = {}
        fp: str | None = None
        if pending:
            reasons.append(pending)
        elif spec.parent is None or parent_fp is not None:
            ctx = digests.get(name) or digests.setdefault(name, fingerprint.digest_context(spec.path, spec.dockerfile))
            files = ctx.files
            fp = fingerprint.compute(spec, ctx, parent_fp)
        # Only builds tagged in this image's repository count: a multi-stage build leaves its
        # builder stages behind untagged, and they inherit the parent's labels (fingerprint too).
        repository = hierarchy.config.ref(name) + ":"
        ours = [i for i in by_fp.get(fp, []) if any(t.startswith(repository) for t in i.tags)] if fp else []
        existing = _match(ours, parent_step)
        if name in chosen and selection.force:
            reasons.append("forced")
        if parent_step is not None and parent_step.action == BUILD:
            reasons.append(f"parent {spec.parent} rebuilt")
        if fp is not None and existing is None:
            if ours:
                reasons.append(f"built on an older build of {spec.parent}")
            else:
                reasons.extend(_what_changed(root, name, spec, files, fp, parent_fp))
        if selection.changed and name in selection.changed:
            reasons.insert(0, "changed: " + _few(selection.changed[name]))
        action = BUILD if (existing is None or "forced" in reasons or (parent_step and parent_step.action == BUILD)) else UP_TO_DATE
        if action == UP_TO_DATE:
            reasons = [r for r in reasons if r.startswith("changed: ")] + ["up to date"]
        elif not name in chosen:
            reasons.append("needed by " + ", ".join(sorted(c for c in hierarchy.children(name) if c in chosen or c in needed)[:3]))
        if action == BUILD and fp is not None:
            tagged = by_tag.get(f"{hierarchy.config.ref(name)}:{spec.version}")
            if tagged is not None and tagged.labels.get(fingerprint.LABEL) not in (None, fp):
                warnings.append(
                    f"{name}: version {spec.version} already names a different build; "
                    f"bump it before releasing (`bbc bump {name} patch`)"
                )
        steps[name] = Step(name, spec.version, action, tuple(reasons), fp, existing if action == UP_TO_DATE else None,
                           name in chosen, files, parent_fp)
    return Plan(tuple(steps.values()), tuple(warnings))


def _match(candidates: list[ImageInfo], parent_step: Step | None) -> ImageInfo | None:
    """The build among `candidates` (this fingerprint, this repository) made on the parent
    build we would use."""
    if parent_step is None:
        return candidates[0] if candidates else None
    parent_id = parent_step.existing.id if parent_step.existing else None
    for image in candidates:
        if parent_id is not None and image.labels.get(PARENT_LABEL) == parent_id:
            return image
    return None


def _what_changed(root: Any, name: str, spec: Any, files: Mapping[str, str], fp: str, parent_fp: str | None) -> list[str]:
    before = state.read_json(state.manifest_path(root, name))
    if before is None:
        return ["not built yet"]
    out: list[str] = []
    old_files: dict[str, str] = before.get("files", {})
    touched = sorted(
        [f for f in files if old_files.get(f) != files[f]] + [f for f in old_files if f not in files]
    )
    if touched:
        out.append("files changed: " + _few(touched))
    for key, label in (("version", "version"), ("build_args", "build args"), ("labels", "labels"),
                       ("target", "target"), ("platform", "platform"), ("dockerfile", "dockerfile")):
        new = _spec_value(spec, key)
        if before.get(key) != new:
            out.append(f"{label} {before.get(key)} -> {new}" if key == "version" else f"{label} changed")
    if not out and before.get("parent") != parent_fp:
        out.append(f"parent {spec.parent} changed")
    return out or ["no local build with this fingerprint"]


def _spec_value(spec: Any, key: str) -> Any:
    value = getattr(spec, key)
    return dict(value) if isinstance(value, Mapping) else value


def manifest(spec: Any, step: Step) -> dict[str, Any]:
    """What to remember after a build, for the next plan's 'what changed'."""
    return {
        "fingerprint": step.fingerprint,
        "files": dict(step.files),
        "parent": step.parent_fingerprint,
        **{k: _spec_value(spec, k) for k in ("version", "build_args", "labels", "target", "platform", "dockerfile")},
    }


def _few(items: list[str], n: int = 3) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" (+{len(items) - n} more)" if len(items) > n else "")
