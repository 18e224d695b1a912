"""`bbc scan IMAGE --report FILE`: a scanner's findings (trivy, grype or OSV JSON) routed to the
image of the hierarchy that owns each package, with that image's owner (bbc.yaml `owner:`), its
blast radius (descendants, dependent projects) and the command that fixes it there.

Exit 1 when a finding at or above `--fail-on` has an owner in the hierarchy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bbc.inside import ownership, scanreport
from bbc.run import report
from bbc.adapters.engine import Engine
from bbc.model.hierarchy import Hierarchy
from bbc.inside.ownership import Inside, Owned


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def match(inside: Inside, finding: scanreport.Finding) -> Owned | None:
    """The package a finding names: same name (pip's normalisation), the installed version
    preferred when several places hold it."""
    named = [o for o in inside.packages if _norm(o.package.name) == _norm(finding.package)]
    exact = [o for o in named if o.package.version == finding.version]
    found = exact or named
    return found[0] if found else None


def route(hierarchy: Hierarchy, inside: Inside, findings: list[scanreport.Finding]) -> list[dict[str, Any]]:
    rows = []
    for f in findings:
        o = match(inside, f)
        owner = o.image if o is not None and o.image in hierarchy.config.images else None
        below = hierarchy.sort(hierarchy.descendants(owner)) if owner else []
        projects = [p.name for p in hierarchy.config.projects.values() if {owner, *below} & set(p.images)] if owner else []
        fix = None
        if owner and f.fixed and o is not None:
            fix = f"bbc upgrade {o.package.name}=={f.fixed} --images {owner}"
            if o.package.kind != "pypi":
                # bbc upgrade rewrites Python pins; an OS package comes with the OS archive:
                # a root's prepare step takes it again, other images take it when rebuilt
                prepare = hierarchy[owner].prepare
                fix = (f"bbc refresh --os --images {owner}" if prepare is not None and prepare.refresh
                       else f"bbc build {owner} --force")
                fix += f"  # takes {o.package.name} {f.fixed} from the archive"
        rows.append({
            "id": f.id, "severity": f.severity, "package": f.package, "installed": f.version or (o.package.version if o else ""),
            "fixed": f.fixed or None, "image": owner, "owner": hierarchy[owner].owner or None if owner else None,
            "layer": o.layer if o else None, "step": o.step if o else None, "path": o.package.source if o else None,
            "descendants": below, "projects": projects, "fix": fix,
        })
    return sorted(rows, key=lambda r: (-scanreport.rank(r["severity"]), r["image"] or "~", r["package"], r["id"]))


def scan(hierarchy: Hierarchy, engine: Engine, image: str, report_file: Path, *, fail_on: str = "high",
         fmt: str = "table") -> int:
    hierarchy.check_names([image])
    kind, findings = scanreport.load(report_file)
    inside = ownership.inside(engine, hierarchy, image, hierarchy.config.root)
    rows = route(hierarchy, inside, findings)
    failing = [r for r in rows if r["image"] and scanreport.rank(r["severity"]) >= scanreport.rank(fail_on)]
    if fmt == "json":
        report.dump_json({"image": image, "report": str(report_file), "format": kind, "fail_on": fail_on,
                          "failing": len(failing), "findings": rows})
    else:
        table = [(r["severity"], r["id"], r["package"], r["installed"], r["fixed"] or "-", r["image"] or "(not in the image)",
                  r["owner"] or "-", ", ".join(r["descendants"] + [f"project {p}" for p in r["projects"]]) or "-")
                 for r in rows]
        report.table(("severity", "id", "package", "installed", "fixed", "image", "owner", "blast radius"), table,
                     title=f"{image}: {len(rows)} findings from {kind}")
        for cmd in dict.fromkeys(r["fix"] for r in rows if r["fix"] and r in failing):
            print(f"fix: {cmd}")
        if failing:
            print(f"{len(failing)} finding(s) at or above {fail_on} have an owner in the hierarchy")
    return 1 if failing else 0
