"""`sign_manifest`: everything a release attaches to one released manifest, in one call.

For a platform's image manifest and for a multi-platform index alike:
- cosign's simple signing signature at tag `sha256-<hex>.sig` (bbc/release/signing/cosign.py);
- the SLSA v1 provenance and the CycloneDX SBOM as in-toto statements, each signed into a
  Sigstore bundle v0.3 and attached as an OCI 1.1 referrer (bbc/release/signing/referrers.py).
It writes only what is missing: signatures are deterministic, and an attestation of a predicate
type this key already signed for the manifest is kept as it is (a release run again has new
build times, but the manifest's provenance is the first one: write-once holds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bbc.release.signing import bundle, cosign, referrers
from bbc.release.signing.provenance import ProvenanceInput, provenance_statement
from bbc.release.signing.signer import Signer
from bbc.release.signing.statement import CYCLONEDX, SLSA_PROVENANCE, sbom_statement, subject_digests

CONTENT = "dev.sigstore.bundle.content"
PREDICATE_TYPE = "dev.sigstore.bundle.predicateType"


@dataclass(frozen=True)
class Signed:
    """What `sign_manifest` found and wrote for one manifest."""

    digest: str
    signature_tag: str
    signature_written: bool
    attestations: tuple[referrers.Attached, ...]  # one per statement signed now or found signed
    kept: tuple[str, ...] = ()  # predicate types this key had attested already, left as they were

    @property
    def written(self) -> bool:
        return self.signature_written or any(a.written for a in self.attestations)


def sign_manifest(reg: Any, repository: str, manifest: Any, signer: Signer, *, name: str, docker_reference: str,
                  provenance: ProvenanceInput | None = None, sbom: bytes | None = None) -> Signed:
    """Sign `manifest` (a bbc.registry.Manifest in `repository`; reg: its bbc.registry.Registry)
    with `signer` and attach its provenance and SBOM attestations (each when given). `name` is
    the image's name in statements (`base`, `base@arm64`); `docker_reference` the repository as
    consumers pull it (`registry.example/acme/base`), for cosign's payload."""
    subject = referrers.Subject(manifest.digest, manifest.media_type, len(manifest.raw))
    signature_written = _cosign(reg, repository, manifest.digest, signer, docker_reference)
    present = _attested(reg, repository, manifest.digest, signer)
    statements: list[tuple[str, bytes]] = []
    if provenance is not None and SLSA_PROVENANCE not in present:
        statements.append((SLSA_PROVENANCE, provenance_statement(name, manifest.digest, provenance)))
    if sbom is not None and CYCLONEDX not in present:
        statements.append((CYCLONEDX, sbom_statement(name, manifest.digest, sbom)))
    artifacts = [_artifact(kind, bundle.sign(data, signer)) for kind, data in statements]
    attached = referrers.attach(reg, repository, subject, artifacts) if artifacts else []
    return Signed(manifest.digest, cosign.tag(manifest.digest), signature_written, tuple(attached),
                  tuple(sorted(present)))


def _artifact(predicate_type: str, data: bytes) -> referrers.Artifact:
    import hashlib

    return referrers.Artifact(bundle.MEDIA_TYPE, data, f"sha256-{hashlib.sha256(data).hexdigest()}.sigstore.json",
                              {CONTENT: "dsse-envelope", PREDICATE_TYPE: predicate_type})


def _cosign(reg: Any, repository: str, digest: str, signer: Signer, docker_reference: str) -> bool:
    """Add `signer`'s simple signing signature to the manifest's `.sig` tag; whether it wrote."""
    tag = cosign.tag(digest)
    found = reg.manifest(repository, tag)
    layers = [d for d in (found.json().get("layers") or []) if isinstance(d, dict)] if found is not None else []
    blob, layer = cosign.sign(docker_reference, digest, signer)
    if layer in layers:
        return False
    config, raw = cosign.manifest(layers + [layer])
    reg.put_blob(repository, blob)
    reg.put_blob(repository, config)
    reg.put_manifest(repository, tag, cosign.OCI_MANIFEST, raw)
    return True


def _attested(reg: Any, repository: str, digest: str, signer: Signer) -> set[str]:
    """The predicate types of the manifest's bundles that `signer`'s key signed."""
    from bbc.errors import BbcError

    key = signer.public_key()
    out: set[str] = set()
    for descriptor in referrers.listed(reg, repository, digest):
        if descriptor.get("artifactType") != bundle.MEDIA_TYPE:
            continue
        try:
            _, data = referrers.content(reg, repository, descriptor)
            opened = bundle.open_bundle(data, [key], f"{repository}@{descriptor['digest']}")
        except BbcError:
            continue  # another key's, or not a bundle bbc can read: not this key's attestation
        if digest in subject_digests(opened.statement):
            out.add(opened.predicate_type)
    return out
