"""An image's config and one layer at a time, read from the engine's own storage when the
engine runs on this machine: what `docker save` streams, without the rest of the image.

The Engine API hands out layer contents only as a whole image (`docker save`: every layer,
the parent's too, copied by the daemon before it streams), so a child's SBOM paid for its
whole lineage. dockerd keeps, per layer, the files (overlay2: `<root>/overlay2/<cache-id>/diff`)
and the tar-split record of the tar they came in (`image/overlay2/layerdb/sha256/<chain
ID>/tar-split.json.gz`: every header and padding byte, and each file's name and size) -- the
very record `docker save` rebuilds a layer's tar from. Reading the two gives that tar byte for
byte, so the layer is scanned exactly as from an export.

Nothing is taken on trust: the config's sha256 must be the image ID, the tar's sha256 the
layer's diff ID (the content addresses the engine itself uses), or the caller is told to use
the export. Only dockerd on overlay2 behind a unix socket of this machine, with its data root
readable (root, as here), is read this way; anything else (another driver, the containerd
image store, Podman, a remote engine, no permission) returns None and the export is used.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbc.adapters.docker.api import Socket
from bbc.adapters.engine import Engine

_BLOCK = 1 << 20


def of(engine: Engine) -> Store | None:
    """The storage of `engine` when it can be read here, else None."""
    raw = getattr(engine, "raw", None)  # DockerEngine's unix socket: the engine is on this machine
    return _store(raw.path) if isinstance(raw, Socket) else None


@functools.lru_cache(maxsize=8)
def _store(socket_path: str) -> Store | None:
    try:
        status, body = Socket(socket_path, timeout=10).get("/info")
        info = json.loads(body) if status == 200 else {}
    except (OSError, ValueError):
        return None
    root = info.get("DockerRootDir") if isinstance(info, dict) else None
    if not isinstance(root, str) or info.get("Driver") != "overlay2":
        return None
    store = Store(Path(root))
    return store if os.access(store.images, os.R_OK | os.X_OK) else None


def chain_id(diff_ids: list[str] | tuple[str, ...]) -> str:
    """The OCI chain ID of a layer stack: its first diff ID, then sha256("<chain> <diff ID>")."""
    chain = diff_ids[0]
    for diff_id in diff_ids[1:]:
        chain = "sha256:" + hashlib.sha256(f"{chain} {diff_id}".encode()).hexdigest()
    return chain


@dataclass(frozen=True)
class Store:
    root: Path  # the engine's data root (`docker info`: DockerRootDir)

    @property
    def images(self) -> Path:
        return self.root / "image" / "overlay2"

    def config(self, image_id: str) -> dict[str, Any] | None:
        """The image's config JSON (what an export's `<id>.json` holds), when its sha256 is the ID."""
        algo, _, hexdigest = image_id.partition(":")
        try:
            data = (self.images / "imagedb" / "content" / algo / hexdigest).read_bytes()
        except (OSError, ValueError):
            return None
        if algo != "sha256" or hashlib.sha256(data).hexdigest() != hexdigest:
            return None
        try:
            config = json.loads(data)
        except ValueError:
            return None
        return config if isinstance(config, dict) else None

    def layer(self, diff_ids: list[str] | tuple[str, ...]) -> LayerTar | None:
        """The tar of the last layer of this stack (as the export holds it), or None when the
        engine keeps it in a way this reader does not know."""
        entry = self.images / "layerdb" / "sha256" / chain_id(diff_ids).partition(":")[2]
        try:
            if (entry / "diff").read_text().strip() != diff_ids[-1]:
                return None
            files = self.root / "overlay2" / (entry / "cache-id").read_text().strip() / "diff"
        except OSError:
            return None
        split = entry / "tar-split.json.gz"
        return LayerTar(diff_ids[-1], split, files) if split.is_file() and files.is_dir() else None


class Broken(Exception):
    """The stored layer is not what its diff ID says (or could not be read): use the export."""


class LayerTar:
    """One layer's tar, put together from its tar-split record and its files, hashed on the way:
    `chunks()` raises Broken at its end when the sha256 is not the diff ID."""

    def __init__(self, diff_id: str, split: Path, files: Path) -> None:
        self.diff_id = diff_id
        self.split = split
        self.files = files
        self.size = 0

    def chunks(self) -> Iterator[bytes]:
        digest = hashlib.sha256()
        try:
            for chunk in self._assemble():
                digest.update(chunk)
                self.size += len(chunk)
                yield chunk
        except (OSError, ValueError, KeyError) as exc:
            raise Broken(f"{self.diff_id}: {exc}") from None
        if "sha256:" + digest.hexdigest() != self.diff_id:
            raise Broken(f"{self.diff_id}: the stored files are another layer")

    def _assemble(self) -> Iterator[bytes]:
        with gzip.open(self.split, "rt", encoding="utf-8") as lines:
            for line in lines:
                entry = json.loads(line)
                if entry["type"] == 2:  # a segment: headers, padding, the end of the archive
                    yield base64.b64decode(entry.get("payload") or "")
                elif entry.get("size"):  # a file's content, from the layer's files
                    yield from self._file(entry)

    def _file(self, entry: dict[str, Any]) -> Iterator[bytes]:
        raw = entry.get("name_raw")
        name = base64.b64decode(raw) if raw else os.fsencode(entry["name"])
        path = os.path.join(os.fsencode(self.files), os.path.normpath(b"/" + name).lstrip(b"/"))
        left = int(entry["size"])
        with open(path, "rb") as f:
            while left > 0:
                block = f.read(min(left, _BLOCK))
                if not block:
                    raise ValueError(f"{name!r} is shorter than its tar entry")
                left -= len(block)
                yield block
