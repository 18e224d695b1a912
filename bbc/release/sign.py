"""Signing a release: every manifest it releases (each platform's image and each multi-platform
index) gets its cosign signature, SLSA provenance and (an image) its SBOM attestation, before
any release tag moves (bbc/release/promote.py calls `release` between writing the manifests and
tagging them). A failure here is a failed promotion: no tag moved.

What to say about each manifest comes from `Signing` (the run fills it: bbc/run/handlers/release.py);
what is already signed by this key is left as it is (bbc/release/signing/attach.py), so a release
run again writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bbc.adapters.registry.protocol import RegistryAPI
from bbc.adapters.registry.client import Manifest
from bbc.errors import BbcError, SigningError
from bbc.release.signing.attach import Signed, sign_manifest
from bbc.release.signing.provenance import ProvenanceInput
from bbc.release.signing.signer import Signer

# image -> the digest of its release (this release's manifest, or the registry's X.Y.Z)
Released = Callable[[str], str]


@dataclass(frozen=True)
class Signing:
    """How a release signs: the signer, and what it says about a unit or image."""

    signer: Signer
    provenance: Callable[[str, Released], ProvenanceInput]  # (unit or image, released) -> its facts
    sbom: Callable[[str], bytes | None]  # a unit's CycloneDX document (None: none to attest)
    docker_reference: Callable[[str], str]  # image -> the repository consumers pull (`reg/acme/base`)


def release(reg: RegistryAPI, repo_of: Callable[[str], str], manifests: Mapping[str, Manifest],
            images: Mapping[str, Sequence[str]], signing: Signing, released: Released,
            on_event: Callable[[str], None]) -> list[Signed]:
    """Sign each image of `images` (image -> its units, [image] for one platform): each unit's
    manifest, then the index of a multi-platform image. `manifests` holds each by name."""
    out: list[Signed] = []
    for image, names in images.items():
        todo = list(names) + ([image] if list(names) != [image] else [])
        for name in todo:
            manifest = manifests.get(name)
            if manifest is None:
                raise SigningError(f"{name}: no manifest to sign", tip="run `bbc release` again; no tag was moved")
            try:
                signed = sign_manifest(reg, repo_of(image), manifest, signing.signer, name=name,
                                       docker_reference=signing.docker_reference(image),
                                       provenance=signing.provenance(name, released),
                                       sbom=signing.sbom(name) if name != image or todo == [image] else None)
            except SigningError:
                raise
            except BbcError as exc:
                raise SigningError(f"{name}: signing {manifest.digest[:19]} failed: {exc.message}",
                                   tip="no release tag was moved; run `bbc release` again") from None
            what = "signed" if signed.written else "already signed"
            on_event(f"[{name}] {what} {manifest.digest[:19]}: cosign signature, provenance"
                     + (", SBOM attestation" if name != image or todo == [image] else ""))
            out.append(signed)
    return out
