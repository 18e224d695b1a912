"""What one layer holds, read from its tar in one pass: the package databases it writes (dpkg
`status` and distroless `status.d`, apk's `installed`, Python `*.dist-info`/`*.egg-info`), the
paths it deletes (whiteouts) and the folders it hides (opaque), the package-manager caches it
leaves, the secrets it carries (bbc/inside/secrets.py) and /etc/os-release.

A layer's tar is named by its diff ID (the sha256 of exactly these bytes), so what is read
here is kept per diff ID (bbc/inside/layercache.py) and shared by every image holding it.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import tarfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from email.parser import HeaderParser
from typing import IO, Any

from bbc.inside import secrets

# package-manager caches and lists an image should not keep (policy no_package_caches)
_CACHES = (
    re.compile(r"^var/lib/apt/lists/(?!lock$|partial/?$|auxfiles/?$).+"),
    re.compile(r"^var/cache/apt/(archives/[^/]+\.deb|[^/]+\.bin)$"),
    re.compile(r"^var/cache/apk/.+"),
    re.compile(r"^(?:.*/)?\.cache/pip/.+"),
    re.compile(r"^(?:.*/)?\.cache/pypoetry/.+"),
)
_DIST = re.compile(r"^(?P<dir>.*/[^/]+\.(?:dist-info|egg-info))/(?:METADATA|PKG-INFO)$")
_EGG_FILE = re.compile(r"^.*/[^/]+\.egg-info$")
_RECORD = re.compile(r"^.*/[^/]+\.dist-info/RECORD$")
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


@dataclass
class Scan:
    """What one layer holds; filled while its tar streams by, then only read."""

    sources: dict[str, tuple[Package, ...]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    opaque: list[str] = field(default_factory=list)
    caches: list[str] = field(default_factory=list)
    secrets: list[secrets.Hit] = field(default_factory=list)
    os_release: dict[str, str] = field(default_factory=dict)
    size: int = 0
    records: dict[str, str] = field(default_factory=dict)  # dist-info folder -> sha256 of its RECORD

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scan:
        return cls({k: tuple(Package(**p) for p in v) for k, v in data["sources"].items()}, list(data["deleted"]),
                   list(data["opaque"]), list(data["caches"]), [secrets.Hit(**h) for h in data["secrets"]],
                   dict(data["os_release"]), int(data["size"]), dict(data.get("records") or {}))


def scan(f: IO[bytes]) -> Scan:
    """Read one layer's tar (the caller sets `size`: the tar's length, for the policy)."""
    found = Scan()
    with tarfile.open(fileobj=f, mode="r|") as inner:
        for m in inner:
            path = m.name.removeprefix("./").lstrip("/")
            base = posixpath.basename(path)
            if base.startswith(".wh."):
                folder = posixpath.dirname(path)
                if base == ".wh..wh..opq":
                    found.opaque.append("/" + folder)
                else:
                    found.deleted.append("/" + posixpath.join(folder, base[4:]))
                continue
            if not m.isfile():
                continue
            if any(c.match(path) for c in _CACHES):
                found.caches.append("/" + path)
            wanted = _wanted(path)
            if wanted is None and m.size > _SECRET_MAX:
                continue
            data_f = inner.extractfile(m)
            if data_f is None:
                continue
            data = data_f.read()
            if m.size <= _SECRET_MAX:
                found.secrets.extend(secrets.find("/" + path, data))
            if wanted is not None:
                _parse(wanted, "/" + path, data, found)
    for folder, digest in found.records.items():  # RECORD and METADATA come in either order
        packages = found.sources.get(folder)
        if packages:
            found.sources[folder] = tuple(replace(p, files=digest) for p in packages)
    return found


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


def _parse(kind: str, path: str, data: bytes, scan: Scan) -> None:
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
