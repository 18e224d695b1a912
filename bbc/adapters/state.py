"""What bbc remembers between runs in `.bbc/` next to bbc.yaml: per-image build manifests
(to explain *what* changed) and prepare-step input hashes. Losing it loses only explanations;
fingerprints live on the images themselves."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Any


def bbc_dir(root: Path) -> Path:
    return root / ".bbc"


def ensure(folder: Path) -> Path:
    """Create `folder` (somewhere under .bbc/); .bbc/ ignores itself in git, as .pytest_cache
    does, so bbc's logs, records and locks never show up as untracked files."""
    folder.mkdir(parents=True, exist_ok=True)
    for parent in (folder, *folder.parents):
        if parent.name == ".bbc":
            ignore = parent / ".gitignore"
            if not ignore.exists():
                try:
                    ignore.write_text("# written by bbc: its state, logs and locks are not sources\n*\n")
                except OSError:
                    pass
            break
    return folder


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (`atomic_write`), so a crash never leaves half a file."""
    ensure(path.parent)
    atomic_write(path, json.dumps(data, sort_keys=True))


def atomic_write(path: Path, data: bytes | str, *, mode: int | None = None, sync: bool = False) -> None:
    """Write `data` (text as UTF-8) to `path` through a temp file beside it and os.replace:
    a reader never sees half a file, and a crash leaves the old one (or none) in place.

    `mode`: the new file's permission bits; None keeps those of the file it replaces (a new
    file gets mkstemp's 0600). `sync`: fsync before the rename, for files users own, which
    must survive a power cut; bbc's own records (.bbc/) are only caches and skip the cost.
    An OSError names `path` (a full disk fails the write to the temp file, which names nothing).
    """
    import tempfile  # only when writing: its import costs a no-op run ~4 ms

    if mode is None:
        with contextlib.suppress(FileNotFoundError):
            mode = stat.S_IMODE(os.stat(path).st_mode)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def manifest_path(root: Path, image: str) -> Path:
    return bbc_dir(root) / "state" / f"{image}.json"


def log_path(root: Path, image: str, suffix: str = "") -> Path:
    return bbc_dir(root) / "logs" / f"{image}{suffix}.log"
