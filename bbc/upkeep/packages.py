"""Newer releases of pinned Python packages on the configured package index, found with pip's
own machinery (`pip index versions`: the index, proxy and certificates pip is configured with,
PIP_INDEX_URL or pip.conf) and compared as PEP 440 versions (packaging), never by scraping.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from bbc.adapters.docker import context as docker_context
from bbc.upkeep import pins
from bbc.errors import BbcError

if TYPE_CHECKING:
    from bbc.model.hierarchy import Hierarchy

LEVELS = ("patch", "minor", "major")


def available(name: str, index_url: str | None = None, timeout: float = 120) -> list[Version]:
    """Every release of `name` the index offers (pre-releases included); [] when it has none."""
    cmd = [sys.executable, "-m", "pip", "index", "versions", name, "--disable-pip-version-check", "--no-input",
           "--retries", "1", "--timeout", "15"]
    if index_url:
        cmd += ["--index-url", index_url]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BbcError(f"pip index versions {name}: no answer in {timeout:.0f}s") from None
    unreachable = [line for line in proc.stderr.splitlines()
                   if "Failed to establish a new connection" in line or "Could not fetch URL" in line
                   or "Max retries exceeded" in line]
    if proc.returncode != 0:
        if unreachable:  # pip says "No matching distribution" for an index it could not reach too
            raise BbcError(f"pip index versions {name}: the index did not answer ({_reason(unreachable[-1])})")
        if "No matching distribution" in proc.stderr:
            return []
        last = (proc.stderr.strip().splitlines() or ["exit code " + str(proc.returncode)])[-1]
        raise BbcError(f"pip index versions {name}: {last}")
    for line in proc.stdout.splitlines():
        if line.startswith("Available versions:"):
            out = []
            for word in line.split(":", 1)[1].split(","):
                try:
                    out.append(Version(word.strip()))
                except InvalidVersion:
                    continue
            return out
    return []


def newest_within(current: str, versions: list[Version], level: str) -> str | None:
    """The newest final release above `current` that stays within `level` (patch: same X.Y,
    minor: same X, major: any); None when there is none or `current` is no PEP 440 version."""
    try:
        now = Version(current)
    except InvalidVersion:
        return None

    def allowed(v: Version) -> bool:
        if v <= now or v.is_prerelease or v.is_devrelease:
            return False
        if level == "patch":
            return v.release[:2] == now.release[:2]
        if level == "minor":
            return v.release[:1] == now.release[:1]
        return True

    found = [v for v in versions if allowed(v)]
    return str(max(found)) if found else None


def _reason(line: str) -> str:
    for marker in ("Connection refused", "Name or service not known", "timed out", "certificate verify failed"):
        if marker in line:
            return marker
    return line.split("WARNING:")[-1].strip()[:160]


def pinned_in(hierarchy: Hierarchy, names: tuple[str, ...] = ()) -> list[tuple[str, str, pins.Pin]]:
    """(image, package, pin) for every `==` pin in the images' contexts, parents first."""
    found: list[tuple[str, str, pins.Pin]] = []
    for name in hierarchy.order:
        if names and name not in names:
            continue
        spec = hierarchy[name]
        files = docker_context.context_files(spec.path, spec.dockerfile)
        found += [(name, package, pin) for package, pin in pins.python_pins(spec.path, files)]
    return found


def ask_all(names: list[str], index_url: str | None = None) -> dict[str, list[Version] | BbcError]:
    """{normalized name: releases, or why the index could not tell}, one pip process per
    package, four at a time."""
    wanted = sorted({pins.normalize(n) for n in names})

    def ask(package: str) -> list[Version] | BbcError:
        try:
            return available(package, index_url)
        except BbcError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(wanted, pool.map(ask, wanted)))
