"""Locks around what two bbc runs could write at once: bbc.yaml, one image's build and tags,
a downstream project's branch.

`filelock` (a well-kept library: fcntl locks the kernel releases when a process dies, so a
killed bbc never leaves a stale lock to clean up by hand) under `.bbc/locks/` next to
bbc.yaml. A second writer waits, saying so after a second, rather than failing or, worse,
overwriting an edit it never saw.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from bbc.adapters import state
from bbc.errors import BbcError

CONFIG_WAIT = 600.0  # seconds a bump waits for another writer of bbc.yaml
IMAGE_WAIT = 6 * 3600.0  # a build of the same image elsewhere may take long


def folder(root: Path) -> Path:
    return root / ".bbc" / "locks"


@contextmanager
def held(path: Path, what: str, *, timeout: float) -> Iterator[None]:
    """Hold the lock file `path` (created as needed) for `what`; wait up to `timeout` s."""
    import filelock

    state.ensure(path.parent)
    lock = filelock.FileLock(str(path))
    try:
        lock.acquire(timeout=1)
    except filelock.Timeout:
        print(f"bbc: waiting for another bbc {what} (lock {path})", file=sys.stderr, flush=True)
        try:
            lock.acquire(timeout=max(0.0, timeout - 1))
        except filelock.Timeout:
            raise BbcError(f"{path}: another bbc has been {what} for {timeout:.0f}s; nothing was changed",
                           tip="wait for it to finish (or stop it) and run again") from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def config_lock(config_path: Path, *, timeout: float = CONFIG_WAIT) -> Iterator[None]:
    """Exclusive right to rewrite bbc.yaml. Whoever holds it must re-read the file first.
    Temp files a killed writer left beside it are removed: writers hold this lock."""
    with held(folder(config_path.parent) / f"{config_path.name}.lock", f"writing {config_path.name}",
              timeout=timeout):
        for stale in config_path.parent.glob(f".{config_path.name}.*.tmp"):
            stale.unlink(missing_ok=True)
        yield


def image_lock(root: Path, image: str, *, timeout: float = IMAGE_WAIT) -> AbstractContextManager[None]:
    """Exclusive right to build and tag `image` of the hierarchy in `root`."""
    return held(folder(root) / f"image-{image}.lock", f"building {image}", timeout=timeout)


def project_lock(root: Path, project: str, *, timeout: float = CONFIG_WAIT) -> AbstractContextManager[None]:
    """Exclusive right to move a downstream project's pins (its branch and file)."""
    return held(folder(root) / f"project-{project}.lock", f"rolling out to {project}", timeout=timeout)
