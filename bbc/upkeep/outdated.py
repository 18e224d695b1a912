"""What upstream has that the hierarchy does not (`bbc outdated` shows it). For every
external base: where it is written, the digest in use (pinned, or the one the last build was
fingerprinted with), the digest its tag names in its registry now, and whether that differs.
For every Python package pinned with `==` in an image's context: the newest release within a
level. With an engine: the OS package updates each built image's archives offer."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbc.adapters import state
from bbc.adapters.engine import Engine
from bbc.errors import BbcError, RegistryError
from bbc.model.hierarchy import Hierarchy
from bbc.plan import bases
from bbc.upkeep import packages, pins


class Status(enum.StrEnum):
    CURRENT = "current"
    OUTDATED = "outdated"
    NOT_BUILT = "not built"
    UNKNOWN = "unknown"  # could not be asked


@dataclass(frozen=True)
class Row:
    image: str
    where: str
    base: str
    pinned: bool
    in_use: str | None
    latest: str | None
    status: Status
    message: str = ""


@dataclass(frozen=True)
class PackageRow:
    image: str
    where: str
    package: str
    pinned: str
    newest: str | None  # within the level asked
    status: Status
    message: str = ""


@dataclass(frozen=True)
class OsRow:
    image: str
    manager: str
    package: str
    current: str
    new: str
    security: bool
    status: Status = Status.OUTDATED
    message: str = ""


@dataclass(frozen=True)
class Outdated:
    """Everything asked, row by row."""

    bases: tuple[Row, ...]
    packages: tuple[PackageRow, ...]
    os: tuple[OsRow, ...]

    @property
    def code(self) -> int:
        """0 when everything is current, 1 when something is outdated (a nightly job branches
        on it), 2 when something could not be found out."""
        statuses = {r.status for r in self.bases} | {p.status for p in self.packages} | {o.status for o in self.os}
        if Status.UNKNOWN in statuses:
            return 2
        return 1 if Status.OUTDATED in statuses else 0

    def as_json(self) -> dict[str, Any]:
        return {
            "bases": [{"image": r.image, "where": r.where, "base": r.base, "pinned": r.pinned, "in_use": r.in_use,
                       "latest": r.latest, "status": r.status, "message": r.message} for r in self.bases],
            "packages": [{"image": p.image, "where": p.where, "package": p.package, "pinned": p.pinned,
                          "newest": p.newest, "status": p.status, "message": p.message} for p in self.packages],
            "os": [{"image": o.image, "manager": o.manager, "package": o.package, "current": o.current,
                    "new": o.new, "security": o.security, "status": o.status, "message": o.message}
                   for o in self.os],
        }


def outdated(hierarchy: Hierarchy, names: tuple[str, ...] = (), *, level: str | None = "minor",
             index_url: str | None = None, engine: Callable[[], Engine] | None = None) -> Outdated:
    """`level`: how far a pinned package may move (None: packages are not asked); `engine`:
    connects to the engine asked for OS package updates (None leaves them out)."""
    hierarchy.check_names(names)
    package_rows = _packages(hierarchy, names, level, index_url) if level else []
    os_rows = _os(hierarchy, names, engine()) if engine is not None else []
    return Outdated(tuple(_bases(hierarchy, names)), tuple(package_rows), tuple(os_rows))


def _bases(hierarchy: Hierarchy, names: tuple[str, ...]) -> list[Row]:
    """Each external base's digest in use and the one its tag names now (one question a tag)."""
    root = hierarchy.config.root
    latest: dict[str, str | RegistryError] = {}
    rows: list[Row] = []
    for name in hierarchy.order:
        if names and name not in names:
            continue
        recorded = (state.read_json(state.manifest_path(root, name)) or {}).get("bases") or {}
        for found in bases.of(hierarchy[name], root):
            tag_ref = found.ref.partition("@")[0]
            if tag_ref not in latest:
                latest[tag_ref] = bases.current_digest(tag_ref, hierarchy.config.mirrors)
            now = latest[tag_ref]
            in_use = found.ref.partition("@")[2] if found.pinned else recorded.get(found.ref)
            if isinstance(now, RegistryError):
                rows.append(Row(name, found.where, tag_ref, found.pinned, in_use, None, Status.UNKNOWN, now.message))
            elif in_use is None:
                rows.append(Row(name, found.where, tag_ref, found.pinned, None, now, Status.NOT_BUILT))
            else:
                rows.append(Row(name, found.where, tag_ref, found.pinned, in_use, now,
                                Status.CURRENT if in_use == now else Status.OUTDATED))
    return rows


def _os(hierarchy: Hierarchy, names: tuple[str, ...], engine: Engine) -> list[OsRow]:
    """Per built image with apt or apk: the updates its archives offer (a throwaway container)."""
    from bbc.model import refs
    from bbc.upkeep import ospackages

    out: list[OsRow] = []
    for name in hierarchy.order:
        if names and name not in names:
            continue
        spec = hierarchy[name]
        ref = refs.ref(hierarchy.config.ref(name), spec.version)
        if engine.inspect(ref) is None:
            out.append(OsRow(name, "-", "", "", "", False, Status.NOT_BUILT, f"{ref} is not built: not asked"))
            continue
        try:
            kind = ospackages.manager(engine, ref)
            if kind is None:
                out.append(OsRow(name, "-", "", "", "", False, Status.CURRENT, "no apt or apk: nothing to ask"))
                continue
            found = ospackages.updates(engine, ref, kind, spec.network)
        except BbcError as exc:
            out.append(OsRow(name, "-", "", "", "", False, Status.UNKNOWN, exc.message))
            continue
        out += [OsRow(name, kind, u.name, u.current, u.new, u.security) for u in found]
        if not found:
            out.append(OsRow(name, kind, "", "", "", False, Status.CURRENT, f"{kind}: every package is current"))
    return out


def _packages(hierarchy: Hierarchy, names: tuple[str, ...], level: str,
              index_url: str | None) -> list[PackageRow]:
    """The pinned packages of each image's context, each package asked of the index once."""
    found = packages.pinned_in(hierarchy, names)
    answers = packages.ask_all([package for _, package, _ in found], index_url)
    root = hierarchy.config.root
    out: list[PackageRow] = []
    for image, package, pin in found:
        where = f"{_rel(pin.path, root)}:{pin.line}"
        answer = answers[pins.normalize(package)]
        if isinstance(answer, BbcError):
            out.append(PackageRow(image, where, package, pin.old, None, Status.UNKNOWN, answer.message))
            continue
        newest = packages.newest_within(pin.old, answer, level)
        out.append(PackageRow(image, where, package, pin.old, newest, Status.OUTDATED if newest else Status.CURRENT))
    return out


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
