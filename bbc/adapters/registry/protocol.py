"""The part of a registry that planning and releases use, as a protocol: the executor, the
promotion and the planner's registry lookups take any object that has it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the HTTP client (urllib, email) is imported only when a registry is asked
    from bbc.adapters.registry.client import Manifest


class RegistryAPI(Protocol):
    """What planning and releases need of a registry (client.Registry implements it over HTTP;
    tests may pass a fake)."""

    host: str

    def tags(self, repository: str) -> list[str]: ...
    def manifest(self, repository: str, reference: str) -> Manifest | None: ...
    def labels_if_present(self, repository: str, reference: str,
                          platform: str | None = None) -> dict[str, str] | None: ...
    def put_tag(self, repository: str, manifest: Manifest, tag: str) -> None: ...
    def put_index(self, repository: str, tag: str, entries: list[tuple[Manifest, str]]) -> Manifest: ...
