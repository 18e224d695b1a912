"""`bbc why PACKAGE [--image X]`: which built images carry a package, at which version, which
image introduced it and which changed its version."""

from __future__ import annotations

import re
from typing import Any

from bbc.inside import ownership
from bbc.run import report
from bbc.adapters.engine import Engine
from bbc.errors import BbcError
from bbc.model.hierarchy import Hierarchy


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def carriers(hierarchy: Hierarchy, engine: Engine, package: str, images: list[str]) -> list[dict[str, Any]]:
    """One row per built image carrying `package` (by name, Python names normalised)."""
    rows: list[dict[str, Any]] = []
    for name in images:
        if engine.inspect(ownership.built_ref(hierarchy, name)) is None:
            continue
        inside = ownership.inside(engine, hierarchy, name, hierarchy.config.root)
        for o in inside.packages:
            if _norm(o.package.name) == _norm(package):
                rows.append({"image": name, "package": o.package.name, "version": o.package.version,
                             "type": o.package.kind, "path": o.package.source, "introduced_by": o.image,
                             "copied_by": o.copied_by or None,
                             "layer": o.layer, "step": o.step, "replaces": o.replaces or None})
    return rows


def why(hierarchy: Hierarchy, engine: Engine, package: str, *, image: str | None = None, fmt: str = "table") -> int:
    if image is not None:
        hierarchy.check_names([image])
    names = [image] if image else list(hierarchy.order)
    rows = carriers(hierarchy, engine, package, names)
    if fmt == "json":
        report.dump_json({"package": package, "images": rows})
        return 0 if rows else 1
    if not rows:
        raise BbcError(f"no built image {'of ' + ', '.join(names) + ' ' if image else ''}carries {package}",
                       tip="names are matched as pip does (case, - _ . alike); `bbc sbom IMAGE --format table` lists all")
    table = [(r["image"], r["version"], r["type"],
              (r["introduced_by"] if r["image"] != r["introduced_by"] else "itself")
              + ((" (copied in)" if r["copied_by"] == r["image"] else f" (copied by {r['copied_by']})")
                 if r["copied_by"] else ""),
              (f"{r['introduced_by']} ({r['replaces']} -> {r['version']})" if r["replaces"] else "-"), r["path"])
             for r in rows]
    report.table(("image", "version", "type", "introduced by", "version changed by", "path"), table, title=package)
    return 0
