"""One image as bbc init writes it, from its draft (names.py), its Dockerfile and what the build
files say: where it is built (the build file's context), its version label, the stage it
ships, its parent (link.py), what else it reads (uses.py) and the build args to pass."""

from __future__ import annotations

import posixpath
from bbc.model import dockerfile
from bbc.upkeep.adopt import link as link_mod
from bbc.upkeep.adopt import sources, stages, uses
from bbc.upkeep.adopt.link import Known, Parent
from bbc.upkeep.adopt.names import Draft
from bbc.upkeep.adopt.records import UNKNOWN, Build, From, Image


def _version(file: str, text: str) -> tuple[str, str, tuple[str, ...]]:
    label = stages.version_label(text)
    if label is None:
        return "0.1.0", "", ()
    version, exact = stages.semantic(label[0])
    note = () if exact else (f"? the version label at {file}:{label[1]} reads {label[0]!r}: written as {version}",)
    return version, f"LABEL at {file}:{label[1]}", note


def _placement(draft: Draft, build: Build | None) -> tuple[str, str, str | None, tuple[str, ...]]:
    """(path, dockerfile, test layer) relative to the build context the build files give, else
    to the Dockerfile's folder."""
    folder = draft.folder
    layer = draft.test_layer
    if build is None or build.context == folder:
        return folder, draft.dockerfile, layer and posixpath.basename(layer), ()
    context = build.context
    inside = context == "." or draft.file.startswith(context + "/")
    if not inside or (layer is not None and not (context == "." or layer.startswith(context + "/"))):
        return folder, draft.dockerfile, layer and posixpath.basename(layer), (
            f"? {build.where} builds it with context {context}/, which does not hold its Dockerfile: "
            "bbc builds it in its own folder",)
    rel = posixpath.relpath(draft.file, context)
    return context, rel, layer and posixpath.relpath(layer, context), ()


def _ways(draft: Draft) -> tuple[str, ...]:
    found = sources.ways(draft.builds)
    if len(found) < 2:
        return ()
    return (f"? built {len(found)} ways by the build files ({', '.join(b.where for b in found)}): bbc.yaml takes "
            f"{found[0].where}'s; add images (another target or Dockerfile) for the others",)


def _without_parent(draft: Draft, shipped: From | None, text: str) -> Parent | None:
    """The cases with no reference to resolve: no FROM, a FROM with no default, scratch."""
    if shipped is None:
        return Parent(notes=("? its Dockerfile has no FROM line",),
                      messages=(f"{draft.file}: no FROM line; left as a root",))
    where = f"{draft.file}:{shipped.line}"
    if not shipped.image:
        return Parent(unknown=True, notes=(
            f"? FROM {shipped.raw} ({where}) names no image without a build arg: set parent",), messages=(
            f"{where}: FROM {shipped.raw} has no default to tell the parent by; left as a root: set its parent "
            "in bbc.yaml",))
    if shipped.image != "scratch":
        return None
    for stage in dockerfile.stages(text):  # a builder stage may still take the parent (`COPY --from`)
        if not stage.image and stage.line != shipped.line:
            at = f"{draft.file}:{stage.line}"
            return Parent(unknown=True, notes=(
                f"? a builder stage is FROM {stage.raw} ({at}) with no default: if it is the parent, set parent",),
                messages=(f"{at}: a builder stage is FROM {stage.raw}, which has no default; the image ships on "
                          "scratch: if that arg is the parent, set parent in bbc.yaml",))
    return Parent()


def image(draft: Draft, text: str, known: Known) -> tuple[Image, tuple[str, ...]]:
    """The image of `draft` and the located lines its decisions leave for stderr."""
    build = draft.builds[0] if draft.builds else None
    shipped = stages.shipped_from(text, build.target if build else None, build.args if build else None)
    version, version_from, version_note = _version(draft.file, text)
    path, file, layer, placed = _placement(draft, build)
    notes = draft.notes + version_note + placed + _ways(draft)
    target = build.target if build and build.target else None
    if shipped is not None and shipped.target and not target:
        target = shipped.target
        notes += (f"? {shipped.target_why} ({draft.file}:{shipped.line})",)
    parent = _without_parent(draft, shipped, text)
    if parent is None and shipped is not None:
        parent = link_mod.decide(draft.name, draft.file, shipped, known, build)
    parent = parent or Parent()
    link = parent.link
    reads = {k: v for k, v in uses.reads(draft.name, text, shipped, build, known).items()
             if not (link and v == link.parent)}
    args = {k: v for k, v in uses.build_args(build, link.arg if link else None).items() if k not in reads}
    base = parent.base.replace(UNKNOWN, "*") if parent.base else None
    return Image(
        name=draft.name, path=path, dockerfile=file, parent=link.parent if link else None,
        parent_arg=link.arg if link else None, parent_ref=link.ref if link else None, target=target,
        test_layer=layer, version=version, version_from=version_from, base=base, watch=draft.watch,
        notes=notes + parent.notes, from_=shipped, unknown_parent=parent.unknown, build_args=args, uses=reads,
        link=link), parent.messages
