"""Fingerprints: what an image's build depends on, hashed.

A fingerprint covers the context as every builder is sent it (adapters/docker/context.py:
what .dockerignore keeps, by the Docker SDK's matcher), the Dockerfile, build args, target,
platform, version and labels, the parent's fingerprint and those of the images it uses. Equal
fingerprint => the build would produce the same image, so it is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bbc.adapters.docker import context as docker_context
from bbc.model import labels
from bbc.config import ImageSpec

SCHEME = "bbc-fp-1"
LABEL = labels.FINGERPRINT


@dataclass(frozen=True)
class ContextDigest:
    digest: str
    files: dict[str, str]  # file path -> sha256 of its entry (for "what changed" reasons)
    listed: tuple[str, ...] = ()  # what context_files listed: the tar sends exactly these
    # what it listed but no builder is sent: (path, "FIFO" | "socket" | "device")
    skipped: tuple[tuple[str, str], ...] = ()


_BIG = 1 << 20
RACY_NS = 2_000_000_000


class FileHashes:
    """The sha256 of context files, remembered by their stat (size, mtime, ctime, inode) in
    .bbc/cache/files.pickle, as git's index remembers blobs: an unchanged file is not read
    again. Planning 10,000 contexts: 0.65 s hashing, ~0.25 s with every file remembered.

    Racy entries (git's term) are never kept: a file changed within 2 s of the run could be
    rewritten inside the filesystem's timestamp granularity with the same size and mtime.
    """

    def __init__(self, path: Path | None, entries: dict[str, tuple[int, int, int, int, str]] | None = None,
                 froms: dict[str, tuple[bytes, ...]] | None = None) -> None:
        self.path = path
        self.entries = entries if entries is not None else {}
        # a Dockerfile's FROM words by its content entry (bases.of): most name only the parent,
        # and then the file need not be read at all
        self.froms = froms if froms is not None else {}
        self.dirty = False
        self.racy_from = time.time_ns() - RACY_NS

    @classmethod
    def load(cls, path: Path) -> FileHashes:
        import pickle

        try:
            with open(path, "rb") as f:
                data = pickle.load(f)
            if isinstance(data, dict) and isinstance(data.get("files"), dict) and isinstance(data.get("froms"), dict):
                return cls(path, data["files"], data["froms"])
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError, ImportError):
            pass
        return cls(path)

    def digest(self, full: str, st: os.stat_result) -> str:
        known = self.entries.get(full)
        if known is not None and known[:4] == (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino):
            return known[4]
        digest = _hash_file(full, st.st_size)
        if st.st_mtime_ns < self.racy_from and st.st_ctime_ns < self.racy_from:
            self.entries[full] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, digest)
            self.dirty = True
        return digest

    def remember_froms(self, entry: str, words: tuple[bytes, ...]) -> None:
        self.froms[entry] = words
        self.dirty = True

    def save(self) -> None:
        """Write the entries back when something new was learnt (never fails a run)."""
        if not self.dirty or self.path is None:
            return
        import pickle

        from bbc.adapters import state

        try:
            state.ensure(self.path.parent)
            state.atomic_write(self.path, pickle.dumps({"files": self.entries, "froms": self.froms},
                                                       protocol=pickle.HIGHEST_PROTOCOL))
            self.dirty = False
        except OSError:
            pass  # a read-only checkout hashes every time


_HASHES: dict[Path, FileHashes] = {}


def file_hashes(root: Path) -> FileHashes:
    """The remembered file hashes of the hierarchy at `root`, loaded once a process."""
    if root not in _HASHES:
        _HASHES[root] = FileHashes.load(root / ".bbc" / "cache" / "files.pickle")
    return _HASHES[root]


def _hash_file(full: str, size: int) -> str:
    with open(full, "rb") as f:
        if size < _BIG:
            return hashlib.sha256(f.read()).hexdigest()
        return hashlib.file_digest(f, "sha256").hexdigest()


def digest_context(context: Path | str, dockerfile: str, hashes: FileHashes | None = None) -> ContextDigest:
    root = os.fspath(context)
    total = hashlib.sha256()
    entries: dict[str, str] = {}
    listed = docker_context.context_files(root, dockerfile)
    skipped: list[tuple[str, str]] = []
    for rel in listed:
        full = os.path.join(root, rel)
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            continue
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            entry = "L" + os.readlink(full)
        elif stat.S_ISDIR(st.st_mode):
            total.update(f"{rel}\0D{mode:o}\n".encode())
            continue
        elif stat.S_ISREG(st.st_mode):
            try:
                digest = hashes.digest(full, st) if hashes is not None else _hash_file(full, st.st_size)
            except FileNotFoundError:
                continue  # removed while listed
            except OSError as exc:
                raise docker_context.Unreadable(full, exc) from None
            entry = f"F{mode:o}:{digest}"
        else:  # nothing a build could copy: buildkit.context_archive leaves them out too
            skipped.append((rel, "FIFO" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode)
                            else "device"))
            continue
        entries[rel] = entry
        total.update(f"{rel}\0{entry}\n".encode())
    return ContextDigest(total.hexdigest(), entries, tuple(listed), tuple(skipped))


def dockerfile_text(spec: ImageSpec) -> str:
    return spec.dockerfile_path.read_text(encoding="utf-8")


def compute(
    spec: ImageSpec,
    context: ContextDigest,
    parent_fingerprint: str | None,
    *,
    labels: dict[str, str] | None = None,
    build_args: dict[str, str] | None = None,
    variant: str = "release",
    bases: Iterable[tuple[str, str]] = (),
    uses: Iterable[tuple[str, str]] = (),
) -> str:
    """The fingerprint of one build of `spec` on a parent build with `parent_fingerprint`,
    external `bases` (reference, digest) and used images' builds `uses` (key, fingerprint)."""
    payload = {
        "scheme": SCHEME,
        "variant": variant,
        "context": context.digest,
        # inside the context the Dockerfile is already hashed; outside it is not
        "dockerfile": spec.dockerfile,
        "dockerfile_sha": context.files.get(spec.dockerfile) or hashlib.sha256(spec.dockerfile_path.read_bytes()).hexdigest(),
        "build_args": sorted((build_args if build_args is not None else dict(spec.build_args)).items()),
        "target": spec.target,
        "platform": spec.platform,
        "version": spec.version,
        "labels": sorted((labels if labels is not None else dict(spec.labels)).items()),
        "parent": parent_fingerprint,
    }
    if spec.parent_ref and parent_fingerprint:  # only then, as for bases below
        payload["parent_ref"] = spec.parent_ref
    pairs = sorted(set(bases))
    if pairs:  # only then: images without external bases keep the fingerprints they had
        payload["bases"] = pairs
    used = sorted(set(uses))
    if used:  # issue 21: likewise, images that use none keep theirs
        payload["uses"] = used
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()
