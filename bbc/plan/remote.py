"""The registry side of builds and releases: where an image lives, and which builds the
registry already holds (pulled instead of rebuilt: a fresh CI machine does not rebuild the world)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bbc.model import labels, refs
from bbc.model.platforms import is_unit
from bbc.errors import RegistryError
from bbc.model.hierarchy import Hierarchy
from bbc.adapters.registry.protocol import RegistryAPI
from bbc.adapters.registry.client import Registry as HttpRegistry, split_image_name


def registry_for(hierarchy: Hierarchy, registry: RegistryAPI | None = None) -> tuple[RegistryAPI, Callable[[str], str]]:
    """A client for the hierarchy's registry, and image name -> repository path on it."""
    host, _ = split_image_name(hierarchy.config.ref(hierarchy.order[0]))
    client = registry or HttpRegistry(host, cache=hierarchy.config.root / ".bbc/cache/registry")
    return client, lambda name: split_image_name(hierarchy.config.ref(name))[1]


def holds(reg: RegistryAPI, repo_of: Callable[[str], str]) -> Callable[[str, str, str], str | None]:
    """For the planner: the registry tag (X.Y.Z or the candidate) holding the build of `image`
    with fingerprint `fp`, or None. An unreachable registry holds nothing: build it."""

    def lookup(image: str, version: str, fp: str) -> str | None:
        # one platform's build (`image@arm64`): its candidate tag; X.Y.Z names the index of all
        tags = (refs.candidate_tag(fp),) if is_unit(image) else (refs.version_tag(version), refs.candidate_tag(fp))
        for tag in tags:
            try:
                found = reg.labels_if_present(repo_of(image), tag) or {}
            except RegistryError:
                return None
            if found.get(labels.FINGERPRINT) == fp:
                return tag
        return None

    return lookup


@dataclass(frozen=True)
class Remote:
    """The registry a run talks to, and image name -> repository path on it."""

    client: RegistryAPI
    repo_of: Callable[[str], str]

    def held(self, image: str, tag: str, fingerprint: str) -> str:
        """The digest under `tag` when the registry holds this fingerprint there, else ""."""
        try:
            manifest = self.client.manifest(self.repo_of(image), tag)
            found = self.client.labels_if_present(self.repo_of(image), tag) if manifest else None
        except RegistryError:
            return ""  # the push will say what is wrong
        return manifest.digest if manifest is not None and (found or {}).get(labels.FINGERPRINT) == fingerprint else ""

    def mark_latest(self, image: str, tag: str) -> str:
        """Move `image`'s latest-candidate tag (refs.latest_candidate_tag) to the candidate under
        `tag`, where a later build finds its cache; "" when done, else what went wrong."""
        repository = self.repo_of(image)
        try:
            manifest = self.client.manifest(repository, tag)
            if manifest is None:
                return f"{tag} is not in the registry"
            latest = refs.latest_candidate_tag(image)
            there = self.client.manifest(repository, latest)
            if there is None or there.digest != manifest.digest:  # a run again writes nothing
                self.client.put_tag(repository, manifest, latest)
        except RegistryError as exc:
            return exc.message
        return ""
