"""Publish a released image's SBOM to its registry as an OCI artifact.

The artifact is an OCI image manifest (artifactType `application/vnd.cyclonedx+json`, the
empty config, one layer: the CycloneDX JSON) whose `subject` is the released image manifest.
A registry implementing distribution-spec 1.1 answers with `OCI-Subject` and lists it among
the image's referrers; every registry also gets the tag `sha256-<image digest hex>.sbom` (the
referrers tag schema's naming, as cosign and ORAS use), so the SBOM sits beside the image where
referrers are not supported, and a release run again finds it there and does not push twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ARTIFACT_TYPE = "application/vnd.cyclonedx+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = ("application/vnd.oci.empty.v1+json",
         "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", b"{}")


@dataclass(frozen=True)
class Published:
    tag: str
    digest: str
    referrer: bool  # the registry took it as a referrer of the image (else: beside it, by tag)
    already: bool = False


def sbom_tag(image_digest: str) -> str:
    return image_digest.replace(":", "-") + ".sbom"


def publish(reg: Any, repository: str, image_digest: str, image_media_type: str, image_size: int,
            document: bytes, title: str) -> Published:
    """Push `document` as the SBOM of `repository@image_digest`; reg is a bbc.adapters.registry.client.Registry."""
    tag = sbom_tag(image_digest)
    found = reg.manifest(repository, tag)
    if found is not None:
        return Published(tag, found.digest, bool(found.json().get("subject")), already=True)
    reg.put_blob(repository, EMPTY[2])
    blob = reg.put_blob(repository, document)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": {"mediaType": EMPTY[0], "digest": EMPTY[1], "size": len(EMPTY[2])},
        "layers": [{"mediaType": ARTIFACT_TYPE, "digest": blob, "size": len(document),
                    "annotations": {"org.opencontainers.image.title": title}}],
        "subject": {"mediaType": image_media_type, "digest": image_digest, "size": image_size},
    }
    raw = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
    digest, referrer = reg.put_manifest(repository, _digest(raw), OCI_MANIFEST, raw)
    reg.put_manifest(repository, tag, OCI_MANIFEST, raw)
    return Published(tag, digest, referrer)


def _hex(raw: bytes) -> str:
    import hashlib

    return hashlib.sha256(raw).hexdigest()


def _digest(raw: bytes) -> str:
    return "sha256:" + _hex(raw)
