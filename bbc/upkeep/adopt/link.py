"""The parent of one image, with its source and how sure it is. In order: what the build files
say produces the FROM's repository:tag (sure, unless the build line is commented out); a
placeholder default resolved by a folder of that name (`?`); a FROM naming a repository the
tree builds, read as a folder path by its tag (`?`); the FROM's repository path naming an image
folder (sure only through an ARG, under the registry or an owner other links share: decided
by graph.confirm). Never a confident link by name alone, or to a fixture, template or example."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bbc.upkeep.adopt import placeholders, refs
from bbc.upkeep.adopt.matcher import Matcher
from bbc.upkeep.adopt.records import UNKNOWN, Build, From, Link, Source


@dataclass(frozen=True)
class Known:
    """What every decision reads: built once per run."""

    index: refs.Index
    matcher: Matcher
    folders: Mapping[str, str]  # image -> folder of its Dockerfile
    suspect: frozenset[str]  # examples, fixtures, templates: never a sure parent by name
    tree_name: str  # the tree's folder name, sanitized
    registry: str | None = None
    targets: Mapping[str, str] = field(default_factory=dict)  # bake target / compose service -> image


@dataclass(frozen=True)
class Parent:
    """The decision: a link, or a root on `base`, with what to say about it."""

    link: Link | None = None
    base: str | None = None
    notes: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    unknown: bool = False


def _link(shipped: From, file: str, parent: str, source: Source, sure: bool, why: str = "",
          namespace: str = "", under: bool = False) -> Link:
    where = f"{file}:{shipped.line}"
    return Link(parent, source, sure, where, shipped.arg, None if shipped.arg else shipped.raw, why, namespace, under)


def named_context(value: str, name: str, known: Known) -> str | None:
    """The image a named context (`target:y`, `service:y`, `docker-image://ref`) is, if one."""
    kind, _, rest = value.partition(":")
    if kind in ("target", "service") and rest:
        image = known.targets.get(rest)
    elif value.startswith("docker-image://"):
        ref = refs.parse(value[len("docker-image://"):])
        found = [p.image for p in known.index.lookup(ref) if p.sure] if ref else []
        image = found[0] if len(found) == 1 else None
    else:
        image = None
    return image if image != name else None


def decide(name: str, file: str, shipped: From, known: Known, build: Build | None = None) -> Parent:
    """The parent of image `name` (Dockerfile `file`) whose shipped stage is FROM `shipped`
    (`build`: what the build files pass it, named contexts a FROM may name among them)."""
    where = f"{file}:{shipped.line}"
    if build is not None and shipped.image in build.contexts:
        value = build.contexts[shipped.image]
        image = named_context(value, name, known)
        if image is not None:
            return Parent(_link(shipped, file, image, build.source, build.sure, build.doubt), notes=(
                f"FROM {shipped.raw} is the named context {shipped.image} = {value} ({build.where})",))
    found = placeholders.find(shipped.image)
    if found is not None:
        return _by_placeholder(name, file, shipped, found, known)
    ref = refs.parse(shipped.image)
    if ref is None:
        return _not_a_reference(name, shipped, where, known)
    producers = [p for p in known.index.lookup(ref) if p.image != name]
    if len(producers) == 1:
        p = producers[0]
        why = f"{p.doubt}: {p.where} tags {ref} from folder {known.folders[p.image]}" if not p.sure else ""
        link = _link(shipped, file, p.image, p.source, p.sure, why, ref.namespace)
        if p.sure:
            return Parent(link, notes=(f"{ref} is built by {p.where}",))
        return Parent(link, messages=(f"{where}: FROM {shipped.raw} taken to name {p.image}: {why} (check it)",))
    if producers:
        names = sorted(p.image for p in producers)
        return Parent(base=shipped.image, notes=(
            f"? FROM {shipped.raw} ({where}) is built by {' and '.join(f'{p.image} ({p.where})' for p in producers)}:"
            " set parent",), messages=(
            f"{where}: FROM {shipped.raw}: the build files build {ref} from {', '.join(names)}; left as a root: "
            "set its parent in bbc.yaml",))
    if known.index.owns(ref):
        return _own_but_unbuilt(name, file, shipped, ref, known)
    return _by_repository_path(name, file, shipped, known)


def _by_placeholder(name: str, file: str, shipped: From, found: placeholders.Placeholder, known: Known) -> Parent:
    where = f"{file}:{shipped.line}"
    candidates = placeholders.resolve(found, known.folders, name)
    if len(candidates) == 1:
        parent = candidates[0]
        why = (f"FROM {shipped.raw} defaults to the placeholder {found.text} and no build file passes "
               f"{shipped.arg or 'a value'}: taken to mean image {parent} (folder {known.folders[parent]})")
        return Parent(_link(shipped, file, parent, Source.PLACEHOLDER, False, why),
                      messages=(f"{where}: {why} (check it)",))
    said = f" could mean {' or '.join(candidates)}" if candidates else " names no image of the tree"
    return Parent(unknown=True, notes=(f"? FROM {shipped.raw} ({where}) defaults to the placeholder {found.text}, "
                                       f"which{said}: set parent",),
                  messages=(f"{where}: FROM {shipped.raw} defaults to the placeholder {found.text}, which{said}; "
                            "left as a root: set its parent in bbc.yaml",))


def _not_a_reference(name: str, shipped: From, where: str, known: Known) -> Parent:
    if "@" in shipped.image:  # pinned by digest: a published image
        m = known.matcher.match(shipped.image, exclude=name)
        hit = (m.image or " or ".join(m.candidates)) if m else None
        notes = (f"a root on a published, pinned image ({where}), not a child of {hit}",) if hit else ()
        return Parent(base=shipped.image, notes=notes)
    return Parent(notes=(f"? FROM {shipped.raw} ({where}) could not be read as a reference",),
                  messages=(f"{where}: FROM {shipped.raw} is not an image reference "
                            f"({shipped.image.replace(UNKNOWN, '*')!r}); "
                            "left as a root",))


def _named_like_tree(ref: refs.Ref, known: Known) -> bool:
    """A repository named as the tree's folder is (`buildpack-deps:bookworm-scm` in buildpack-deps/)."""
    return ref.repository.rpartition("/")[2] == known.tree_name


def _by_tag_path(ref: refs.Ref, name: str, known: Known) -> str | None:
    """The image whose folder path, joined by '-', is the tag (`bookworm-scm`: bookworm/scm);
    a one-folder path only for the tree's own repository name."""
    own = ref.repository.rpartition("/")[2] == known.tree_name
    fits = [n for n, folder in known.folders.items() if n != name and folder != "."
            and "-".join(folder.split("/")).lower() == ref.tag.lower() and (folder.count("/") >= 1 or own)]
    return fits[0] if len(fits) == 1 else None


def _own_but_unbuilt(name: str, file: str, shipped: From, ref: refs.Ref, known: Known) -> Parent:
    """A FROM naming one of the tree's own repositories with a tag no build file produces."""
    where = f"{file}:{shipped.line}"
    by_path = _by_tag_path(ref, name, known)
    if by_path is not None and by_path not in known.suspect:
        why = (f"linked by name: FROM {shipped.raw} ({where}) names a repository of the tree, no build file "
               f"produces it, and its tag reads as folder {known.folders[by_path]}")
        return Parent(_link(shipped, file, by_path, Source.NAME, False, why, ref.namespace),
                      messages=(f"{where}: FROM {shipped.raw} taken to name {by_path} by its tag alone (check it)",))
    return Parent(base=shipped.image, notes=(
        f"? FROM {shipped.raw} ({where}) names {ref.repository}, a repository of this tree, but no build file "
        "produces that tag: if it is an image of the tree, set parent",), messages=(
        f"{where}: FROM {shipped.raw} names a repository this tree builds ({ref.repository}), but no build file "
        "produces that tag; left as a root",))


def _by_repository_path(name: str, file: str, shipped: From, known: Known) -> Parent:
    where = f"{file}:{shipped.line}"
    m = known.matcher.match(shipped.image, exclude=name)
    if m is None:
        return Parent(base=shipped.image)
    if m.candidates:
        return Parent(base=shipped.image, notes=(
            f"? FROM {shipped.raw} ({where}) could name {' or '.join(m.candidates)}: set parent",), messages=(
            f"{where}: FROM {shipped.raw} could name {', '.join(m.candidates)}; left as a root: "
            "set its parent in bbc.yaml",))
    if m.image is None:
        ref = refs.parse(shipped.image)
        if ref is not None and (_by_tag_path(ref, name, known) is not None or _named_like_tree(ref, known)):
            return _own_but_unbuilt(name, file, shipped, ref, known)
        if not m.under_registry:
            return Parent(base=shipped.image)
        return Parent(base=shipped.image, notes=(
            f"? {shipped.image} ({where}) is under the registry but names no image folder",), messages=(
            f"{where}: {shipped.image} is under --registry but names no image folder; "
            "left as a root with it as an external base",))
    source = Source.ARG_DEFAULT if shipped.arg else Source.FROM
    sure = (m.under_registry or shipped.arg is not None) and m.image not in known.suspect
    why = (f"linked by name: FROM {shipped.raw} ({where}) names folder {known.folders[m.image]}; if it means "
           "a published image, delete parent")
    return Parent(_link(shipped, file, m.image, source, sure, why, m.namespace, m.under_registry))


def uses_key(arg: str | None, raw: str) -> str:
    """How `uses:` names what an image reads: the build arg, else the reference as written."""
    return arg if arg else raw
