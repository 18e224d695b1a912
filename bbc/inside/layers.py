"""What each layer of a built image holds, read from the engine's export (`docker save`) without
running the image: the package databases it writes (dpkg `status` and distroless `status.d`,
apk's `installed`, Python `*.dist-info`/`*.egg-info`), the paths it deletes (whiteouts), the
package-manager caches it leaves and the secrets it carries (bbc/secrets.py).

One pass over the stream; the result is kept per image ID under `.bbc/cache/contents/`, since an
image ID names its content exactly.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import re
import tarfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from email.parser import HeaderParser
from pathlib import Path
from typing import IO, Any

from bbc.model import labels
from bbc.inside import secrets
from bbc.adapters import state
from bbc.adapters.engine import Engine
from bbc.errors import BbcError

_CACHE_VERSION = 3  # 3: Package.files
# package-manager caches and lists an image should not keep (policy no_package_caches)
_CACHES = (
    re.compile(r"^var/lib/apt/lists/(?!lock$|partial/?$|auxfiles/?$).+"),
    re.compile(r"^var/cache/apt/(archives/[^/]+\.deb|[^/]+\.bin)$"),
    re.compile(r"^var/cache/apk/.+"),
    re.compile(r"^(?:.*/)?\.cache/pip/.+"),
    re.compile(r"^(?:.*/)?\.cache/pypoetry/.+"),
)
_DIST = re.compile(r"^(?P<dir>.*/[^/]+\.(?:dist-info|egg-info))/(?:METADATA|PKG-INFO)$")
_RECORD = re.compile(r"^.*/[^/]+\.dist-info/RECORD$")
_EGG_FILE = re.compile(r"^.*/[^/]+\.egg-info$")
_SMALL = 8 << 20
_SECRET_MAX = 1 << 20  # files larger than this are not searched for secrets (binaries, data)


@dataclass(frozen=True)
class Package:
    kind: str  # deb | apk | pypi
    name: str
    version: str
    source: str  # the file or folder it was read from: /var/lib/dpkg/status, …/numpy-2.1.dist-info
    arch: str = ""
    # sha256 of the package's own record of its files (a Python distribution's RECORD; "" where
    # none is kept): a copy of the same files elsewhere has the same (bbc/inside/ownership.py)
    files: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """What a later layer replaces: the same package in the same place (a venv's numpy and
        the system's are two)."""
        place = posixpath.dirname(self.source) if self.kind == "pypi" else ""
        return (self.kind, self.name.lower(), place)


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
    read before (root given)."""
    info = engine.inspect(ref)
    if info is None:
        raise BbcError(f"no image {ref} on the engine at {engine.address}", tip="build it first: bbc build")
    cache = _cache_path(root, info.id) if root else None
    if cache is not None:
        data = state.read_json(cache)
        if data is not None and data.get("version") == _CACHE_VERSION:
            return Content.from_json(data)
    # the parent build's layers, when read before, are not parsed again: a member of the
    # export with the size of one of them is only hashed, and taken when its digest (the diff
    # ID: exported layers are uncompressed) matches
    parent_id = info.labels.get(labels.PARENT_ID)
    below = cached(root, parent_id) if root is not None and parent_id else None
    try:
        content = _read_export(engine.export(info.id), info.id, below)
    except _Missed:
        content = _read_export(engine.export(info.id), info.id, None)
    if cache is not None:
        state.write_json(cache, content.to_json())
    return content


def cached(root: Path, image_id: str) -> Content | None:
    data = state.read_json(_cache_path(root, image_id))
    return Content.from_json(data) if data is not None and data.get("version") == _CACHE_VERSION else None


def _cache_path(root: Path, image_id: str) -> Path:
    return state.bbc_dir(root) / "cache" / "contents" / f"{image_id.replace(':', '-')}.json"


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


@dataclass
class _Scan:
    sources: dict[str, tuple[Package, ...]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    opaque: list[str] = field(default_factory=list)
    caches: list[str] = field(default_factory=list)
    secrets: list[secrets.Hit] = field(default_factory=list)
    os_release: dict[str, str] = field(default_factory=dict)
    size: int = 0
    records: dict[str, str] = field(default_factory=dict)  # dist-info folder -> sha256 of its RECORD


def _read_export(chunks: Iterator[bytes], image_id: str, below: Content | None) -> Content:
    by_size: dict[int, list[Layer]] = {}
    for layer in below.layers if below else ():
        by_size.setdefault(layer.size, []).append(layer)
    scans: dict[str, _Scan] = {}  # member name (legacy `<id>/layer.tar`, OCI `blobs/sha256/…`) -> scan
    jsons: dict[str, Any] = {}
    reused = False  # some layer was the parent's: its os-release holds here too
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
                same = [l for l in by_size[member.size] if l.diff_id == "sha256:" + digest.hexdigest()]
                if same:
                    scans[name] = _Scan(same[0].sources, list(same[0].deleted), list(same[0].opaque),
                                        list(same[0].caches), list(same[0].secrets), {}, same[0].size)
                    reused = True
                elif small:
                    scans[name] = _scan_layer(io.BytesIO(data))
                    scans[name].size = member.size
                else:
                    raise _Missed()
            elif name.endswith("/layer.tar") or name.startswith("blobs/"):
                scan = _scan_layer(f)
                scan.size = member.size
                scans[name] = scan
    manifest = jsons.get("manifest.json")
    if not isinstance(manifest, list) or not manifest:
        raise BbcError(f"export of {image_id[:19]} holds no manifest.json")
    config = jsons.get(manifest[0]["Config"]) or {}
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or ())
    steps = [h.get("created_by", "") for h in config.get("history") or () if not h.get("empty_layer")]
    layers: list[Layer] = []
    release = {"ID": below.os_id, "VERSION_ID": below.os_version} if below and reused else {}
    for i, member in enumerate(manifest[0]["Layers"]):
        scan = scans.get(member, _Scan())
        release.update(scan.os_release)
        layers.append(Layer(
            diff_id=diff_ids[i] if i < len(diff_ids) else "", created_by=_short_step(steps[i] if i < len(steps) else ""),
            size=scan.size, sources=scan.sources, deleted=tuple(scan.deleted), opaque=tuple(scan.opaque),
            caches=tuple(scan.caches), secrets=tuple(scan.secrets)))
    cfg = config.get("config") or {}
    history = tuple((str(h.get("created_by", "")), not h.get("empty_layer")) for h in config.get("history") or ())
    return Content(image_id, str(cfg.get("User") or ""), dict(cfg.get("Labels") or {}), tuple(layers),
                   release.get("ID", ""), release.get("VERSION_ID", ""), tuple(str(e) for e in cfg.get("Env") or ()),
                   history)


def _short_step(created_by: str) -> str:
    step = created_by.removeprefix("/bin/sh -c ").removeprefix("#(nop) ").strip()
    return step if len(step) <= 160 else step[:157] + "..."


def _scan_layer(f: IO[bytes]) -> _Scan:
    scan = _Scan()
    with tarfile.open(fileobj=f, mode="r|") as inner:
        for m in inner:
            path = m.name.removeprefix("./").lstrip("/")
            base = posixpath.basename(path)
            if base.startswith(".wh."):
                folder = posixpath.dirname(path)
                if base == ".wh..wh..opq":
                    scan.opaque.append("/" + folder)
                else:
                    scan.deleted.append("/" + posixpath.join(folder, base[4:]))
                continue
            if not m.isfile():
                continue
            if any(c.match(path) for c in _CACHES):
                scan.caches.append("/" + path)
            wanted = _wanted(path)
            if wanted is None and m.size > _SECRET_MAX:
                continue
            data_f = inner.extractfile(m)
            if data_f is None:
                continue
            data = data_f.read()
            if m.size <= _SECRET_MAX:
                scan.secrets.extend(secrets.find("/" + path, data))
            if wanted is not None:
                _parse(wanted, "/" + path, data, scan)
    for folder, digest in scan.records.items():  # RECORD and METADATA come in either order
        found = scan.sources.get(folder)
        if found:
            scan.sources[folder] = tuple(replace(p, files=digest) for p in found)
    return scan


def _wanted(path: str) -> str | None:
    if path == "var/lib/dpkg/status":
        return "dpkg"
    if path.startswith("var/lib/dpkg/status.d/") and not path.endswith(".md5sums"):
        return "dpkg"
    if path == "lib/apk/db/installed":
        return "apk"
    if _DIST.match(path) or _EGG_FILE.match(path):
        return "python"
    if _RECORD.match(path):
        return "record"
    if path in ("etc/os-release", "usr/lib/os-release"):
        return "os-release"
    return None


def _parse(kind: str, path: str, data: bytes, scan: _Scan) -> None:
    if kind == "record":
        scan.records[posixpath.dirname(path)] = hashlib.sha256(data).hexdigest()
        return
    text = data.decode("utf-8", "replace")
    if kind == "dpkg":
        scan.sources[path] = tuple(_dpkg(text, path))
    elif kind == "apk":
        scan.sources[path] = tuple(_apk(text, path))
    elif kind == "python":
        headers = HeaderParser().parsestr(text, headersonly=True)
        name, version = headers.get("Name"), headers.get("Version")
        if name and version:
            source = path if _EGG_FILE.match(path.lstrip("/")) else posixpath.dirname(path)
            scan.sources[source] = (Package("pypi", str(name), str(version), source),)
    elif kind == "os-release":
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key in ("ID", "VERSION_ID"):
                scan.os_release[key] = value.strip().strip('"')


def _dpkg(text: str, path: str) -> Iterator[Package]:
    for para in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in para.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        status = fields.get("Status", "install ok installed")  # distroless status.d omits Status
        if "Package" in fields and "Version" in fields and status.endswith(" installed"):
            yield Package("deb", fields["Package"], fields["Version"], path, fields.get("Architecture", ""))


def _apk(text: str, path: str) -> Iterator[Package]:
    for para in text.split("\n\n"):
        fields = dict((line[0], line[2:]) for line in para.splitlines() if len(line) > 2 and line[1] == ":")
        if "P" in fields and "V" in fields:
            yield Package("apk", fields["P"], fields["V"], path, fields.get("A", ""))
