"""Drift between bbc.yaml and the Dockerfiles it names (`bbc check`): a FROM whose default now
names another image of the hierarchy than `parent`, a root whose FROM names one, any read
(FROM, COPY --from, RUN --mount=from) naming one by its tag instead of `uses:`, a link the
repository's build files contradict and an image read by repository:tag without a link
(bbc/upkeep/adopt/agree.py), and Dockerfiles in the tree that no image covers (templates and
test fixtures no build file builds aside). An image whose folder vanished never gets this far:
validation refuses it, located.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from bbc.model import dockerfile
from bbc.model.hierarchy import Hierarchy
from bbc.upkeep import adopt
from bbc.upkeep.adopt import agree

CONFLICT = "conflict"  # bbc builds something other than the Dockerfile says: exit 1
NOTE = "note"


@dataclass(frozen=True)
class Drift:
    level: str
    where: str  # file:line
    message: str


def find(hierarchy: Hierarchy) -> list[Drift]:
    config = hierarchy.config
    root = config.root
    matcher = adopt.Matcher({name: _rel(hierarchy, name) for name in hierarchy.order}, config.registry)
    report = agree.check(hierarchy)
    out = [Drift(d.level, d.where, d.message) for d in report.disagreements]
    said = {d.where for d in report.disagreements}
    for name in hierarchy.order:
        spec = hierarchy[name]
        file = f"{_rel(hierarchy, name)}/{spec.dockerfile}".removeprefix("./")
        try:
            text = spec.dockerfile_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # validation said so
        shipped = adopt.shipped_from(text, spec.target)
        if shipped is None or not shipped.image or spec.parent_ref:
            continue  # parent_ref: validation holds the FROM to it
        where = f"{file}:{shipped.line}"
        if where in said:
            continue  # the build files said more than a name can
        m = matcher.match(shipped.image, exclude=name)
        if m is None or m.pinned or m.image is None:
            continue
        if spec.parent is not None and shipped.arg == spec.parent_arg and m.image != spec.parent:
            out.append(Drift(CONFLICT, where, (
                f"FROM {shipped.raw} defaults to {shipped.image}, which is image {m.image}, but "
                f"{config.where('images', name, 'parent')} is {spec.parent}: bbc builds {name} on {spec.parent}; "
                f"make the two agree")))
        elif spec.parent is None:
            out.append(Drift(NOTE, where, (
                f"{name} is a root, but FROM {shipped.raw} names {shipped.image}, image {m.image} of this "
                f"hierarchy: it builds on whatever that tag holds, not on bbc's build of {m.image} "
                f"(give it `parent: {m.image}` if that is meant)")))
    done = said | {d.where for d in out}
    for name in hierarchy.order:
        out += [d for d in _read_by_tag(hierarchy, name) if d.where not in done]
    covered = _covered(hierarchy)
    watches = _watches(hierarchy)
    for rel in adopt.find(root):
        if rel not in report.built and (adopt.is_template(rel) or adopt.is_fixture(rel)):
            continue  # not an image: bbc init says so
        if rel not in covered and not any(fnmatch.fnmatch(rel, w) for w in watches):
            out.append(Drift(NOTE, rel, "a Dockerfile no image covers (`bbc init --print` shows how it would be read)"))
    return out


def _read_by_tag(hierarchy: Hierarchy, name: str) -> list[Drift]:
    """Images of the hierarchy a build reads by repository:tag rather than through `uses:` (or
    its parent): it reads whatever that tag holds, not bbc's build, and no change to it
    rebuilds this image (issue 21)."""
    from bbc.plan import bases

    config = hierarchy.config
    out = []
    for found in bases.of(hierarchy[name], config.root):
        repository = found.ref.partition("@")[0].rpartition(":")[0] if ":" in found.ref.rpartition("/")[2] \
            else found.ref.partition("@")[0]
        image = repository.removeprefix(config.registry + "/") if repository.startswith(config.registry + "/") else ""
        if image not in config.images or image == name:
            continue
        key = "".join(c if c.isalnum() else "_" for c in image.upper()) + "_IMAGE"
        out.append(Drift(NOTE, found.where, (
            f"{dockerfile.written(found.base.via, found.base.raw)} names image {image} of this hierarchy by its tag: {name} reads whatever "
            f"that tag holds, not bbc's build, and a change to {image} does not rebuild it; use `uses:` "
            f"(`uses: {{{key}: {image}}}` in {config.where('images', name)}, `ARG {key}`, "
            f"`FROM ${{{key}}} AS {image}` and `COPY --from={image}`)")))
    return out


def _rel(hierarchy: Hierarchy, name: str) -> str:
    return hierarchy[name].rel_path.rstrip("/").removeprefix("./") or "."


def _covered(hierarchy: Hierarchy) -> set[str]:
    out: set[str] = set()
    root = hierarchy.config.root
    for name in hierarchy.order:
        spec = hierarchy[name]
        files = [spec.dockerfile]
        if spec.test and spec.test.layer:
            files.append(spec.test.layer)
        for file in files:
            # as written (`../shared/Dockerfile` normalised) and where a symlinked folder leads
            path = os.path.normpath(os.path.join(spec.path, file))
            for place in (path, os.path.realpath(path)):
                rel = os.path.relpath(place, root)
                if not rel.startswith(".." + os.sep):  # else outside the tree bbc.yaml lives in
                    out.add(Path(rel).as_posix())
    return out


def _watches(hierarchy: Hierarchy) -> list[str]:
    return [w for name in hierarchy.order for w in hierarchy[name].watch]
