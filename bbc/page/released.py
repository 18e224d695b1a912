"""What the registry holds: per unit, the manifest X.Y.Z names, whether it is this build (its
fingerprint label, as `bbc status` compares it) and when that build was made; per image, its
signature status where bbc.yaml has `signing:`. Units are asked eight at a time."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bbc.adapters.engine import ImageInfo
from bbc.adapters.registry.client import INDEX_TYPES, Registry, split_image_name
from bbc.errors import BbcError
from bbc.model import labels, platforms, refs
from bbc.model.hierarchy import Hierarchy
from bbc.page.model import Release, Signature

RELEASED = "released"
NOT_RELEASED = "not released"
DIFFERS = "differs (bump the version)"
UNKNOWN = "unknown"


def releases(hierarchy: Hierarchy, builds: dict[str, tuple[str | None, ImageInfo | None]],
             client: Callable[[str], Registry]) -> dict[str, Release]:
    """{unit: Release} for every unit of `hierarchy` (a hierarchy of units); `builds`: each
    unit's fingerprint and local build; `client(host)`."""

    def one(unit: str) -> Release:
        host, repository = split_image_name(hierarchy.config.ref(unit))
        platform = hierarchy[unit].platform if platforms.is_unit(unit) else None
        fingerprint, info = builds.get(unit, (None, None))
        try:
            return _release(client(host), repository, refs.version_tag(hierarchy[unit].version), platform,
                            fingerprint, info)
        except BbcError as exc:
            return Release(UNKNOWN, detail=exc.message)

    units = list(hierarchy.order)
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(units, pool.map(one, units)))


def _release(reg: Registry, repository: str, tag: str, platform: str | None, fingerprint: str | None,
             info: ImageInfo | None) -> Release:
    top = reg.manifest(repository, tag)
    if top is None:
        return Release(NOT_RELEASED)
    digest = top.digest
    if top.media_type in INDEX_TYPES:
        wanted = platform or platforms.native()
        entry = next((e for e in top.json().get("manifests") or []
                      if platforms.matches(platforms.of_oci(e.get("platform") or {}), wanted)), None)
        if entry is None:
            return Release(DIFFERS, top.digest, detail=f"{tag} holds no {wanted} image")
        digest = str(entry.get("digest"))
    # the local build was pushed (or pulled) as this very manifest: one request answers it
    if info is not None and any(d.partition("@")[2] == digest for d in info.digests) \
            and info.labels.get(labels.FINGERPRINT) == fingerprint:
        return Release(RELEASED, top.digest, _when(info.created))
    manifest = reg.manifest(repository, digest) if digest != top.digest else top
    if manifest is None:
        return Release(DIFFERS, top.digest, detail=f"{tag} names {digest}, which the registry lacks")
    config = _config(reg, repository, manifest.json())
    there = ((config.get("config") or {}).get("Labels") or {}).get(labels.FINGERPRINT)
    state = RELEASED if fingerprint is not None and there == fingerprint else DIFFERS
    return Release(state, top.digest, str(config.get("created") or "") or None)


def _when(created: str) -> str | None:
    """An image's creation time as ISO 8601: the engine's listing gives seconds since 1970."""
    if created.isdigit():
        from datetime import datetime, timezone

        return datetime.fromtimestamp(int(created), timezone.utc).isoformat(timespec="seconds")
    return created or None


def _config(reg: Registry, repository: str, manifest: dict[str, Any]) -> dict[str, Any]:
    digest = (manifest.get("config") or {}).get("digest")
    if not isinstance(digest, str):
        return {}
    data = json.loads(reg.blob(repository, digest))
    return data if isinstance(data, dict) else {}


def signatures(hierarchy: Hierarchy, released: dict[str, Release], client: Callable[[str], Registry]) -> dict[str, Signature]:
    """{image: Signature} for the images whose X.Y.Z is in the registry (bbc verify's checks,
    with bbc.yaml's `signing.public_keys`); hierarchy: the images, not units."""
    from bbc.release.signing import keys as key_files
    from bbc.release.signing import verify

    config = hierarchy.config
    try:
        trusted = key_files.load_public_keys(list(config.signing.public_keys))
    except BbcError as exc:
        return {name: Signature(UNKNOWN, exc.message) for name in hierarchy.order}
    out: dict[str, Signature] = {}
    for name in hierarchy.order:
        if not _is_released(name, released):
            out[name] = Signature(UNKNOWN, "not released: nothing to verify")
            continue
        host, repository = split_image_name(config.ref(name))
        try:
            verdict = verify.verify(client(host), repository, refs.version_tag(hierarchy[name].version), trusted)
        except BbcError as exc:
            out[name] = Signature(UNKNOWN, exc.message)
            continue
        out[name] = Signature("verified", "signature, provenance and SBOM attestation verify") if verdict.ok else \
            Signature("failed", "; ".join(_lines(c.detail for c in verdict.failures)))
    return out


def _is_released(image: str, released: dict[str, Release]) -> bool:
    return any(platforms.image_of(u) == image and r.digest for u, r in released.items())


def _lines(details: Any) -> Sequence[str]:
    return list(dict.fromkeys(details))[:3]


def clients() -> Callable[[str], Registry]:
    """One client per registry host, shared by the threads that ask it."""
    made: dict[str, Registry] = {}

    def client(host: str) -> Registry:
        if host not in made:
            made[host] = Registry(host)
        return made[host]

    return client
