"""`bbc outdated`: what upstream has that the hierarchy does not. For every external base:
where it is written, the digest in use (pinned, or the one the last build was fingerprinted
with), the digest its tag names in its registry now, and whether that differs.

Exit 0 when everything is current, 1 when something is outdated (a nightly job branches on
it), 2 when bbc could not find out (a registry that does not answer is named).
"""

from __future__ import annotations

from dataclasses import dataclass

from bbc import bases, report, state
from bbc.errors import RegistryError
from bbc.hierarchy import Hierarchy

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


def outdated(hierarchy: Hierarchy, names: tuple[str, ...] = (), *, fmt: str = "table") -> int:
    hierarchy.check_names(names)
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
                latest[tag_ref] = _ask(tag_ref)
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
        report.dump_json([{"image": r.image, "where": r.where, "base": r.base, "pinned": r.pinned,
                           "in_use": r.in_use, "latest": r.latest, "status": r.status, "message": r.message}
                          for r in rows])
    elif not rows:
        print("no external bases: every image builds on its parent or scratch")
    else:
        report.table(("image", "where", "base", "in use", "registry now", "status"),
                     [(r.image, r.where, r.base + ("" if r.pinned else " (unpinned)"), _short(r.in_use),
                       _short(r.latest), r.status) for r in rows])
        for r in rows:
            if r.status == UNKNOWN:
                print(f"{r.where}: {r.base}: could not ask its registry: {r.message}")
    if any(r.status == UNKNOWN for r in rows):
        return 2
    return 1 if any(r.status == OUTDATED for r in rows) else 0


def _ask(ref: str) -> str | RegistryError:
    """The digest the tag names in its registry now (never the engine's copy: that is what
    `outdated` compares against)."""
    from bbc.dockerfile import parse_reference
    from bbc.registry import Registry, split_image_name

    parsed = parse_reference(ref)
    tag = parsed.tag or "latest"
    try:
        host, repository = split_image_name(parsed.name)
        manifest = Registry("registry-1.docker.io" if host == "docker.io" else host, timeout=5.0).manifest(
            repository, tag)
    except RegistryError as exc:
        return exc
    if manifest is None:
        return RegistryError(f"{host} has no tag {tag} in {repository}")
    return manifest.digest


def _short(digest: str | None) -> str:
    return digest[:19] + "…" if digest else "-"
