"""The ancestry of a built image, read back from the labels bbc set when it built it.

Every build records its own name (`bbc.image`), version and its parent's image ID
(`bbc.parent.id`) and the builds of the images it used (`bbc.uses`), so the chain down to the
root, and every build it read besides, can be walked on any engine holding the images, with
no bbc.yaml: that is what answers "what is this image really built on?".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import semver

from bbc.adapters.engine import ImageInfo
from bbc.errors import BbcError
from bbc.model.labels import BASE_NAME as BASE_NAME_LABEL, IMAGE as IMAGE_LABEL, PARENT_ID as PARENT_LABEL, PLATFORM as PLATFORM_LABEL, VERSION as VERSION_LABEL
from bbc.model.labels import used_builds


@dataclass(frozen=True)
class Level:
    """One image of a chain. `present` is False for a parent no longer on this engine:
    its name and version then come from the child's `base.name` label."""

    image: str
    version: str
    id: str
    tags: tuple[str, ...] = ()
    present: bool = True
    platform: str = ""  # one platform's build of a multi-platform image: which
    via: str = ""  # how the level before builds on it: `parent of app`, `used by app (X)`; "" for the first


Lookup = Callable[[str], ImageInfo | None]


def chain(start: ImageInfo, lookup: Lookup, via: str = "") -> list[Level]:
    """`start` first, then each parent up to the root (or the first parent not found)."""
    levels: list[Level] = []
    info: ImageInfo | None = start
    seen: set[str] = set()
    while info is not None and info.id not in seen:
        seen.add(info.id)
        labels = info.labels
        levels.append(Level(labels.get(IMAGE_LABEL, "?"), labels.get(VERSION_LABEL, "?"), info.id, info.tags,
                            platform=labels.get(PLATFORM_LABEL, ""), via=via))
        parent_id = labels.get(PARENT_LABEL)
        if not parent_id:
            break
        via = f"parent of {levels[-1].image}"
        info = lookup(parent_id)
        if info is None:
            name, version = _split_base_name(labels.get(BASE_NAME_LABEL, ""))
            levels.append(Level(name, version, parent_id, present=False, via=via))
    return levels


def builds_on(start: ImageInfo, lookup: Lookup) -> list[Level]:
    """Every build `start` is built on or with, each once: its parent chain first, then the
    builds its levels used (the `bbc.uses` label, issue 21), each with its own chain."""
    levels = chain(start, lookup)
    seen = {lv.id for lv in levels}
    i = 0
    while i < len(levels):
        level = levels[i]
        info = lookup(level.id) if level.present else None
        for key, (image, image_id) in sorted(used_builds(info.labels).items()) if info is not None else ():
            if image_id in seen:
                continue
            via = f"used by {level.image} ({key})"
            found = lookup(image_id)
            more = chain(found, lookup, via) if found is not None else [Level(image, "?", image_id, present=False,
                                                                              via=via)]
            for lv in more:
                if lv.id not in seen:
                    seen.add(lv.id)
                    levels.append(lv)
        i += 1
    return levels


def ancestry(ref: str, lookup: Lookup) -> list[Level]:
    """What the local image `ref` (a tag, ID or digest reference) is built on and with."""
    info = lookup(ref)
    if info is None:
        raise BbcError(f"no image '{ref}' on this engine", tip="build it first (`bbc build`) or pull it")
    if IMAGE_LABEL not in info.labels:
        raise BbcError(f"'{ref}' was not built by bbc (it has no {IMAGE_LABEL} label)",
                       tip="ancestry is read from the labels bbc sets at build time")
    return builds_on(info, lookup)


def version_matcher(expression: str) -> Callable[[str], bool]:
    """A test for versions from a range like `<2.3.0` or `>=1.0.0,<2.0.0` (semver `match`)."""
    parts = [p.strip() for p in expression.split(",") if p.strip()]
    if not parts:
        raise BbcError("--built-on: empty version range", tip="e.g. --built-on '<2.3.0'")
    probe = semver.Version(0)
    for part in parts:
        try:
            probe.match(part)
        except ValueError:
            raise BbcError(f"--built-on: {part!r} is not a version range",
                           tip="use an operator and a full version: <2.3.0, >=1.0.0, ==1.2.3, !=1.0.0") from None

    def matches(version: str) -> bool:
        if not semver.Version.is_valid(version):
            return False
        parsed = semver.Version.parse(version)
        return all(parsed.match(part) for part in parts)

    return matches


def _split_base_name(ref: str) -> tuple[str, str]:
    """`localhost:5000/acme/base:1.0.0` -> (`base`, `1.0.0`)."""
    repository, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ref.rsplit("/", 1)[-1] or "?", "?"
    return repository.rsplit("/", 1)[-1], tag
