"""`bbc outdated`: what upstream has that the hierarchy does not (bbc/upkeep/outdated.py
finds it): external bases whose tag names another digest now, pinned Python packages with a
newer release within `--packages patch|minor|major`, and with `--os` the OS package updates.

Exit 0 when everything is current, 1 when something is outdated (a nightly job branches on
it), 2 when bbc could not find out (a registry that does not answer is named).
"""

from __future__ import annotations

from collections.abc import Callable

from bbc.adapters.engine import Engine
from bbc.model.hierarchy import Hierarchy
from bbc.run import report
from bbc.upkeep import outdated as finding
from bbc.upkeep.outdated import Outdated, Status


def outdated(hierarchy: Hierarchy, names: tuple[str, ...] = (), *, fmt: str = "table",
             level: str | None = "minor", index_url: str | None = None,
             engine: Callable[[], Engine] | None = None) -> int:
    """`engine`: asked for OS package updates (`--os`); None leaves them out."""
    found = finding.outdated(hierarchy, names, level=level, index_url=index_url, engine=engine)
    if fmt == "json":
        report.dump_json(found.as_json())
        return found.code
    _bases(found)
    if found.packages:
        report.table(("image", "where", "package", "pinned", f"newest ({level})", "status"),
                     [(p.image, p.where, p.package, p.pinned, p.newest or "-", p.status) for p in found.packages])
        for p in found.packages:
            if p.status == Status.UNKNOWN:
                print(f"{p.where}: {p.package}: {p.message}")
    if engine is not None:
        _os(found)
    return found.code


def _bases(found: Outdated) -> None:
    if not found.bases:
        print("no external bases: every image builds on its parent or scratch")
        return
    report.table(("image", "where", "base", "in use", "registry now", "status"),
                 [(r.image, r.where, r.base + ("" if r.pinned else " (unpinned)"), _short(r.in_use),
                   _short(r.latest), r.status) for r in found.bases])
    for r in found.bases:
        if r.status == Status.UNKNOWN:
            print(f"{r.where}: {r.base}: could not ask its registry: {r.message}")


def _os(found: Outdated) -> None:
    updates = [o for o in found.os if o.status == Status.OUTDATED]
    if updates:
        report.table(("image", "os package", "installed", "update", "security"),
                     [(o.image, o.package, o.current, o.new, "yes" if o.security else "") for o in updates])
    for o in found.os:
        if o.status != Status.OUTDATED:
            print(f"{o.image}: {o.message}")
    if not updates:
        print("no OS package updates in the built images' archives")


def _short(digest: str | None) -> str:
    return digest[:19] + "…" if digest else "-"
