"""What upstream has that the hierarchy does not, per image (what `bbc outdated` lists): every
external base with the digest in use and, online, the one its tag names now; every Python
package pinned with `==`, with the newest release within `level` when the index is asked."""

from __future__ import annotations

from pathlib import Path

from bbc.adapters import state
from bbc.errors import BbcError, RegistryError
from bbc.model.hierarchy import Hierarchy
from bbc.page.model import Base, Package
from bbc.plan import bases
from bbc.upkeep import packages, pins

CURRENT = "current"
OUTDATED = "outdated"
NOT_BUILT = "not built"
UNKNOWN = "unknown"
NOT_ASKED = "not asked (--offline)"


def external_bases(hierarchy: Hierarchy, *, ask: bool) -> dict[str, tuple[Base, ...]]:
    """{image: its external bases}; each tag asked of its registry once, when `ask`."""
    root = hierarchy.config.root
    latest: dict[str, str | RegistryError] = {}
    out: dict[str, tuple[Base, ...]] = {}
    for name in hierarchy.order:
        recorded = (state.read_json(state.manifest_path(root, name)) or {}).get("bases") or {}
        rows = []
        for found in bases.of(hierarchy[name], root):
            tag_ref = found.ref.partition("@")[0]
            in_use = found.ref.partition("@")[2] if found.pinned else recorded.get(found.ref)
            if not ask:
                rows.append(Base(found.where, tag_ref, found.pinned, in_use, None, UNKNOWN, NOT_ASKED))
                continue
            if tag_ref not in latest:
                latest[tag_ref] = bases.current_digest(tag_ref, hierarchy.config.mirrors)
            now = latest[tag_ref]
            if isinstance(now, RegistryError):
                rows.append(Base(found.where, tag_ref, found.pinned, in_use, None, UNKNOWN, now.message))
            elif in_use is None:
                rows.append(Base(found.where, tag_ref, found.pinned, None, now, NOT_BUILT))
            else:
                rows.append(Base(found.where, tag_ref, found.pinned, in_use, now, CURRENT if in_use == now else OUTDATED))
        out[name] = tuple(rows)
    return out


def pinned_packages(hierarchy: Hierarchy, *, level: str | None, index_url: str | None) -> dict[str, tuple[Package, ...]]:
    """{image: its pinned Python packages}; the index asked (pip's machinery, each package once)
    only with a `level`."""
    root = hierarchy.config.root
    found = packages.pinned_in(hierarchy)
    answers = packages.ask_all([package for _, package, _ in found], index_url) if level and found else {}
    out: dict[str, list[Package]] = {}
    for image, package, pin in found:
        where = f"{_rel(pin.path, root)}:{pin.line}"
        if not level:
            row = Package(where, package, pin.old, None, UNKNOWN, NOT_ASKED)
        else:
            answer = answers[pins.normalize(package)]
            if isinstance(answer, BbcError):
                row = Package(where, package, pin.old, None, UNKNOWN, answer.message)
            else:
                newest = packages.newest_within(pin.old, answer, level)
                row = Package(where, package, pin.old, newest, OUTDATED if newest else CURRENT)
        out.setdefault(image, []).append(row)
    return {name: tuple(rows) for name, rows in out.items()}


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
