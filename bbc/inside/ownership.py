"""Which image of the hierarchy introduced each package of a built image.

bbc knows each build's exact parent build (the label bbc.parent.id), so an image's own layers
are exactly those after its parent's. A package belongs to the image owning the layer where it
appeared at its current version: a child that upgrades its parent's package owns the new one.

Ownership follows copies (issue 21): a package in a layer of an image that came from a build
it read, a used image's (bbc.uses) or its parent's files copied into a root assembled FROM
scratch, belongs to the image that installed it there: same package, same version, the same
record of its files where the package keeps one (a Python distribution's RECORD).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from bbc.model import labels, refs
from bbc.inside import layers
from bbc.adapters.engine import Engine
from bbc.errors import BbcError
from bbc.model.hierarchy import Hierarchy
from bbc.inside.layers import Content, Package


@dataclass(frozen=True)
class Build:
    """One build of the lineage, root first."""

    image: str  # name in bbc.yaml
    image_id: str
    diff_ids: tuple[str, ...]
    parent_id: str = ""  # the parent build it was built on
    used: tuple[tuple[str, str], ...] = ()  # (image, build ID) of each build it used


@dataclass(frozen=True)
class Owned:
    package: Package
    image: str  # the image that introduced it at this version
    layer: int  # index among the inspected image's layers
    diff_id: str
    step: str  # the Dockerfile instruction of that layer
    replaces: str = ""  # the version below it, when this image changed the version
    copied_by: str = ""  # the image whose layer copied it in from a build it read (`image` installed it)


@dataclass(frozen=True)
class Inside:
    """A built image, its lineage and who owns what in it."""

    image: str
    ref: str
    content: Content
    lineage: tuple[Build, ...]
    owners: tuple[str, ...]  # the owning image of each layer
    packages: tuple[Owned, ...]

    def own_layers(self) -> list[int]:
        return [i for i, owner in enumerate(self.owners) if owner == self.image]


def built_ref(hierarchy: Hierarchy, name: str) -> str:
    """The local tag of `name`'s current build: X.Y.Z, X.Y.Z-arm64 for one platform's build
    (`static@arm64`, in a hierarchy of units); a multi-platform image's own name is its build
    for this machine."""
    return refs.ref(hierarchy.config.ref(name), hierarchy[name].version, name)


def inside(engine: Engine, hierarchy: Hierarchy, name: str, root: Path | None = None) -> Inside:
    """Read image `name`'s current build (its X.Y.Z tag) and attribute its layers and packages."""
    ref = built_ref(hierarchy, name)
    if engine.inspect(ref) is None:
        raise BbcError(f"{name} is not built: no {ref} on the engine at {engine.address}",
                       tip=f"build it first: bbc build {name}")
    return of_build(engine, name, ref, root)


def of_build(engine: Engine, name: str, ref: str, root: Path | None = None,
             seen: dict[str, Inside] | None = None) -> Inside:
    """What `ref` (a tag or image ID) holds and who owns it; `seen` keeps the builds read
    already by image ID (a copy is traced into the build it came from)."""
    seen = {} if seen is None else seen
    info = engine.inspect(ref)
    if info is not None and info.id in seen:
        return replace(seen[info.id], image=name, ref=ref)
    content = layers.read(engine, ref, root)
    chain = lineage(engine, name, content.image_id, root)
    ids = tuple(l.diff_id for l in content.layers)
    owners = tuple(_owner(chain, ids, i) for i in range(len(ids)))
    packages = _follow_copies(engine, chain, attribute(content, owners), root, seen)
    seen[content.image_id] = found = Inside(name, ref, content, chain, owners, packages)
    return found


def _follow_copies(engine: Engine, chain: tuple[Build, ...], owned: tuple[Owned, ...], root: Path | None,
                   seen: dict[str, Inside]) -> tuple[Owned, ...]:
    """Each package whose owning build read the same package from another build (a used
    image's, or its parent's when it does not start from the parent's layers: a root assembled
    FROM scratch) owned where it was installed."""
    builds = {b.image: b for b in chain}
    sources: dict[str, list[tuple[str, str]]] = {}  # owning image -> the builds it read: (name, ID)
    for i, b in enumerate(chain):
        below = chain[i - 1] if i and chain[i - 1].image_id == b.parent_id else None
        copies_parent = below is not None and b.diff_ids[:len(below.diff_ids)] != below.diff_ids
        sources[b.image] = [*b.used, *([(below.image, below.image_id)] if below and copies_parent else [])]
    out = []
    for o in owned:
        found = None
        for image, image_id in sources.get(o.image, ()) if o.image in builds else ():
            try:
                there = of_build(engine, image, image_id, root, seen)
            except BbcError:
                continue  # a build no longer on this engine: the copy stays the copier's
            found = next((t for t in there.packages if _same(t.package, o.package)), None)
            if found is not None:
                break
        out.append(o if found is None else replace(o, image=found.image, copied_by=found.copied_by or o.image))
    return tuple(out)


def _same(a: Package, b: Package) -> bool:
    """The same package at the same version (and architecture), with the same files where both
    record them."""
    return (a.kind, a.name.lower(), a.version, a.arch) == (b.kind, b.name.lower(), b.version, b.arch) and (
        not a.files or not b.files or a.files == b.files)


def lineage(engine: Engine, name: str, image_id: str, root: Path | None = None) -> tuple[Build, ...]:
    """The builds from the root down to `image_id`, following bbc.parent.id. A build read
    before (root given: its contents are in `.bbc/cache/contents/`) is not asked of the engine
    again: an image ID names its labels and layers for good."""
    chain: list[Build] = []
    current: str | None = image_id
    seen: set[str] = set()
    while current and current not in seen:
        seen.add(current)
        known = layers.cached(root, current) if root is not None else None
        if known is not None:
            found, diff_ids = dict(known.labels), tuple(l.diff_id for l in known.layers)
        else:
            info = engine.inspect(current)
            if info is None:  # a parent build removed from the engine: its layers count as the child's
                break
            found, diff_ids = dict(info.labels), engine.diff_ids(info.id)
        chain.append(Build(found.get(labels.IMAGE) or (name if current == image_id else "?"), current, diff_ids,
                           found.get(labels.PARENT_ID) or "", tuple(labels.used_builds(found).values())))
        current = found.get(labels.PARENT_ID)
    return tuple(reversed(chain))


def _owner(chain: tuple[Build, ...], ids: tuple[str, ...], i: int) -> str:
    # the first build, root first, whose layers start exactly as these up to layer i (a
    # multi-stage child ending `FROM scratch` shares none and owns all of its own)
    for build in chain:
        if build.diff_ids[:i + 1] == ids[:i + 1]:
            return build.image
    return chain[-1].image if chain else "?"


def attribute(content: Content, owners: tuple[str, ...]) -> tuple[Owned, ...]:
    """Apply the layers bottom up (a package database rewritten replaces the one below, a
    whiteout removes); each package keeps the layer where it appeared at its final version."""
    sources: dict[str, tuple[Package, ...]] = {}
    introduced: dict[tuple[str, str, str], Owned] = {}
    gone: dict[tuple[str, str, str], str] = {}
    for i, layer in enumerate(content.layers):
        for path in layer.deleted:
            _drop(sources, path)
        for folder in layer.opaque:
            _drop(sources, folder, keep_self=True)
        sources.update(layer.sources)
        present: dict[tuple[str, str, str], Package] = {}
        for packages in sources.values():
            for p in packages:
                present[p.key] = p
        for key in list(introduced):
            if key not in present:  # removed; remembered, as a later layer may put another version
                gone[key] = introduced.pop(key).package.version
        for key, p in present.items():
            before = introduced.get(key)
            if before is None or before.package.version != p.version:
                old = before.package.version if before is not None else gone.get(key, "")
                introduced[key] = Owned(p, owners[i], i, layer.diff_id, layer.created_by, old if old != p.version else "")
            elif before.package != p:  # same version, rewritten database: keep the first layer
                introduced[key] = Owned(p, before.image, before.layer, before.diff_id, before.step, before.replaces)
    return tuple(sorted(introduced.values(), key=lambda o: (o.package.kind, o.package.name.lower(), o.package.source)))


def _drop(sources: dict[str, tuple[Package, ...]], path: str, keep_self: bool = False) -> None:
    prefix = path.rstrip("/") + "/"
    for source in [s for s in sources if s.startswith(prefix) or (s == path and not keep_self)]:
        del sources[source]
