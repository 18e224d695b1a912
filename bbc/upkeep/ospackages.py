"""OS package updates of a built image: what its package manager would upgrade, asked in a
throwaway container of the image (on the image's build network, as root, removed afterwards),
so the answer comes from the archives the image itself is configured with.

apt: `apt-get update` then `apt-get -s upgrade` (simulated: nothing is installed); each
`Inst name [current] (new suite [arch])` line is an update, a suite ending in `-security`
(Debian, Ubuntu) marks a security update. apk: `apk version -l '<'`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bbc.adapters.engine import Engine
from bbc.errors import BbcError

APT = ["/bin/sh", "-c", "apt-get update -qq >/dev/null 2>&1 || echo 'bbc: apt-get update failed'; "
       "LC_ALL=C apt-get -s -o Debug::NoLocking=1 upgrade"]
APK = ["/bin/sh", "-c", "apk update -q >/dev/null 2>&1 || echo 'bbc: apk update failed'; apk version -l '<'"]

_INST = re.compile(r"^Inst (?P<name>\S+) (?:\[(?P<old>[^\]]+)\] )?\((?P<new>\S+) (?P<source>[^\[\)]*?)(?: \[[^\]]+\])?\)")
_APK = re.compile(r"^(?P<name>\S+?)-(?P<old>\d\S*-r\d+)\s+<\s+(?P<new>\S+)")


@dataclass(frozen=True)
class Update:
    name: str
    current: str
    new: str
    source: str  # the suites offering it, e.g. "Debian-Security:12/stable-security"
    security: bool


def parse_apt(text: str) -> list[Update]:
    """The `Inst` lines of `apt-get -s upgrade`."""
    out = []
    for line in text.splitlines():
        m = _INST.match(line.strip())
        if m:
            source = m["source"].strip()
            security = any(s.rstrip(",").endswith("-security") or "security" in s.lower()
                           for s in source.split(", "))
            out.append(Update(m["name"], m["old"] or "", m["new"], source, security))
    return out


def parse_apk(text: str) -> list[Update]:
    out = []
    for line in text.splitlines():
        m = _APK.match(line.strip())
        if m:
            out.append(Update(m["name"], m["old"], m["new"], "", False))
    return out


def manager(engine: Engine, image: str) -> str | None:
    """'apt', 'apk' or None: which package manager the image has."""
    if engine.file_exists(image, "/usr/bin/apt-get"):
        return "apt"
    if engine.file_exists(image, "/sbin/apk"):
        return "apk"
    return None


def updates(engine: Engine, image: str, kind: str, network: str, timeout: int = 300) -> list[Update]:
    """The updates `kind` ('apt' | 'apk') would install in `image`."""
    result = engine.run(image, APT if kind == "apt" else APK, mounts=[], network=network, timeout=timeout,
                        on_line=lambda line: None, user="0")
    if result.timed_out:
        raise BbcError(f"{image}: {kind} did not answer in {timeout}s")
    if result.not_started:
        raise BbcError(f"{image}: {result.not_started}")
    if result.exit_code != 0 or f"bbc: {kind} update failed" in result.output:
        tail = result.output.strip().splitlines()[-1:] or [f"exit code {result.exit_code}"]
        raise BbcError(f"{image}: {kind} could not read its package archives: {tail[0]}")
    return parse_apt(result.output) if kind == "apt" else parse_apk(result.output)


def dpkg_status(text: str) -> dict[str, str]:
    """{package: version} of the installed packages in a dpkg status file."""
    out: dict[str, str] = {}
    for stanza in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line[0].isspace())
        if fields.get("Package") and fields.get("Version") and "installed" in fields.get("Status", "installed"):
            out[fields["Package"]] = fields["Version"]
    return out


def packages_in(path: Path) -> dict[str, str] | None:
    """The dpkg package set a prepare output holds: a root filesystem tarball with
    var/lib/dpkg/status (debootstrap's), or a dpkg status file itself; None when neither."""
    import tarfile

    if path.name == "status":
        return dpkg_status(path.read_text(encoding="utf-8", errors="replace"))
    try:
        with tarfile.open(path) as tar:
            for name in ("var/lib/dpkg/status", "./var/lib/dpkg/status"):
                try:
                    member = tar.extractfile(name)
                except KeyError:
                    continue
                if member is not None:
                    return dpkg_status(member.read().decode("utf-8", errors="replace"))
    except (tarfile.TarError, OSError):
        return None
    return None


def package_set(spec_path: Path, outputs: tuple[str, ...]) -> dict[str, str] | None:
    """The package set of a prepare step's outputs (the first that holds one)."""
    for output in outputs:
        found = packages_in(spec_path / output)
        if found is not None:
            return found
    return None


def difference(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """`name old -> new` for every package added, removed or changed."""
    out = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            out.append(f"{name} {before.get(name, '-')} -> {after.get(name, '-')}")
    return out
