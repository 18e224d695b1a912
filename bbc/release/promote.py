"""Promotion: move release tags in the registry once every candidate is there.

`X.Y.Z` is write-once (checked before anything is built: `write_once`); `X.Y`, `X` and
`latest` follow from what the registry holds (versions.floating_tags). Tags are moved
registry-side (the same manifest under a new tag): no layer is pulled or pushed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bbc.model import labels, platforms, refs, versions
from bbc.errors import BbcError, RegistryError
from bbc.model.hierarchy import Hierarchy
from bbc.adapters.registry.protocol import RegistryAPI

@dataclass(frozen=True)
class Released:
    image: str
    version: str
    status: str  # released | already released | failed | not released
    digest: str = ""
    tags: tuple[str, ...] = ()
    message: str = ""


def write_once(hierarchy: Hierarchy, fingerprints: Mapping[str, str | None], reg: RegistryAPI,
               repo_of: Callable[[str], str]) -> frozenset[str]:
    """Images whose X.Y.Z already holds this exact build; refuse any holding other content."""
    already: set[str] = set()
    conflicts = []
    asked: set[str] = set()  # images whose equal versions were looked for (once for all platforms)
    for name, fp in fingerprints.items():
        version = hierarchy[name].version
        image, unit, platform = platforms.image_of(name), platforms.is_unit(name), hierarchy[name].platform
        found = reg.labels_if_present(repo_of(name), refs.version_tag(version), platform if unit else None)
        if found is None:
            if unit and reg.manifest(repo_of(name), refs.version_tag(version)) is not None:
                conflicts.append(f"{hierarchy.config.where('images', image, 'version')}: {version} is already "
                                 f"released in {hierarchy.config.ref(name)} without {platform}; release tags are "
                                 f"write-once: `bbc bump {image} patch`")
            elif image not in asked:
                asked.add(image)
                conflicts += _equal_versions(hierarchy, reg, repo_of(name), image, version)
            continue
        there = found.get(labels.FINGERPRINT, "")
        if fp is not None and there == fp:
            already.add(name)
            continue
        conflicts.append(
            f"{hierarchy.config.where('images', image, 'version')}: {version} is already released "
            f"in {hierarchy.config.ref(name)}{f' for {platform}' if unit else ''} with different content "
            f"(fingerprint {there[:12] or 'unknown'} there, {(fp or 'pending')[:12]} here); release tags are "
            f"write-once: `bbc bump {image} patch`"
        )
    if conflicts:
        raise BbcError("\n".join(conflicts), tip="nothing was built, pushed or tagged")
    return frozenset(already)


def _equal_versions(hierarchy: Hierarchy, reg: RegistryAPI, repository: str, image: str, version: str) -> list[str]:
    """A refusal for each release of `image` that differs from `version` only in build metadata
    (2.0.0+build.6 beside 2.0.0+build.7): semver gives them equal precedence, so they are one
    release, and its content is already out (the version is in every fingerprint: it differs)."""
    wanted = versions.parse(version)
    equal = sorted(str(v) for t in reg.tags(repository)
                   if (v := refs.version_of_tag(t)) is not None and v.compare(wanted) == 0 and str(v) != version)
    return [f"{hierarchy.config.where('images', image, 'version')}: {version} is the same release as {other}, "
            f"already in {hierarchy.config.ref(image)} with other content (versions that differ only in build "
            f"metadata have equal precedence); release tags are write-once: `bbc bump {image} patch`"
            for other in equal]


def promote(hierarchy: Hierarchy, reg: RegistryAPI, repo_of: Callable[[str], str], wanted: Iterable[str],
            already: frozenset[str], candidates: Mapping[str, str],
            on_event: Callable[[str], None]) -> list[Released]:
    """Move release tags: every X.Y.Z first, then the floating tags of each line. The builds of
    a multi-platform image (its units) become one OCI index, which the tags name."""
    manifests = {}
    for name, candidate in candidates.items():
        manifest = reg.manifest(repo_of(name), candidate)
        if manifest is None:
            raise RegistryError(f"{name}: candidate {candidate} vanished from the registry",
                                tip="run `bbc release` again")
        manifests[name] = manifest
    images: dict[str, list[str]] = {}  # image -> its units, in order
    for name in wanted:
        images.setdefault(platforms.image_of(name), []).append(name)
    for image, names in images.items():
        if names == [image] and image in manifests:
            reg.put_tag(repo_of(image), manifests[image], refs.version_tag(hierarchy[image].version))
        elif names != [image] and any(n in manifests for n in names):
            # a release holds every platform (bbc release takes whole images), and write_once
            # refused an X.Y.Z holding some of them: here every platform was pushed now
            missing = [n for n in names if n not in manifests]
            if missing:
                raise RegistryError(f"{image}: no candidate of {', '.join(missing)} to put in its index",
                                    tip="run `bbc release` again")
            entries = [(manifests[n], hierarchy[n].platform or "") for n in names]
            manifests[image] = reg.put_index(repo_of(image), refs.version_tag(hierarchy[names[0]].version), entries)
    out = []
    for image, names in images.items():
        name = image
        version = hierarchy[names[0]].version
        version_tag = refs.version_tag(version)
        repository = repo_of(name)
        manifest = manifests.get(name) or reg.manifest(repository, version_tag)
        if manifest is None:
            raise RegistryError(f"{name}: {version} not found after promotion")
        existing = [str(v) for t in reg.tags(repository) if t != version_tag and (v := refs.version_of_tag(t))]
        moved = []
        for tag in versions.floating_tags(version, existing):
            current = reg.manifest(repository, tag)
            if current is None or current.digest != manifest.digest:
                reg.put_tag(repository, manifest, tag)
            moved.append(tag)
        status = "already released" if all(n in already for n in names) else "released"
        on_event(f"[{name}] {status} {version} ({manifest.digest[:19]}) tags: {', '.join([version_tag, *moved])}")
        out.append(Released(name, version, status, manifest.digest, (version_tag, *moved)))
    return out

