"""Semver arithmetic for releases: bumps, cascades down the hierarchy, floating tags.

Pure functions over version strings; no Docker, no files. The cascade asks the one
Hierarchy (anything with a parents-first `order` and `parent(name)`) for the graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, get_args

import semver

from bbc.errors import BbcError

if TYPE_CHECKING:
    from bbc.model.hierarchy import Hierarchy

Policy = Literal["patch", "follow-major", "none"]
POLICIES: tuple[str, ...] = get_args(Policy)
BUMP_PARTS = ("major", "minor", "patch")


def parse(version: str, *, where: str = "version") -> semver.Version:
    """Parse a strict `X.Y.Z[-pre][+build]` string, or raise a located BbcError."""
    try:
        return semver.Version.parse(version)
    except (ValueError, TypeError):
        raise BbcError(
            f"{where}: {version!r} is not a semantic version",
            tip="write it as MAJOR.MINOR.PATCH, e.g. 1.4.2 (no leading 'v')",
        ) from None


def bump(version: str, how: str, *, where: str = "version") -> str:
    """Return `version` bumped by "major" | "minor" | "patch", or the explicit `how` if newer.

    Bumping a pre-release releases it the way npm does: 1.3.0-rc.1 + minor -> 1.3.0, and
    1.2.4-rc.1 + patch -> 1.2.4, rather than skipping the version being prepared.
    """
    current = parse(version, where=where)
    if how in BUMP_PARTS:
        return str(_bump_part(current, how))
    target = parse(how, where=f"{where}: requested version")
    if target <= current:
        raise BbcError(
            f"{where}: requested version {how} is not newer than the current {version}",
            tip="pass a higher version, or one of: major, minor, patch",
        )
    return str(target)


def _bump_part(current: semver.Version, part: str) -> semver.Version:
    release = current.finalize_version()
    if current.prerelease:
        # 1.3.0-rc.1 is a pre-release *of* 1.3.0: releasing it is the bump.
        if part == "patch" or (part == "minor" and current.patch == 0) or (
            part == "major" and current.minor == 0 and current.patch == 0
        ):
            return release
    if part == "major":
        return release.bump_major()
    if part == "minor":
        return release.bump_minor()
    return release.bump_patch()


def child_bump(parent_old: str, parent_new: str, policy: str) -> str | None:
    """How a child reacts to its parent going `parent_old` -> `parent_new` under `policy`.

    Returns "major" | "minor" | "patch", or None when the child keeps its version.
    """
    if policy == "none":
        return None
    if policy == "patch":
        return "patch"
    if policy == "follow-major":
        old, new = parse(parent_old), parse(parent_new)
        if new.major > old.major:
            return "major"
        if new.major == old.major and new.minor > old.minor:
            return "minor"
        return "patch"
    raise BbcError(
        f"unknown cascade policy {policy!r}", tip=f"use one of: {', '.join(POLICIES)}"
    )


class Graph(Protocol):
    """What the cascade needs of the hierarchy (bbc.hierarchy.Hierarchy is one)."""

    @property
    def order(self) -> Sequence[str]: ...  # every image after what it builds on

    def needs(self, name: str) -> Sequence[str]: ...  # its parent and the images it uses


def cascade(
    changes: Mapping[str, tuple[str, str]],
    graph: Graph,
    current: Mapping[str, str],
    policies: Mapping[str, str] | None = None,
    *,
    default_policy: str = "patch",
) -> dict[str, tuple[str, str]]:
    """Extend explicit `changes` {image: (old, new)} to every descendant that must follow.

    `current` holds each image's version now; `policies` maps an image to how it follows
    what it builds on, its parent and the images it uses (default `default_policy`); when
    several of those move, the largest bump wins. An image changed explicitly keeps its
    explicit version. Returns {image: (old, new)} parents first, explicit and cascaded together.
    """
    policies = policies or {}
    known = set(graph.order)
    for name in changes:
        if name not in known:
            raise BbcError(f"cascade: unknown image {name!r}")

    result: dict[str, tuple[str, str]] = {}
    for name in graph.order:
        if name in changes:
            result[name] = changes[name]
            continue
        moved = [dep for dep in graph.needs(name) if dep in result]
        if not moved:
            continue
        policy = policies.get(name, default_policy)
        if policy not in POLICIES:
            raise BbcError(
                f"images.{name}: unknown cascade policy {policy!r}",
                tip=f"use one of: {', '.join(POLICIES)}",
            )
        hows = [h for h in (child_bump(*result[dep], policy) for dep in moved) if h is not None]
        if not hows:
            continue
        how = min(hows, key=BUMP_PARTS.index)  # major before minor before patch
        if name not in current:
            raise BbcError(f"cascade: images.{name}: no current version to bump")
        old = current[name]
        result[name] = (old, bump(old, how, where=f"images.{name}.version"))
    return result


def followed(graph: Graph, name: str, changed: Mapping[str, object]) -> str:
    """What a cascaded image followed: those of its parent and used images that `changed` moves."""
    return ", ".join(dep for dep in graph.needs(name) if dep in changed)


def floating_tags(version: str, existing: Iterable[str]) -> list[str]:
    """Which of "X.Y", "X" and "latest" releasing `version` should move, in that order.

    A tag moves when `version` is the highest release in its line among `existing` (tags
    already in the registry); re-releasing the current highest still moves them. Another
    version of equal precedence (1.0.0+b6 beside 1.0.0+b7: build metadata does not order
    versions) keeps them where they are: a floating tag never moves sideways or back.
    Pre-releases never move a floating tag, nor stop one from moving; tags that are not
    semantic versions (floating tags themselves, "latest", "sha-...") are ignored.
    """
    new = parse(version)
    if new.prerelease:
        return []
    released = [
        v for v in (semver.Version.parse(t) for t in existing if semver.Version.is_valid(t))
        if not v.prerelease
    ]

    def highest(line: list[semver.Version]) -> bool:
        return all(new.compare(v) > 0 or str(v) == version for v in line)

    tags: list[str] = []
    if highest([v for v in released if (v.major, v.minor) == (new.major, new.minor)]):
        tags.append(f"{new.major}.{new.minor}")
    if highest([v for v in released if v.major == new.major]):
        tags.append(f"{new.major}")
    if highest(released):
        tags.append("latest")
    return tags


def plan_bump(hierarchy: Hierarchy, changes: dict[str, str], *, follow: bool = True) -> dict[str, tuple[str, str]]:
    """{image: how} -> {image: (old, new)} for the images and (with `follow`, the default)
    their descendants, by each one's cascade policy."""
    explicit = {}
    for name, how in changes.items():
        hierarchy.check_names([name])
        old = hierarchy[name].version
        explicit[name] = (old, bump(old, how, where=f"images.{name}.version"))
    if not follow:
        return explicit
    images = hierarchy.config.images
    return cascade(explicit, hierarchy, {n: s.version for n, s in images.items()},
                   {n: s.cascade for n, s in images.items()})
