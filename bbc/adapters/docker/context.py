"""The build context as Docker reads it: the files a build sends once `.dockerignore` has been
applied, listed once per run; the fingerprint hashes exactly this list and the tar sends it,
to every builder alike (buildkit.context_archive).

Two files are not what `.dockerignore` says. The Dockerfile is always in the context: the
builder reads it from there, and BuildKit through the Engine API copies whatever the tar holds
(`COPY .` included). `.dockerignore` itself never is: bbc applies it, so no builder applies it
again its own way (the legacy daemon drops an ignored Dockerfile and `.dockerignore` after
reading them, BuildKit does not, Podman applies it to every file)."""

from __future__ import annotations

import os
from pathlib import Path

from bbc.errors import BbcError

IGNORE_FILE = ".dockerignore"
TIP = ("a build context must be readable by bbc (as by `docker build`): fix its permissions, or leave it "
       "out with .dockerignore")


class Unreadable(BbcError):
    """A file or folder of a build context that cannot be read: what Docker would send is
    unknown, so nothing is fingerprinted or built. `path` is absolute; the planner says it
    relative to bbc.yaml's folder."""

    def __init__(self, path: str, exc: OSError) -> None:
        self.path, self.why = path, exc.strerror or type(exc).__name__
        self.kind = "folder" if os.path.isdir(path) else "file"
        super().__init__(f"{path}: cannot read this {self.kind} of a build context ({self.why})", tip=TIP)


def dockerignore_patterns(context: Path | str) -> list[str]:
    """Read .dockerignore the way the Docker SDK does before it tars the context."""
    path = os.path.join(context, ".dockerignore")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
    except OSError as exc:
        raise Unreadable(path, exc) from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def context_files(context: Path | str, dockerfile: str) -> list[str]:
    """The relative paths of the build context, sorted (directories included): what Docker
    would send once `.dockerignore` is applied, the Dockerfile always, `.dockerignore` never."""
    root = os.fspath(context)
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    top = [e for e in entries if e.name != IGNORE_FILE]
    patterns = dockerignore_patterns(root) if len(top) < len(entries) else []
    if not patterns:
        # Without a .dockerignore the SDK sends everything, not descending into symlinked
        # folders (as os.walk(followlinks=False) lists them); scandir is ~10x faster than
        # the SDK's matcher and spares a failed open() of .dockerignore per image.
        out: list[str] = []
        _walk(top, "", out)
        return sorted(out)
    from docker.utils.build import exclude_paths  # the SDK's own matcher: no drift from Docker

    try:  # the SDK keeps the Dockerfile and .dockerignore whatever the patterns say
        return sorted(p for p in exclude_paths(root, patterns, dockerfile=dockerfile) if p != IGNORE_FILE)
    except OSError as exc:  # a folder it must look into (os.listdir)
        raise Unreadable(exc.filename or root, exc) from None


def _walk(entries: list[os.DirEntry[str]], prefix: str, out: list[str]) -> None:
    for entry in entries:
        out.append(prefix + entry.name)
        try:
            descend = entry.is_dir() and not entry.is_symlink()
        except OSError:
            continue
        if descend:
            try:
                below = list(os.scandir(entry.path))
            except FileNotFoundError:
                continue  # removed while listed
            except OSError as exc:  # Docker would send it: never as if empty
                raise Unreadable(entry.path, exc) from None
            _walk(below, f"{prefix}{entry.name}/", out)
