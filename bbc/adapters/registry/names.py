"""Names in the Registry HTTP API v2: media types, a manifest as stored, image names split into
host and repository the way Docker splits them, and the checks on repository names and
references before any request is sent."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from bbc.errors import RegistryError

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)

_REPOSITORY = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\Z")
_REFERENCE = re.compile(r"[\w][\w.-]{0,127}\Z|sha256:[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as the registry stored it: `raw` bytes are what `digest` names."""

    digest: str
    media_type: str
    raw: bytes = field(repr=False)

    def json(self) -> dict[str, Any]:
        """The parsed manifest document."""
        data = json.loads(self.raw)
        return data if isinstance(data, dict) else {}


def split_image_name(name: str) -> tuple[str, str]:
    """`localhost:5000/acme/python` -> (`localhost:5000`, `acme/python`).

    Like Docker, the first component is a host only when it has a `.` or `:` or is
    `localhost`; otherwise the image lives on Docker Hub (`docker.io`, `library/` added
    for one-component names). Tags and digests are refused: pass the repository only.
    """
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, repository = first, rest
    else:
        host, repository = "docker.io", name if rest else f"library/{name}"
    if not _REPOSITORY.match(repository):
        raise RegistryError(
            f"image name {name!r}: {repository!r} is not a repository name",
            tip="use lowercase path components and no :tag or @digest, e.g. localhost:5000/acme/python",
        )
    return host, repository


def check_repository(host: str, repository: str) -> None:
    if not _REPOSITORY.match(repository):
        raise RegistryError(f"registry {host}: {repository!r} is not a repository name",
                            tip="use lowercase path components, e.g. acme/python")


def check_reference(host: str, repository: str, reference: str) -> None:
    if not _REFERENCE.match(reference):
        raise RegistryError(
            f"registry {host}: {repository}: {reference!r} is not a tag or sha256 digest")
