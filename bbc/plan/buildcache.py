"""Which earlier build of an image in the registry a build takes its cache from (issue 24).

An image that changed, built on a fresh machine (a CI runner, an empty engine), would run every
step of its Dockerfile again while its last release sits in the registry. Every BuildKit build
bbc makes carries BuildKit's inline cache metadata in its image config
(bbc/adapters/docker/building.py), and the engine's own push takes it along, so a release is a
cache source. The build is pointed at the nearest release of the image's version line, the
first of these tags the registry has:

- `X.Y.Z`: this very version (the image changed and its version was not bumped yet);
- `X.Y`, then `X`: the newest release of its minor, then its major line (after a bump);
- `latest`;

and, before them, the newest candidate (`candidate-latest`, moved by every candidate push: the
image's last build not released yet, e.g. an earlier pipeline of the same merge request). Both
go to the build when both are there: BuildKit reads the cache metadata of each.

One platform of a multi-platform image (`static@arm64`) takes that platform's manifest of the
index. The reference is by digest: what the build reads is what was looked up. A registry that
cannot be asked costs the cache, never the build; after one failure the run asks no more.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from bbc.adapters.registry.names import INDEX_TYPES, Manifest
from bbc.adapters.registry.protocol import RegistryAPI
from bbc.errors import RegistryError
from bbc.model import platforms, refs


def release_tags(version: str) -> list[str]:
    """The tags that may hold an earlier build of an image at `version`, nearest first."""
    core = version.partition("+")[0].partition("-")[0]
    major, minor, _ = core.split(".")
    return list(dict.fromkeys([refs.version_tag(version), f"{major}.{minor}", major, "latest"]))


def platform_digest(manifest: Manifest, platform: str | None) -> str | None:
    """The digest of `platform`'s image: the manifest itself, or its entry in an index (the
    platform of this machine when `platform` is None); None when the index has none."""
    if manifest.media_type not in INDEX_TYPES:
        return manifest.digest
    wanted = platform or platforms.native()
    for entry in manifest.json().get("manifests") or ():
        if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
            continue
        if platforms.matches(platforms.of_oci(entry.get("platform") or {}), wanted):
            return str(entry["digest"])
    return None


class Sources:
    """The cache lookups of one run, against its registry (`repo_of`: image -> repository path
    there; `ref_of`: image -> the repository name the engine pulls)."""

    def __init__(self, client: RegistryAPI, repo_of: Callable[[str], str], ref_of: Callable[[str], str]) -> None:
        self.client = client
        self.repo_of = repo_of
        self.ref_of = ref_of
        self._down = False  # the registry failed once: no build asks it again this run
        self._lock = threading.Lock()

    def of(self, image: str, version: str, platform: str | None) -> tuple[str, ...]:
        """`repository@sha256:...` of the newest candidate and of the nearest release of `image`
        (a unit names its platform's build), those the registry holds, newest first."""
        if self._down:
            return ()
        path = self.repo_of(image)
        found: list[str] = []
        try:
            present = set(self.client.tags(path))
            for tag in (refs.latest_candidate_tag(image), *release_tags(version)):
                manifest = self.client.manifest(path, tag) if tag in present else None
                digest = platform_digest(manifest, platform) if manifest is not None else None
                if digest:
                    found.append(f"{self.ref_of(image)}@{digest}")
                    if not refs.is_candidate(tag):
                        break  # the nearest release: the farther ones hold nothing newer
        except RegistryError:
            with self._lock:
                self._down = True
        return tuple(dict.fromkeys(found))
