"""`bbc outdated`: what upstream has that the hierarchy does not. For every external base:
where it is written, the digest in use (pinned, or the one the last build was fingerprinted
with), the digest its tag names in its registry now, and whether that differs. For every
Python package pinned with `==` in an image's context (requirements and constraints files,
`pip install x==y` in RUN lines): the newest release within `--packages patch|minor|major`.

Exit 0 when everything is current, 1 when something is outdated (a nightly job branches on
it), 2 when bbc could not find out (a registry that does not answer is named).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bbc.plan import bases
from bbc.upkeep import packages, pins
from bbc.run import report
from bbc.adapters import state
from bbc.adapters.engine import Engine
from bbc.errors import BbcError, RegistryError
from bbc.model.hierarchy import Hierarchy

CURRENT = "current"
OUTDATED = "outdated"
NOT_BUILT = "not built"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Row:
    image: str
    where: str
    base: str
    pinned: bool
    in_use: str | None
    latest: str | None
    status: str
    message: str = ""


@dataclass(frozen=True)
class PackageRow:
    image: str
    where: str
    package: str
    pinned: str
    newest: str | None  # within the level asked
    status: str
    message: str = ""


@dataclass(frozen=True)
class OsRow:
    image: str
    manager: str
    package: str
    current: str
    new: str
    security: bool
    status: str = OUTDATED
    message: str = ""


def outdated(hierarchy: Hierarchy, names: tuple[str, ...] = (), *, fmt: str = "table",
             level: str | None = "minor", index_url: str | None = None,
             engine: Callable[[], Engine] | None = None) -> int:
    """`engine`: asked for OS package updates (`--os`); None leaves them out."""
    hierarchy.check_names(names)
    package_rows = _packages(hierarchy, names, level, index_url) if level else []
    os_rows = _os(hierarchy, names, engine()) if engine is not None else []
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
                rows.append(Row(name, found.where, tag_ref, found.pinned, in_use, None, UNKNOWN, now.message))
            elif in_use is None:
                rows.append(Row(name, found.where, tag_ref, found.pinned, None, now, NOT_BUILT))
            else:
                rows.append(Row(name, found.where, tag_ref, found.pinned, in_use, now,
                                CURRENT if in_use == now else OUTDATED))
    if fmt == "json":
        report.dump_json({
            "bases": [{"image": r.image, "where": r.where, "base": r.base, "pinned": r.pinned, "in_use": r.in_use,
                       "latest": r.latest, "status": r.status, "message": r.message} for r in rows],
            "packages": [{"image": p.image, "where": p.where, "package": p.package, "pinned": p.pinned,
                          "newest": p.newest, "status": p.status, "message": p.message} for p in package_rows],
            "os": [{"image": o.image, "manager": o.manager, "package": o.package, "current": o.current,
                    "new": o.new, "security": o.security, "status": o.status, "message": o.message}
                   for o in os_rows],
        })
    elif not rows:
        print("no external bases: every image builds on its parent or scratch")
    else:
        report.table(("image", "where", "base", "in use", "registry now", "status"),
                     [(r.image, r.where, r.base + ("" if r.pinned else " (unpinned)"), _short(r.in_use),
                       _short(r.latest), r.status) for r in rows])
        for r in rows:
            if r.status == UNKNOWN:
                print(f"{r.where}: {r.base}: could not ask its registry: {r.message}")
    if fmt != "json" and package_rows:
        report.table(("image", "where", "package", "pinned", f"newest ({level})", "status"),
                     [(p.image, p.where, p.package, p.pinned, p.newest or "-", p.status) for p in package_rows])
        for p in package_rows:
            if p.status == UNKNOWN:
                print(f"{p.where}: {p.package}: {p.message}")
    if fmt != "json" and engine is not None:
        updates = [o for o in os_rows if o.status == OUTDATED]
        if updates:
            report.table(("image", "os package", "installed", "update", "security"),
                         [(o.image, o.package, o.current, o.new, "yes" if o.security else "") for o in updates])
        for o in os_rows:
            if o.status != OUTDATED:
                print(f"{o.image}: {o.message}")
        if not updates:
            print("no OS package updates in the built images' archives")
    statuses = {r.status for r in rows} | {p.status for p in package_rows} | {o.status for o in os_rows}
    if UNKNOWN in statuses:
        return 2
    return 1 if OUTDATED in statuses else 0


def _os(hierarchy: Hierarchy, names: tuple[str, ...], engine: Engine) -> list[OsRow]:
    """Per built image with apt or apk: the updates its archives offer (a throwaway container)."""
    from bbc.upkeep import ospackages
    from bbc.model import refs

    out: list[OsRow] = []
    for name in hierarchy.order:
        if names and name not in names:
            continue
        spec = hierarchy[name]
        ref = refs.ref(hierarchy.config.ref(name), spec.version)
        if engine.inspect(ref) is None:
            out.append(OsRow(name, "-", "", "", "", False, NOT_BUILT, f"{ref} is not built: not asked"))
            continue
        try:
            kind = ospackages.manager(engine, ref)
            if kind is None:
                out.append(OsRow(name, "-", "", "", "", False, CURRENT, "no apt or apk: nothing to ask"))
                continue
            found = ospackages.updates(engine, ref, kind, spec.network)
        except BbcError as exc:
            out.append(OsRow(name, "-", "", "", "", False, UNKNOWN, exc.message))
            continue
        out += [OsRow(name, kind, u.name, u.current, u.new, u.security) for u in found]
        if not found:
            out.append(OsRow(name, kind, "", "", "", False, CURRENT, f"{kind}: every package is current"))
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
            out.append(PackageRow(image, where, package, pin.old, None, UNKNOWN, answer.message))
            continue
        newest = packages.newest_within(pin.old, answer, level)
        out.append(PackageRow(image, where, package, pin.old, newest, OUTDATED if newest else CURRENT))
    return out


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _short(digest: str | None) -> str:
    return digest[:19] + "…" if digest else "-"
