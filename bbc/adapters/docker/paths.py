"""What an image holds at a path, read without running anything in it: the stat the archive
endpoint answers a HEAD with (`X-Docker-Container-Path-Stat`) on a container created and
never started, symlinks followed as a process in the image would follow them.

The engine resolves the symlinks on the way to a path but not the last one, whose target it
names (`linkTarget`, already absolute and resolved): a symlink to nothing is "dangling", not
"there" (dockerd answers for the link itself, Podman 404 with the link's stat). A path under a
file (`/etc/passwd/x`) makes dockerd answer HTTP 500 (ENOTDIR), Podman 404: nothing is there,
which the nearest folder above it shows.
"""

from __future__ import annotations

import base64
import json
import posixpath
from collections.abc import Callable, Mapping
from typing import Any

from bbc.adapters.docker import api as docker_api
from bbc.adapters.engine import PathState

DIRECTORY = 1 << 31  # Go's os.ModeDir, as the stat's mode carries it
SYMLINK = 1 << 27  # Go's os.ModeSymlink
HOPS = 40  # symlinks followed at most (the kernel's limit)

# (HTTP status, the stat's fields) of one path
Stat = Callable[[str], tuple[int, Mapping[str, Any]]]


def stat_of(api: Any, container: str) -> Stat:
    """The archive stat of paths in `container`, through the SDK's `api`."""

    def stat(path: str) -> tuple[int, Mapping[str, Any]]:
        status, headers = docker_api.head(api, "/containers/{0}/archive", container, params={"path": path})
        raw = headers.get("X-Docker-Container-Path-Stat") or ""
        try:
            fields = json.loads(base64.b64decode(raw)) if raw else {}
        except ValueError:
            fields = {}
        return status, fields if isinstance(fields, dict) else {}

    return stat


def state(stat: Stat, path: str) -> PathState:
    """What is at `path`, symlinks followed."""
    link = ""  # the last symlink's target on the way
    for _ in range(HOPS):
        status, fields = stat(path)
        mode, target = int(fields.get("mode") or 0), str(fields.get("linkTarget") or "")
        symlink = bool(mode & SYMLINK) and target not in ("", path)  # Podman names every path its own target
        if status == 404:  # Podman answers a dangling symlink so, with the link's stat
            return PathState(False, dangling=target if symlink else link)
        if status == 500:
            return _under(stat, path)
        if status != 200:
            return PathState(False, error=f"the engine answered HTTP {status}")
        if not symlink:
            return PathState(True, directory=bool(mode & DIRECTORY))
        path = link = target
    return PathState(False, error=f"more than {HOPS} symlinks on the way")


def _under(stat: Stat, path: str) -> PathState:
    """A path the engine could not stat (HTTP 500): not there when what is above it is not a
    folder (or not there); otherwise the engine's failure."""
    parent = posixpath.dirname(path.rstrip("/")) or "/"
    if parent == path.rstrip("/") or parent == "/":
        return PathState(False, error="the engine answered HTTP 500")
    above = state(stat, parent)
    if above.error or (above.exists and above.directory):
        return PathState(False, error=above.error or "the engine answered HTTP 500")
    return PathState(False)
