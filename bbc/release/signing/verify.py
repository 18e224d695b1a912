"""What `bbc verify REF` checks, against the registry alone (no engine, no bbc.yaml needed).

For the manifest REF names, and for each platform's manifest when it is a multi-platform index:
- a cosign simple signing signature at `sha256-<hex>.sig` verifies with a trusted key (none: the
  manifest is unsigned, or the tag was moved to a manifest bbc did not release);
- every Sigstore bundle attached to it verifies with a trusted key (one that does not: tampered,
  or signed by a key not trusted) and its statement's subject is this manifest's digest;
- the SLSA provenance is there; on an image manifest the SBOM attestation is there too;
- the provenance agrees with the image's own labels, which bbc set when it built it (what
  `bbc ancestry` walks): its name and version, the parent it was built on (the `parent`
  dependency's manifest has the config the `bbc.parent.id` label names) and, for a root, the
  external base's digest. A `uses` dependency leaves no label: it is listed, not compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bbc.adapters.registry.names import INDEX_TYPES
from bbc.errors import BbcError
from bbc.model import labels
from bbc.release.signing import bundle, cosign, referrers
from bbc.release.signing.provenance import dependencies_of
from bbc.release.signing.signer import PublicKey
from bbc.release.signing.statement import CYCLONEDX, SLSA_PROVENANCE, subject_digests


@dataclass(frozen=True)
class Check:
    """One thing verified about one manifest."""

    what: str  # signature | attestation | provenance | sbom | image | parent | base | uses
    ok: bool
    detail: str
    digest: str
    platform: str = ""  # of a multi-platform index's entry


@dataclass(frozen=True)
class Verdict:
    reference: str
    digest: str  # what REF named when it was verified
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def verify(reg: Any, repository: str, reference: str, keys: Sequence[PublicKey]) -> Verdict:
    """Verify `repository`:`reference` (a tag or digest) in `reg` (a bbc.registry.Registry)."""
    from bbc.errors import SigningError

    if not keys:
        raise SigningError("no public key to verify with", tip="pass --key PEM or list signing.public_keys in bbc.yaml")
    manifest = reg.manifest(repository, reference)
    if manifest is None:
        raise BbcError(f"{reg.host}/{repository}: no manifest {reference}")
    checks = _manifest(reg, repository, manifest.digest, keys, index=manifest.media_type in INDEX_TYPES)
    if manifest.media_type in INDEX_TYPES:
        for entry in manifest.json().get("manifests") or []:
            platform = _platform(entry.get("platform") or {})
            found = reg.manifest(repository, str(entry.get("digest")))
            if found is None:
                checks.append(Check("image", False, "listed in the index, missing from the registry",
                                    str(entry.get("digest")), platform))
                continue
            checks += [_on(c, platform) for c in _manifest(reg, repository, found.digest, keys, index=False)]
    return Verdict(reference, manifest.digest, tuple(checks))


def _manifest(reg: Any, repository: str, digest: str, keys: Sequence[PublicKey], *, index: bool) -> list[Check]:
    checks = [signature(reg, repository, digest, keys)]
    found, attestation_checks = _attestations(reg, repository, digest, keys)
    checks += attestation_checks
    provenances = found.get(SLSA_PROVENANCE) or []
    checks.append(Check("provenance", bool(provenances),
                        "signed SLSA v1 provenance" if provenances else "missing provenance", digest))
    if not index:
        checks.append(Check("sbom", CYCLONEDX in found,
                            "signed CycloneDX SBOM" if CYCLONEDX in found else "missing SBOM attestation", digest))
        for predicate in provenances:  # each one signed must agree with the image
            checks += _ancestry(reg, repository, digest, predicate)
    return checks


def signature(reg: Any, repository: str, digest: str, keys: Sequence[PublicKey]) -> Check:
    """Whether a cosign signature at `sha256-<hex>.sig` by one of `keys` covers `digest`."""
    tag = cosign.tag(digest)
    found = reg.manifest(repository, tag)
    if found is None:
        return Check("signature", False, f"no signature at {tag}: the manifest is unsigned (was the tag moved "
                                         "to a manifest bbc did not release?)", digest)
    for layer in found.json().get("layers") or []:
        if isinstance(layer, dict) and isinstance(layer.get("digest"), str):
            key = cosign.check(reg.blob(repository, layer["digest"]), layer, digest, keys)
            if key is not None:
                return Check("signature", True, f"cosign signature by {key.source}", digest)
    return Check("signature", False, f"no signature at {tag} verifies with {_names(keys)} (wrong key?)", digest)


def _attestations(reg: Any, repository: str, digest: str,
                  keys: Sequence[PublicKey]) -> tuple[dict[str, list[dict[str, Any]]], list[Check]]:
    """Every bundle attached to `digest` opened: {predicate type: [predicate]}, and a failed
    check for each one that does not verify or is about another manifest."""
    found: dict[str, list[dict[str, Any]]] = {}
    checks: list[Check] = []
    for descriptor in referrers.listed(reg, repository, digest):
        if descriptor.get("artifactType") != bundle.MEDIA_TYPE:
            continue
        where = f"attestation {str(descriptor['digest'])[:19]}"
        try:
            document, data = referrers.content(reg, repository, descriptor)
            opened = bundle.open_bundle(data, keys, where)
        except BbcError as exc:
            checks.append(Check("attestation", False, exc.message, digest))
            continue
        if (document.get("subject") or {}).get("digest") != digest or digest not in subject_digests(opened.statement):
            checks.append(Check("attestation", False, f"{where}: about another manifest, not this one", digest))
            continue
        found.setdefault(opened.predicate_type, []).append(opened.statement["predicate"])
    return found, checks


def _ancestry(reg: Any, repository: str, digest: str, predicate: dict[str, Any]) -> list[Check]:
    """The provenance held against the labels bbc set on the image when it built it."""
    config = _config(reg, repository, digest)
    image_labels = (config.get("config") or {}).get("Labels") or {}
    params = (predicate.get("buildDefinition") or {}).get("externalParameters") or {}
    named = (str(params.get("image", "")).partition("@")[0], str(params.get("version", "")))
    labelled = (str(image_labels.get(labels.IMAGE, "")), str(image_labels.get(labels.VERSION, "")))
    checks = [Check("image", named == labelled, f"provenance says {named[0]} {named[1]}, labels say "
                                                f"{labelled[0] or '?'} {labelled[1] or '?'}", digest)]
    parents = dependencies_of(predicate, "parent")
    parent_id = image_labels.get(labels.PARENT_ID)
    if parents or parent_id:
        checks.append(_parent(reg, digest, parents, parent_id, config))
    elif image_labels.get(labels.BASE_DIGEST):
        bases = [d for _, d in dependencies_of(predicate, "base")]
        label = image_labels[labels.BASE_DIGEST]
        checks.append(Check("base", label in bases, f"built on {label[:19]}; provenance lists "
                                                    f"{', '.join(b[:19] for b in bases) or 'no base'}", digest))
    uses, used_ids = dependencies_of(predicate, "uses"), {i for _, i in labels.used_builds(image_labels).values()}
    if uses or used_ids:
        checks.append(_uses(reg, digest, uses, used_ids))
    return checks


def _uses(reg: Any, digest: str, uses: list[tuple[str, str]], used_ids: set[str]) -> Check:
    """The used images the provenance lists, by released digest, against the builds the image's
    `bbc.uses` label says it read (image IDs: config digests). A used image read on the build
    platform may be another platform's entry of its index than the image's own."""
    listed = ", ".join(f"{uri}@{d[:19]}" for uri, d in uses) or "none"
    unmatched = set(used_ids)
    for uri, used_digest in uses:
        try:
            configs = _config_digests(reg, uri, used_digest)
        except BbcError as exc:
            return Check("uses", False, f"{uri}@{used_digest[:19]}: {exc.message}", digest)
        if not configs & unmatched:
            return Check("uses", False, f"{uri}@{used_digest[:19]} is not a build the image was made with "
                                        f"(its label names {', '.join(sorted(i[:19] for i in used_ids)) or 'none'})",
                         digest)
        unmatched -= configs
    if unmatched:
        return Check("uses", False, f"provenance lists {listed}; the image was also made with "
                                    f"{', '.join(sorted(i[:19] for i in unmatched))}", digest)
    return Check("uses", True, f"{listed}: the builds the image was made with", digest)


def _config_digests(reg: Any, uri: str, digest: str) -> set[str]:
    """The config digest of a released manifest, or of every platform's image of an index."""
    client, repository, found = _released(reg, uri, digest)
    manifests = [found] if found.media_type not in INDEX_TYPES else [
        client.manifest(repository, str(e.get("digest"))) for e in found.json().get("manifests") or []
        if isinstance(e, dict) and isinstance(e.get("digest"), str)]
    return {str((m.json().get("config") or {}).get("digest", "")) for m in manifests if m is not None}


def _parent(reg: Any, digest: str, parents: list[tuple[str, str]], parent_id: str | None,
            config: dict[str, Any]) -> Check:
    if len(parents) != 1 or not parent_id:
        return Check("parent", False, f"provenance lists {len(parents)} parents; the image's label "
                                      f"{'names one' if parent_id else 'names none'}", digest)
    uri, parent_digest = parents[0]
    try:
        built_on = _config_digest(reg, uri, parent_digest, config)
    except BbcError as exc:
        return Check("parent", False, f"{uri}@{parent_digest[:19]}: {exc.message}", digest)
    same = built_on == parent_id
    return Check("parent", same, f"{uri}@{parent_digest[:19]} " + ("is the parent the image was built on" if same else
                 f"has config {built_on[:19]}, but the image was built on {parent_id[:19]}"), digest)


def _config_digest(reg: Any, uri: str, digest: str, child: dict[str, Any]) -> str:
    """The config digest of the parent manifest (of an index: the child's platform's)."""
    client, repository, found = _released(reg, uri, digest)
    if found.media_type in INDEX_TYPES:
        want = _platform(child)
        entry = next((e for e in found.json().get("manifests") or []
                      if _platform(e.get("platform") or {}) == want), None)
        found = client.manifest(repository, str(entry.get("digest"))) if entry else None
        if found is None:
            raise BbcError(f"the parent's index has no {want} image")
    return str((found.json().get("config") or {}).get("digest", ""))


def _released(reg: Any, uri: str, digest: str) -> tuple[Any, str, Any]:
    """The registry client for `uri` (`reg` when it is on reg's host), its repository there, and
    its manifest `digest`; raises when the registry does not hold it."""
    from bbc.adapters.registry.client import Registry, split_image_name

    host, repository = split_image_name(uri.rpartition(":")[0] if ":" in uri.rpartition("/")[2] else uri)
    client = reg if host == reg.host else Registry(host)
    found = client.manifest(repository, digest)
    if found is None:
        raise BbcError("not in the registry")
    return client, repository, found


def _config(reg: Any, repository: str, digest: str) -> dict[str, Any]:
    import json

    found = reg.manifest(repository, digest)
    config_digest = (found.json().get("config") or {}).get("digest") if found is not None else None
    data = json.loads(reg.blob(repository, config_digest)) if isinstance(config_digest, str) else {}
    return data if isinstance(data, dict) else {}


def _platform(data: dict[str, Any]) -> str:
    """`os/arch[/variant]` of an index entry's platform or an image config."""
    arch, variant = str(data.get("architecture", "")), str(data.get("variant", "") or "")
    if arch == "arm64" and variant == "v8":  # the default variant, written by some and not others
        variant = ""
    return "/".join(p for p in (str(data.get("os", "")), arch, variant) if p)


def _on(check: Check, platform: str) -> Check:
    return Check(check.what, check.ok, check.detail, check.digest, platform)


def _names(keys: Sequence[PublicKey]) -> str:
    return ", ".join(k.source for k in keys)
