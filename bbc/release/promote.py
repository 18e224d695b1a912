"""Promotion: move release tags in the registry once every candidate is there.

`X.Y.Z` is write-once (checked before anything is built: `write_once`); `X.Y`, `X` and
`latest` follow from what the registry holds (versions.floating_tags). Tags are moved
registry-side (the same manifest under a new tag): no layer is pulled or pushed. A registry
that fails part-way stops promotion (`Stopped`), saying which release tags each image holds by
then: what was moved stays (a registry has no transaction over several tags), and a re-run moves
the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bbc.model import labels, platforms, refs, versions
from bbc.errors import BbcError, RegistryError
from bbc.model.hierarchy import Hierarchy
from bbc.adapters.registry.client import INDEX_TYPES, Manifest
from bbc.adapters.registry.protocol import RegistryAPI

if TYPE_CHECKING:
    from bbc.release.sign import Signing


@dataclass(frozen=True)
class Released:
    image: str
    version: str
    status: str  # released | already released | partly released | not released
    digest: str = ""
    tags: tuple[str, ...] = ()
    message: str = ""
    in_doubt: tuple[str, ...] = ()  # a tag whose move failed part-way: the registry may or may not hold it


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


class Stopped(RegistryError):
    """Promotion stopped part-way (the registry failed it): `released` says, per image, which
    of its release tags are in the registry now. A registry has no transaction over several
    tags, so what was moved stays moved; a re-run moves the rest (X.Y.Z holds the same build)."""

    def __init__(self, message: str, released: list[Released]) -> None:
        super().__init__(message, tip="run `bbc release` again to finish: it moves the rest")
        self.released = released


class _Moved:
    """The release tags promotion moved so far, per image, in the order it moved them."""

    def __init__(self, hierarchy: Hierarchy, images: dict[str, list[str]], already: frozenset[str]) -> None:
        self.hierarchy, self.images, self.already = hierarchy, images, already
        self.tags: dict[str, list[str]] = {}
        self.digests: dict[str, str] = {}
        self.done: dict[str, Released] = {}  # images with every tag moved

    def put(self, image: str, tag: str, digest: str) -> None:
        self.tags.setdefault(image, []).append(tag)
        self.digests[image] = digest

    def stopped(self, image: str, moving: str | None, exc: BbcError) -> Stopped:
        """The error of a registry call for `image` that failed (while `moving` that tag, which
        the registry may then hold or not), with what each image holds now."""
        rows = []
        for name, units in self.images.items():
            version = self.hierarchy[units[0]].version
            version_tag = refs.version_tag(version)
            tags = tuple(self.tags.get(name, ()))
            was = all(n in self.already for n in units)
            if name in self.done:
                rows.append(self.done[name])
            elif name == image:
                rows.append(Released(name, version, "partly released" if tags else (
                    "already released" if was else "not released"), self.digests.get(name, ""),
                    ((version_tag,) if was and not tags else tags),
                    f"moving {moving} failed: {exc.message} (the registry may or may not hold it)" if moving
                    else exc.message, (moving,) if moving else ()))
            elif tags:
                rows.append(Released(name, version, "partly released", self.digests[name], tags,
                                     "promotion stopped before its floating tags"))
            elif was:
                rows.append(Released(name, version, "already released", tags=(version_tag,),
                                     message="its floating tags were not checked: promotion stopped first"))
            else:
                rows.append(Released(name, version, "not released", message="promotion stopped before it"))
        return Stopped(f"{image}: moving {moving} failed: {exc.message}" if moving else exc.message, rows)


def promote(hierarchy: Hierarchy, reg: RegistryAPI, repo_of: Callable[[str], str], wanted: Iterable[str],
            already: frozenset[str], candidates: Mapping[str, str],
            on_event: Callable[[str], None], signing: Signing | None = None) -> list[Released]:
    """Move release tags: every X.Y.Z first, then the floating tags of each line. The builds of
    a multi-platform image (its units) become one OCI index, which the tags name. With
    `signing`, every manifest released is signed before any tag moves (bbc/release/sign.py).
    Stopped when the registry fails once tags began to move, saying what each image holds."""
    images: dict[str, list[str]] = {}  # image -> its units, in order
    for name in wanted:
        images.setdefault(platforms.image_of(name), []).append(name)
    manifests = _manifests(hierarchy, reg, repo_of, images, candidates)
    if signing is not None:
        from bbc.release import sign

        def released(image: str) -> str:
            unit = (hierarchy.units or {}).get(image, (image,))[0]
            found = manifests.get(image) or reg.manifest(repo_of(image), refs.version_tag(hierarchy[unit].version))
            if found is None:
                raise RegistryError(f"{image}: not released, so nothing built on it can name its release",
                                    tip=f"release {image} first")
            return found.digest

        sign.release(reg, repo_of, manifests, images, signing, released, on_event)
    moved = _Moved(hierarchy, images, already)
    for image, names in images.items():
        if image in manifests and (image in candidates or names != [image] and any(n in candidates for n in names)):
            version_tag = refs.version_tag(hierarchy[names[0]].version)
            try:
                reg.put_tag(repo_of(image), manifests[image], version_tag)
            except BbcError as exc:
                raise moved.stopped(image, version_tag, exc) from None
            moved.put(image, version_tag, manifests[image].digest)
    return [_floating(hierarchy, reg, repo_of, image, names, manifests, moved, on_event)
            for image, names in images.items()]


def _manifests(hierarchy: Hierarchy, reg: RegistryAPI, repo_of: Callable[[str], str], images: Mapping[str, list[str]],
               candidates: Mapping[str, str]) -> dict[str, Manifest]:
    """Each unit's candidate manifest, each multi-platform image's index (written by its digest,
    no tag yet), and, for what this run pushed nothing of, the registry's X.Y.Z."""
    manifests: dict[str, Manifest] = {}
    for name, candidate in candidates.items():
        manifest = reg.manifest(repo_of(name), candidate)
        if manifest is None:
            raise RegistryError(f"{name}: candidate {candidate} vanished from the registry",
                                tip="no release tag was moved; run `bbc release` again")
        manifests[name] = manifest
    for image, names in images.items():
        if names != [image] and any(n in manifests for n in names):
            # a release holds every platform (bbc release takes whole images), and write_once
            # refused an X.Y.Z holding some of them: here every platform was pushed now
            missing = [n for n in names if n not in manifests]
            if missing:
                raise RegistryError(f"{image}: no candidate of {', '.join(missing)} to put in its index",
                                    tip="run `bbc release` again")
            manifests[image] = reg.put_index(repo_of(image), "", [(manifests[n], hierarchy[n].platform or "")
                                                                  for n in names])
        elif image not in manifests:
            found = reg.manifest(repo_of(image), refs.version_tag(hierarchy[names[0]].version))
            if found is None:
                raise RegistryError(f"{image}: {hierarchy[names[0]].version} not found after promotion")
            manifests[image] = found
            if names != [image] and found.media_type in INDEX_TYPES:
                by_platform = {platforms.of_oci(e.get("platform") or {}): str(e.get("digest"))
                               for e in found.json().get("manifests") or []}
                for n in names:
                    entry = next((d for p, d in by_platform.items() if platforms.matches(p, hierarchy[n].platform
                                                                                         or "")), None)
                    unit = reg.manifest(repo_of(image), entry) if entry else None
                    if unit is not None:
                        manifests[n] = unit
    return manifests


def _floating(hierarchy: Hierarchy, reg: RegistryAPI, repo_of: Callable[[str], str], image: str, names: list[str],
              manifests: Mapping[str, Manifest], moved: _Moved, on_event: Callable[[str], None]) -> Released:
    """X.Y, X and latest of one image moved to its X.Y.Z, where they should follow it."""
    version = hierarchy[names[0]].version
    version_tag = refs.version_tag(version)
    repository = repo_of(image)
    manifest = manifests[image]
    floating = []
    moving: str | None = None  # the tag being moved: the registry may hold it or not when that fails
    try:
        existing = [str(v) for t in reg.tags(repository) if t != version_tag and (v := refs.version_of_tag(t))]
        for tag in versions.floating_tags(version, existing):
            current = reg.manifest(repository, tag)
            if current is None or current.digest != manifest.digest:
                moving = tag
                reg.put_tag(repository, manifest, tag)
                moving = None
                moved.put(image, tag, manifest.digest)
            floating.append(tag)
    except BbcError as exc:
        raise moved.stopped(image, moving, exc) from None
    status = "already released" if all(n in moved.already for n in names) else "released"
    on_event(f"[{image}] {status} {version} ({manifest.digest[:19]}) tags: {', '.join([version_tag, *floating])}")
    moved.done[image] = Released(image, version, status, manifest.digest, (version_tag, *floating))
    return moved.done[image]
