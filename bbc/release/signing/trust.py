"""The gates that need a signature before bbc builds on an image or pins it (issue 23):

- `policy.signed_parents`: a parent's (or used image's) build pulled from the registry, a
  parent brought to another engine of a pool, and what `bbc rollout` pins must be a release
  that `bbc verify` accepts with `signing.public_keys` (signature, provenance, SBOM attestation,
  the provenance against the image's labels);
- `policy.trusted_bases`: an external base under a listed prefix must carry a cosign signature
  by one of that prefix's keys (what buildx's build policy checks of base images).

Each check is by digest: what was verified is what is pulled or pinned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbc.errors import BbcError
from bbc.release.signing import keys as keys_mod
from bbc.release.signing import verify
from bbc.release.signing.signer import PublicKey


@dataclass(frozen=True)
class Outcome:
    """What verifying one release by digest came to."""

    digest: str
    ok: bool
    reason: str = ""  # the first failure, for a one-line refusal
    unsigned: bool = False  # no signature at all (a candidate no release signed yet)


def release(reg: Any, repository: str, reference: str, keys: Sequence[PublicKey]) -> Outcome:
    """`repository`:`reference` verified as `bbc verify` does, by the digest it names now."""
    manifest = reg.manifest(repository, reference)
    if manifest is None:
        raise BbcError(f"{reg.host}/{repository}: no manifest {reference}")
    verdict = verify.verify(reg, repository, manifest.digest, keys)
    if verdict.ok:
        return Outcome(manifest.digest, True)
    first = verdict.failures[0]
    unsigned = first.what == "signature" and first.detail.startswith("no signature at")
    where = f" ({first.platform})" if first.platform else ""
    return Outcome(manifest.digest, False, f"{first.what}{where}: {first.detail}", unsigned)


def public_keys(paths: Sequence[Path]) -> list[PublicKey]:
    return keys_mod.load_public_keys(list(paths))


def base_prefix(ref: str, trusted: Mapping[str, Sequence[Path]]) -> str | None:
    """The longest `trusted_bases` prefix `ref` falls under, or None."""
    found = [p for p in trusted if ref.startswith(p)]
    return max(found, key=len) if found else None


def base(ref: str, digest: str, keys: Sequence[PublicKey]) -> str | None:
    """Why the external base `ref` at `digest` is not signed by one of `keys`, or None when it is."""
    from bbc.adapters.registry.client import Registry, split_image_name
    from bbc.model import dockerfile

    host, repository = split_image_name(dockerfile.parse_reference(ref).name)
    check = verify.signature(Registry(host), repository, digest, keys)
    return None if check.ok else check.detail
