"""What each layer of a built image holds, without running the image (bbc/inside/layerscan.py
reads one layer's tar), put together per image: its layers in order with the Dockerfile step
of each, its user, labels, environment and history, and its OS.

A layer is read once: what it holds is kept by diff ID (bbc/inside/layercache.py), so an
image reads only the layers no image read before -- a child, only its own. Where the engine's
storage can be read on this machine (bbc/inside/storage.py), each of those layers is taken
from there on its own, checked against its diff ID; elsewhere the engine's export (`docker
save`) streams the whole image, and the layers read before are only hashed and recognised.
The result is also kept per image ID under `.bbc/cache/contents/`, since an image ID names
its content exactly.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bbc.adapters import state
from bbc.adapters.engine import Engine
from bbc.errors import BbcError
from bbc.inside import layercache, layerscan, secrets, storage
from bbc.inside.layerscan import Package, Scan

__all__ = ["Content", "Layer", "Package", "cached", "read"]

_CACHE_VERSION = 3  # 3: Package.files (a Python package's RECORD digest)
_SMALL = 8 << 20


@dataclass(frozen=True)
class Layer:
    diff_id: str
    created_by: str  # the Dockerfile instruction, from the image history
    size: int
    sources: dict[str, tuple[Package, ...]] = field(default_factory=dict)  # db path -> its packages
    deleted: tuple[str, ...] = ()  # whiteouts: paths this layer removes from the layers below
    opaque: tuple[str, ...] = ()  # folders whose lower content this layer hides
    caches: tuple[str, ...] = ()
    secrets: tuple[secrets.Hit, ...] = ()


@dataclass(frozen=True)
class Content:
    image_id: str
    user: str
    labels: dict[str, str]
    layers: tuple[Layer, ...]
    os_id: str = ""  # /etc/os-release ID (debian, alpine) for purls
    os_version: str = ""
    # issue 23, the no_secrets gate: the config's Env and every history step in full (empty
    # layers too: ARG, ENV), where a build arg's value shows (`RUN |1 TOKEN=... /bin/sh -c ...`)
    env: tuple[str, ...] = ()
    history: tuple[tuple[str, bool], ...] = ()  # (created_by, whether it made a layer)

    def to_json(self) -> dict[str, Any]:
        return {"version": _CACHE_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Content:
        layers = tuple(
            Layer(diff_id=l["diff_id"], created_by=l["created_by"], size=l["size"],
                  sources={k: tuple(Package(**p) for p in v) for k, v in l["sources"].items()},
                  deleted=tuple(l["deleted"]), opaque=tuple(l["opaque"]), caches=tuple(l["caches"]),
                  secrets=tuple(secrets.Hit(**h) for h in l["secrets"]))
            for l in data["layers"])
        return cls(data["image_id"], data["user"], data["labels"], layers, data["os_id"], data["os_version"],
                   tuple(data.get("env") or ()), tuple((str(h[0]), bool(h[1])) for h in data.get("history") or ()))


def read(engine: Engine, ref: str, root: Path | None = None) -> Content:
    """The image's layers and what they hold; from `.bbc/cache/contents/` when this image ID was
    read before, else each layer from the layer cache or read once (root given: kept there)."""
    info = engine.inspect(ref)
    if info is None:
        raise BbcError(f"no image {ref} on the engine at {engine.address}", tip="build it first: bbc build")
    cache = _cache_path(root, info.id) if root else None
    if cache is not None:
        data = state.read_json(cache)
        if data is not None and data.get("version") == _CACHE_VERSION:
            return Content.from_json(data)
    content = _from_storage(engine, info.id, root) or _from_export(engine, info.id, root)
    if cache is not None:
        state.write_json(cache, content.to_json())
    return content


def cached(root: Path, image_id: str) -> Content | None:
    data = state.read_json(_cache_path(root, image_id))
    return Content.from_json(data) if data is not None and data.get("version") == _CACHE_VERSION else None


def _cache_path(root: Path, image_id: str) -> Path:
    return state.bbc_dir(root) / "cache" / "contents" / f"{image_id.replace(':', '-')}.json"


def _from_storage(engine: Engine, image_id: str, root: Path | None) -> Content | None:
    """Each layer not read before, alone, from the engine's storage; None where it cannot be."""
    store = storage.of(engine)
    config = store.config(image_id) if store is not None else None
    if store is None or config is None:
        return None
    diff_ids = _diff_ids(config)
    scans = []
    for i, diff_id in enumerate(diff_ids):
        found = layercache.get(root, diff_id) if root is not None else None
        if found is None:
            found = _read_stored(store, diff_ids[:i + 1])
            if found is None:
                return None
            if root is not None:
                layercache.put(root, diff_id, found)
        scans.append(found)
    return _content(image_id, config, scans)


def _read_stored(store: storage.Store, stack: list[str]) -> Scan | None:
    tar = store.layer(stack)
    if tar is None:
        return None
    stream = io.BufferedReader(_Chunks(tar.chunks()), 1 << 20)
    try:
        found = layerscan.scan(stream)
        while stream.read(1 << 20):  # to the end, where the stream is checked against the diff ID
            pass
    except (storage.Broken, tarfile.TarError):
        return None
    found.size = tar.size
    return found


def _from_export(engine: Engine, image_id: str, root: Path | None) -> Content:
    """The whole image through the engine's export; the layers read before (by any image) are
    only hashed: a member with the size of one of them is taken when its digest matches."""
    known: dict[str, Scan] = {}
    if root is not None:
        for diff_id in engine.diff_ids(image_id):
            if (found := layercache.get(root, diff_id)) is not None:
                known[diff_id] = found
    try:
        config, scans = _read_export(engine.export(image_id), image_id, known)
    except _Missed:
        config, scans = _read_export(engine.export(image_id), image_id, {})
    if root is not None:
        for diff_id, found in zip(_diff_ids(config), scans):
            if diff_id not in known:
                layercache.put(root, diff_id, found)
    return _content(image_id, config, scans)


def _diff_ids(config: dict[str, Any]) -> list[str]:
    return [str(d) for d in (config.get("rootfs") or {}).get("diff_ids") or ()]


def _content(image_id: str, config: dict[str, Any], scans: list[Scan]) -> Content:
    """An image's Content from its config and what each of its layers holds, in order."""
    diff_ids = _diff_ids(config)
    steps = [h.get("created_by", "") for h in config.get("history") or () if not h.get("empty_layer")]
    release: dict[str, str] = {}
    layers: list[Layer] = []
    for i, scan in enumerate(scans):
        release.update(scan.os_release)  # a later layer's /etc/os-release wins
        layers.append(Layer(
            diff_id=diff_ids[i] if i < len(diff_ids) else "", created_by=_short_step(steps[i] if i < len(steps) else ""),
            size=scan.size, sources=scan.sources, deleted=tuple(scan.deleted), opaque=tuple(scan.opaque),
            caches=tuple(scan.caches), secrets=tuple(scan.secrets)))
    cfg = config.get("config") or {}
    history = tuple((str(h.get("created_by", "")), not h.get("empty_layer")) for h in config.get("history") or ())
    return Content(image_id, str(cfg.get("User") or ""), dict(cfg.get("Labels") or {}), tuple(layers),
                   release.get("ID", ""), release.get("VERSION_ID", ""), tuple(str(e) for e in cfg.get("Env") or ()),
                   history)


class _Missed(Exception):
    """A layer taken for a known one by its size was another: read everything again."""


class _Chunks(io.RawIOBase):
    """A file over an iterator of byte chunks, for tarfile's stream mode."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _read_export(chunks: Iterator[bytes], image_id: str, known: dict[str, Scan]) -> tuple[dict[str, Any], list[Scan]]:
    """The image's config and what each layer holds, in the manifest's order."""
    by_size: dict[int, list[tuple[str, Scan]]] = {}
    for diff_id, found in known.items():
        by_size.setdefault(found.size, []).append((diff_id, found))
    scans: dict[str, Scan] = {}  # member name (legacy `<id>/layer.tar`, OCI `blobs/sha256/…`) -> scan
    jsons: dict[str, Any] = {}
    with tarfile.open(fileobj=io.BufferedReader(_Chunks(chunks), 1 << 20), mode="r|") as outer:
        for member in outer:
            if not member.isfile():
                continue
            f = outer.extractfile(member)
            if f is None:
                continue
            name = member.name
            # legacy layout: `<id>/layer.tar` and `<config>.json`; OCI layout (Docker 25+):
            # `blobs/sha256/<digest>`, JSON (config, manifests) told from layer tars by a peek
            is_json = name.endswith(".json") or (name.startswith("blobs/") and f.peek(1)[:1] == b"{")  # type: ignore[attr-defined]
            if is_json:
                try:
                    jsons[name] = json.loads(f.read())
                except ValueError:
                    pass
            elif member.size in by_size and (name.endswith("/layer.tar") or name.startswith("blobs/")):
                # small layers (WORKDIR, COPY of one file) often share a size: kept in memory, so
                # a miss is parsed from there; a big one is hashed as it streams
                small = member.size <= _SMALL
                data = f.read() if small else b""
                digest = hashlib.sha256(data)
                while not small and (block := f.read(1 << 20)):
                    digest.update(block)
                same = [s for d, s in by_size[member.size] if d == "sha256:" + digest.hexdigest()]
                if same:
                    scans[name] = same[0]
                elif small:
                    scans[name] = layerscan.scan(io.BytesIO(data))
                    scans[name].size = member.size
                else:
                    raise _Missed()
            elif name.endswith("/layer.tar") or name.startswith("blobs/"):
                scans[name] = layerscan.scan(f)
                scans[name].size = member.size
    manifest = jsons.get("manifest.json")
    if not isinstance(manifest, list) or not manifest:
        raise BbcError(f"export of {image_id[:19]} holds no manifest.json")
    config = jsons.get(manifest[0]["Config"]) or {}
    return config, [scans.get(member, Scan()) for member in manifest[0]["Layers"]]


def _short_step(created_by: str) -> str:
    step = created_by.removeprefix("/bin/sh -c ").removeprefix("#(nop) ").strip()
    return step if len(step) <= 160 else step[:157] + "..."
