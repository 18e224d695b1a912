"""Artifacts about an image, stored beside it in its repository as OCI 1.1 referrers.

Each artifact is an OCI image manifest (its `artifactType`, the empty config, one layer: the
content) whose `subject` is the image's manifest. A registry with distribution-spec 1.1's
referrers API lists it by itself; elsewhere (distribution 2.8, the one here) the referrers tag
schema does: an OCI index at tag `sha256-<hex>` of the subject, listing every referrer, which
this module updates by adding what it lacks. Everything is written only when it is missing
(manifests are looked up by digest first, blobs by HEAD), so attaching the same artifacts again
writes nothing. Two writers updating one subject's index at once could drop each other's
entry: the release is the one writer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bbc.adapters.registry.names import OCI_INDEX, OCI_MANIFEST
from bbc.errors import RegistryError
from bbc.release.signing.statement import canonical, sha256_hex

EMPTY_TYPE, EMPTY_DATA = "application/vnd.oci.empty.v1+json", b"{}"
TITLE = "org.opencontainers.image.title"
CYCLONEDX_TYPE = "application/vnd.cyclonedx+json"


@dataclass(frozen=True)
class Subject:
    """The manifest artifacts are about, as the registry holds it."""

    digest: str
    media_type: str
    size: int


@dataclass(frozen=True)
class Artifact:
    """One thing to attach: its type, content and the annotations listed with it."""

    artifact_type: str
    data: bytes
    title: str
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Attached:
    digest: str  # of the artifact's manifest
    artifact_type: str
    written: bool  # False: the registry held it already


def tag(digest: str) -> str:
    """The referrers tag schema's tag for a subject: `sha256-<hex>`."""
    return f"sha256-{sha256_hex(digest)}"


def manifest(artifact: Artifact, subject: Subject) -> bytes:
    """The artifact's manifest, canonical JSON: the same artifact and subject, the same digest."""
    document: dict[str, Any] = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact.artifact_type,
        "config": {"mediaType": EMPTY_TYPE, "digest": _digest(EMPTY_DATA), "size": len(EMPTY_DATA)},
        "layers": [{"mediaType": artifact.artifact_type, "digest": _digest(artifact.data),
                    "size": len(artifact.data), "annotations": {TITLE: artifact.title}}],
        "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
    }
    if artifact.annotations:
        document["annotations"] = dict(artifact.annotations)
    return canonical(document)


def attach(reg: Any, repository: str, subject: Subject, artifacts: Sequence[Artifact]) -> list[Attached]:
    """Push each artifact as a referrer of `subject` (reg: a bbc.registry.Registry), then list it
    in the subject's referrers index where the registry keeps none itself."""
    api = reg.referrers(repository, subject.digest) is not None
    out: list[Attached] = []
    descriptors: list[dict[str, Any]] = []
    for artifact in artifacts:
        raw = manifest(artifact, subject)
        digest = _digest(raw)
        written = reg.manifest(repository, digest) is None
        if written:
            reg.put_blob(repository, EMPTY_DATA)
            reg.put_blob(repository, artifact.data)
            reg.put_manifest(repository, digest, OCI_MANIFEST, raw)
        out.append(Attached(digest, artifact.artifact_type, written))
        descriptors.append(_descriptor(artifact, digest, len(raw)))
    if not api:
        _index_add(reg, repository, subject.digest, descriptors)
    return out


def _descriptor(artifact: Artifact, digest: str, size: int) -> dict[str, Any]:
    out: dict[str, Any] = {"mediaType": OCI_MANIFEST, "digest": digest, "size": size,
                           "artifactType": artifact.artifact_type}
    if artifact.annotations:
        out["annotations"] = dict(artifact.annotations)
    return out


def _index_add(reg: Any, repository: str, subject: str, descriptors: list[dict[str, Any]]) -> bool:
    """Add the descriptors the subject's referrers index lacks; whether it was written."""
    name = tag(subject)
    found = reg.manifest(repository, name)
    entries: list[dict[str, Any]] = []
    if found is not None:
        if found.media_type != OCI_INDEX:
            raise RegistryError(f"{repository}:{name} is a {found.media_type}, not a referrers index",
                                tip="the tag belongs to the referrers tag schema; move what is there")
        entries = [e for e in found.json().get("manifests") or [] if isinstance(e, dict)]
    known = {e.get("digest") for e in entries}
    added = [d for d in descriptors if d["digest"] not in known]
    if not added and found is not None:
        return False
    raw = canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries + added})
    reg.put_manifest(repository, name, OCI_INDEX, raw)
    return True


def listed(reg: Any, repository: str, digest: str) -> list[dict[str, Any]]:
    """The descriptors of every referrer of `digest`: by the referrers API, else the tag schema."""
    found = reg.referrers(repository, digest)
    if found is None:
        index = reg.manifest(repository, tag(digest))
        found = index.json() if index is not None and index.media_type == OCI_INDEX else {}
    return [d for d in found.get("manifests") or [] if isinstance(d, dict) and isinstance(d.get("digest"), str)]


def content(reg: Any, repository: str, descriptor: Mapping[str, Any]) -> tuple[dict[str, Any], bytes]:
    """(manifest, first layer's bytes) of a referrer, each checked against its digest."""
    digest = str(descriptor["digest"])
    found = reg.manifest(repository, digest)
    if found is None or _digest(found.raw) != digest:
        raise RegistryError(f"{repository}@{digest}: referrer missing or not what its digest says")
    document = found.json()
    layers = document.get("layers") or []
    if not layers or not isinstance(layers[0], dict) or not isinstance(layers[0].get("digest"), str):
        raise RegistryError(f"{repository}@{digest}: referrer has no content layer")
    return document, reg.blob(repository, layers[0]["digest"])


def publish_sbom(reg: Any, repository: str, subject: Subject, document: bytes, title: str) -> Attached:
    """The CycloneDX SBOM as a referrer of the image (artifactType application/vnd.cyclonedx+json),
    by the same scheme as signatures (what `bbc release` publishes beside each image)."""
    return attach(reg, repository, subject, [Artifact(CYCLONEDX_TYPE, document, title)])[0]


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
