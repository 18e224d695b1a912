"""A disk cache of registry answers named by digest: a manifest or blob fetched by its digest
never changes, so a later run reads it from `.bbc/cache/registry/` instead of the network.
Every read is checked against its digest; a cache that cannot be written is only slower."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bbc.adapters import state


def _path(root: Path, kind: str, digest: str) -> Path | None:
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm != "sha256" or len(hexdigest) != 64:
        return None
    return root / kind / hexdigest


def read(root: Path | None, kind: str, digest: str) -> tuple[str, bytes] | None:
    """(media type, bytes) kept under `digest`, or None (absent, unreadable, or not matching)."""
    path = _path(root, kind, digest) if root is not None else None
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    media_type, _, raw = data.partition(b"\n")
    if "sha256:" + hashlib.sha256(raw).hexdigest() != digest:
        return None
    return media_type.decode("utf-8", errors="replace"), raw


def write(root: Path | None, kind: str, digest: str, raw: bytes, media_type: str = "") -> None:
    """Keep `raw` under `digest` when it is what the digest names (written whole or not at all)."""
    path = _path(root, kind, digest) if root is not None else None
    if path is None or "sha256:" + hashlib.sha256(raw).hexdigest() != digest:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        state.atomic_write(path, media_type.encode() + b"\n" + raw)
    except OSError:
        pass
