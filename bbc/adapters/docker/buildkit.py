"""What a BuildKit build through the Engine API needs besides the HTTP call.

- `context_archive`: the build context as an uncompressed tar. The daemon sniffs the first
  512 bytes to tell a tar from a bare Dockerfile, so entries must not start with a PAX
  header (Python's default format writes one for every float mtime): GNU format, whole
  seconds. The file list is the one the fingerprint hashes (`.dockerignore` as Docker
  applies it), so what is built is exactly what was fingerprinted.
- `Progress`: turns the daemon's `moby.buildkit.trace` messages (base64 protobuf
  `moby.buildkit.v1.StatusResponse`) into the plain lines `docker build --progress=plain`
  prints: `#3 [2/3] RUN make`, `#3 0.214 compiling`, `#3 DONE 0.4s`. Only three messages of
  that schema are read; a 30-line wire-format reader does it without generated code or a
  protobuf runtime.
"""

from __future__ import annotations

import base64
import io
import os
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from bbc.adapters.docker import context as docker_context


LEGACY_DOCKERFILE = ".dockerfile.legacy.bbc"


def context_archive(context: Path, dockerfile: str, out: IO[bytes], files: Sequence[str] | None = None,
                    text: str | None = None, legacy: str | None = None) -> str:
    """Write the context of `context` to `out`; return the Dockerfile's name inside it.

    `files` is the list context.context_files made for the fingerprint (listed again
    when None). A Dockerfile outside the context, or `text` given instead of the file's own
    (bases pinned by digest), travels in the archive as `.dockerfile.bbc`. Every builder gets
    this same archive and sees exactly it. `legacy`: the Dockerfile the legacy builder reads
    instead (labels written into it); it travels with a `.dockerignore` naming it and itself,
    which makes the legacy daemon remove both once it has read them (and is never a user's:
    context_files leaves that out).
    """
    root = os.path.abspath(context)
    inside = os.path.relpath(os.path.abspath(os.path.join(root, dockerfile)), root)
    outside = inside.startswith("..") or text is not None
    name = ".dockerfile.bbc" if outside else inside
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for rel in (files if files is not None else docker_context.context_files(root, dockerfile)):
            full = os.path.join(root, rel)
            info = tar.gettarinfo(full, arcname=rel)
            if info is None or info.isfifo() or info.ischr() or info.isblk():
                continue  # nothing to copy (a socket, a FIFO, a device): the fingerprint leaves them out
            info.mtime = int(info.mtime)
            if info.isfile():
                try:
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                except OSError as exc:
                    raise OSError(f"cannot read {full} for the build context: {exc.strerror}") from None
            else:
                tar.addfile(info)
        if outside:
            _add(tar, name, text.encode() if text is not None else Path(root, dockerfile).read_bytes())
        if legacy is not None:
            _add(tar, LEGACY_DOCKERFILE, legacy.encode())
            _add(tar, docker_context.IGNORE_FILE, f"{docker_context.IGNORE_FILE}\n{LEGACY_DOCKERFILE}\n".encode())
            return LEGACY_DOCKERFILE
    return name


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


# -- protobuf wire format ------------------------------------------------------------------
def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, Any]]:
    """(field number, value) pairs: ints for varints, bytes for everything else."""
    i, end = 0, len(data)
    while i < end:
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            value, i = data[i:i + size], i + size
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"protobuf wire type {wire} at byte {i}")
        yield number, value


fields = _fields  # the session's secret requests are read with it too (session.py)


def _seconds(timestamp: bytes) -> float:
    parts = dict(_fields(timestamp))
    return float(parts.get(1, 0)) + float(parts.get(2, 0)) / 1e9


class Progress:
    """Plain progress lines from a build's trace messages, one instance per build."""

    def __init__(self) -> None:
        self._number: dict[bytes, int] = {}  # vertex digest -> #N
        self._said: set[tuple[bytes, str]] = set()
        self._started: dict[bytes, float] = {}
        self._partial: dict[bytes, str] = {}

    def feed(self, aux: str) -> list[str]:
        """Lines for one `moby.buildkit.trace` message (its `aux`, base64)."""
        try:
            message = base64.b64decode(aux)
            fields = list(_fields(message))
        except (ValueError, IndexError):
            return []  # a trace we cannot read only costs progress lines, never the build
        lines: list[str] = []
        for number, value in fields:
            if number == 1:
                lines.extend(self._vertex(value))
            elif number == 3:
                lines.extend(self._log(value))
        return lines

    def flush(self) -> list[str]:
        """Unterminated log lines still held back."""
        lines = [f"#{self._num(d)} {text}" for d, text in self._partial.items() if text]
        self._partial.clear()
        return lines

    def _num(self, digest: bytes) -> int:
        return self._number.setdefault(digest, len(self._number) + 1)

    def _once(self, digest: bytes, what: str, line: str) -> list[str]:
        if (digest, what) in self._said:
            return []
        self._said.add((digest, what))
        return [line]

    def _vertex(self, data: bytes) -> list[str]:
        digest = b""
        name = error = ""
        cached = False
        started = completed = None
        for number, value in _fields(data):
            if number == 1:
                digest = value
            elif number == 3:
                name = value.decode("utf-8", "replace")
            elif number == 4:
                cached = bool(value)
            elif number == 5:
                started = _seconds(value)
            elif number == 6:
                completed = _seconds(value)
            elif number == 7:
                error = value.decode("utf-8", "replace")
        n = self._num(digest)
        lines = self._once(digest, "name", f"#{n} {name}") if name else []
        if started is not None:
            self._started.setdefault(digest, started)
        if completed is not None:
            lines += [f"#{n} {text}" for text in self._flush_one(digest)]
            if error:
                lines += self._once(digest, "done", f"#{n} ERROR: {error}")
            elif cached:
                lines += self._once(digest, "done", f"#{n} CACHED")
            else:
                took = completed - self._started.get(digest, completed)
                lines += self._once(digest, "done", f"#{n} DONE {took:.1f}s")
        return lines

    def _flush_one(self, digest: bytes) -> list[str]:
        text = self._partial.pop(digest, "")
        return [text] if text else []

    def _log(self, data: bytes) -> list[str]:
        parts = dict(_fields(data))
        digest = parts.get(1, b"")
        text = self._partial.pop(digest, "") + parts.get(4, b"").decode("utf-8", "replace")
        *whole, rest = text.replace("\r\n", "\n").split("\n")
        if rest:
            self._partial[digest] = rest
        n = self._num(digest)
        return [f"#{n} {line}" for line in whole]
