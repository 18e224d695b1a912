"""Whether bbc.yaml agrees with the repository's own build files (`bbc check`, bbc/upkeep/drift.py):
a link contradicting what the build files say produces a FROM's repository:tag, a root (or an
image read by a builder stage or `COPY --from`) naming by repository:tag an image the tree
builds without bbc.yaml linking them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bbc.upkeep.adopt import refs, sources, stages
from bbc.upkeep.adopt.tree import scan

if TYPE_CHECKING:
    from bbc.model.hierarchy import Hierarchy
    from bbc.model.specs import ImageSpec

CONFLICT = "conflict"
NOTE = "note"


@dataclass(frozen=True)
class Disagreement:
    level: str
    where: str  # file:line
    message: str
    ref: str  # the reference it is about, normalised (drift.py says nothing more about it)


def _file(hierarchy: Hierarchy, name: str) -> str | None:
    spec = hierarchy[name]
    try:
        return (spec.path / spec.dockerfile).relative_to(hierarchy.config.root).as_posix()
    except ValueError:
        return None  # outside the tree bbc.yaml lives in


@dataclass(frozen=True)
class Report:
    disagreements: tuple[Disagreement, ...]
    built: frozenset[str]  # every Dockerfile a build file builds, relative to bbc.yaml's folder


@dataclass(frozen=True)
class _Known:
    index: refs.Index
    args: Mapping[str, Mapping[str, str]]  # Dockerfile -> the build args its first build passes
    built: frozenset[str]


def _read(hierarchy: Hierarchy) -> _Known:
    """What the build files below bbc.yaml's folder say each image of the hierarchy produces."""
    found = sources.read(scan(hierarchy.config.root))
    by_file = {f: name for name in hierarchy.order if (f := _file(hierarchy, name)) is not None}
    args = {file: builds[0].args for file, builds in sources.by_file(found.builds).items()}
    return _Known(refs.index(found.builds, found.aliases, by_file), args, frozenset(b.file for b in found.builds))


def _args(spec: ImageSpec, known: _Known, file: str) -> dict[str, str]:
    """The build args the Dockerfile is read with: the build files' word over bbc.yaml's."""
    return {**spec.build_args, **known.args.get(file, {})}


def _producer(known: refs.Index, image: str, name: str) -> tuple[refs.Ref, refs.Producer] | None:
    ref = refs.parse(image)
    if ref is None:
        return None
    found = [p for p in known.lookup(ref) if p.image != name and p.sure]
    return (ref, found[0]) if len(found) == 1 else None


def _parent_check(hierarchy: Hierarchy, name: str, spec: ImageSpec, text: str, known: _Known,
                  file: str) -> Iterator[Disagreement]:
    shipped = stages.shipped_from(text, spec.target, _args(spec, known, file))
    if shipped is None or not shipped.image:
        return
    hit = _producer(known.index, shipped.image, name)
    if hit is None:
        return
    ref, producer = hit
    where = f"{file}:{shipped.line}"
    if spec.parent is None:
        yield Disagreement(NOTE, where, (
            f"{name} is a root, but FROM {shipped.raw} names {ref}, which {producer.where} builds as image "
            f"{producer.image}: it builds on whatever that tag holds, not on bbc's build of {producer.image} "
            f"(give it `parent: {producer.image}` if that is meant)"), str(ref))
    elif spec.parent != producer.image:
        yield Disagreement(CONFLICT, where, (
            f"FROM {shipped.raw} names {ref}, which {producer.where} builds as image {producer.image}, but "
            f"{hierarchy.config.where('images', name, 'parent')} is {spec.parent}: the build files and bbc.yaml "
            "disagree; make them agree"), str(ref))


def _reads_check(name: str, spec: ImageSpec, text: str, known: _Known, file: str) -> Iterator[Disagreement]:
    args = _args(spec, known, file)
    shipped = stages.shipped_from(text, spec.target, args)
    for read in stages.other_reads(text, shipped, args):
        hit = _producer(known.index, read.image, name)
        if hit is None or hit[1].image == spec.parent:
            continue
        ref, producer = hit
        yield Disagreement(NOTE, f"{file}:{read.line}", (
            f"{name} reads {ref} ({read.raw}), which {producer.where} builds as image {producer.image}, but "
            f"bbc.yaml does not link them: bbc does not rebuild {name} when {producer.image} changes"), str(ref))


def check(hierarchy: Hierarchy) -> Report:
    """Every disagreement between bbc.yaml and the build files, in hierarchy order."""
    known = _read(hierarchy)
    if not known.index.tags:
        return Report((), known.built)
    out: list[Disagreement] = []
    for name in hierarchy.order:
        spec = hierarchy[name]
        file = _file(hierarchy, name)
        try:
            text = spec.dockerfile_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # validation said so
        if file is None:
            continue
        out.extend(_parent_check(hierarchy, name, spec, text, known, file))
        out.extend(_reads_check(name, spec, text, known, file))
    return Report(tuple(out), known.built)
