"""in-toto Statements v1 about one manifest: its subject is the manifest's digest.

Built and checked with in-toto-attestation (the in-toto project's bindings: a Statement needs
a subject with a digest, a predicate type and a predicate). They are protobuf messages, whose
Struct turns every number into a float (`"version": 1` into `1.0`); so the predicate is written
out as given and only the statement's frame comes from the message. The bytes are canonical
(sorted keys, no spaces): the same statement is always the same payload, so the same signature.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bbc.errors import SigningError

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
CYCLONEDX = "https://cyclonedx.org/bom"


def canonical(data: Any) -> bytes:
    """The one JSON encoding of what bbc signs and pushes: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(digest: str) -> str:
    """`sha256:ab..` -> `ab..`; anything else is refused."""
    algorithm, _, value = digest.partition(":")
    if algorithm != "sha256" or len(value) != 64:
        raise SigningError(f"{digest!r} is not a sha256 digest")
    return value


def statement(name: str, digest: str, predicate_type: str, predicate: Mapping[str, Any]) -> bytes:
    """A Statement v1 that `predicate` holds of the manifest `name`@`digest`, canonical JSON."""
    from google.protobuf import json_format
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement

    subject = ResourceDescriptor(name=name, digest={"sha256": sha256_hex(digest)}).pb
    message = Statement([subject], predicate_type, dict(predicate))
    try:
        message.validate()
    except ValueError as exc:
        raise SigningError(f"in-toto statement about {name}: {exc}") from None
    frame = json_format.MessageToDict(message.pb)
    frame["predicate"] = predicate
    return canonical(frame)


def sbom_statement(name: str, digest: str, document: bytes) -> bytes:
    """The CycloneDX JSON `document` as an attestation about the manifest (predicate type
    https://cyclonedx.org/bom, as cosign's `--type cyclonedx` writes it)."""
    try:
        predicate = json.loads(document)
    except ValueError:
        predicate = None
    if not isinstance(predicate, dict) or predicate.get("bomFormat") != "CycloneDX":
        raise SigningError(f"SBOM of {name}: not a CycloneDX JSON document")
    return statement(name, digest, CYCLONEDX, predicate)


def parse(payload: bytes, where: str) -> dict[str, Any]:
    """A signed payload read back: a Statement v1 with a subject and a predicate, or an error."""
    try:
        data = json.loads(payload)
    except ValueError:
        data = None
    if (not isinstance(data, dict) or data.get("_type") != STATEMENT_TYPE
            or not isinstance(data.get("subject"), list) or not isinstance(data.get("predicate"), dict)):
        raise SigningError(f"{where}: the signed payload is not an in-toto Statement v1")
    return data


def subject_digests(data: Mapping[str, Any]) -> list[str]:
    """`sha256:<hex>` of every subject of a parsed statement."""
    return [f"sha256:{s['digest']['sha256']}" for s in data.get("subject") or []
            if isinstance(s, dict) and isinstance(s.get("digest"), dict) and isinstance(s["digest"].get("sha256"), str)]
