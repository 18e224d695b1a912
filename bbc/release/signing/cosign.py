"""cosign's "simple signing" signatures (cosign's specs/SIGNATURE_SPEC.md), so `cosign verify --key`
consumers find bbc's releases signed.

The payload names the manifest digest (`critical.image.docker-manifest-digest`, type `cosign
container image signature`); the signature is ECDSA over the payload's bytes, base64 in the layer
annotation `dev.cosignproject.cosign/signature`. All of a manifest's signatures sit in one OCI
image manifest at tag `sha256-<hex>.sig`, one layer each (the payload blob, media type
application/vnd.dev.cosign.simplesigning.v1+json). No Go library exists here, and the format is
these few fields: written by hand, checked against the spec in the tests.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from bbc.release.signing.signer import PublicKey, Signer
from bbc.release.signing.statement import canonical, sha256_hex

PAYLOAD_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
SIGNATURE_TYPE = "cosign container image signature"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


def tag(digest: str) -> str:
    """`sha256:<hex>` -> `sha256-<hex>.sig`, where cosign looks for the signatures."""
    return f"sha256-{sha256_hex(digest)}.sig"


def payload(docker_reference: str, digest: str) -> bytes:
    """The simple signing payload for the manifest `digest` of repository `docker_reference`."""
    return canonical({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": SIGNATURE_TYPE,
        },
        "optional": None,
    })


def layer(blob: bytes, signature: bytes) -> dict[str, Any]:
    """The descriptor of one signature: the payload blob with its signature annotation."""
    return {"mediaType": PAYLOAD_MEDIA_TYPE, "digest": _digest(blob), "size": len(blob),
            "annotations": {SIGNATURE_ANNOTATION: base64.b64encode(signature).decode()}}


def sign(docker_reference: str, digest: str, signer: Signer) -> tuple[bytes, dict[str, Any]]:
    """(payload, layer descriptor) of `signer`'s signature on `digest`."""
    blob = payload(docker_reference, digest)
    return blob, layer(blob, signer.sign(blob))


def manifest(layers: Sequence[dict[str, Any]]) -> tuple[bytes, bytes]:
    """(config, manifest) of the signature image holding `layers`: cosign's empty-image config
    (its rootfs lists the payloads), so tools that pull it as an image can."""
    config = canonical({"architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
                        "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                        "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d in layers]}})
    document = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": _digest(config), "size": len(config)},
                "layers": list(layers)}
    return config, canonical(document)


def check(blob: bytes, descriptor: dict[str, Any], digest: str, keys: Sequence[PublicKey]) -> PublicKey | None:
    """The key whose signature in `descriptor` covers `blob`, a payload naming `digest`; None
    when no key verifies it or the payload names another manifest."""
    import json

    if descriptor.get("mediaType") != PAYLOAD_MEDIA_TYPE or _digest(blob) != descriptor.get("digest"):
        return None
    try:
        critical = json.loads(blob)["critical"]
        named, kind = critical["image"]["docker-manifest-digest"], critical["type"]
        signature = base64.b64decode((descriptor.get("annotations") or {})[SIGNATURE_ANNOTATION], validate=True)
    except (ValueError, KeyError, TypeError):
        return None
    if named != digest or kind != SIGNATURE_TYPE:
        return None
    return next((k for k in keys if k.verifies(signature, blob)), None)


def _digest(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()
