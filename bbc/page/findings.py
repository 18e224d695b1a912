"""Scan reports (`--scan [IMAGE=]FILE`) routed to owners: each finding goes to the image whose
layer brought the package at its version (bbc/inside/ownership.py, as `bbc scan` routes it),
with that image's `owner:`, its blast radius and the command that fixes it there."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from bbc.adapters.engine import Engine
from bbc.errors import BbcError
from bbc.inside import ownership, scanreport
from bbc.inside.ownership import Inside, Owned
from bbc.model.hierarchy import Hierarchy
from bbc.page.model import Finding, Scan


def parse_option(text: str) -> tuple[str | None, Path]:
    """`IMAGE=FILE` or `FILE` (the image then read from the report)."""
    image, sep, file = text.partition("=")
    if sep and image and "/" not in image:
        return image, Path(file)
    return None, Path(text)


def route_all(hierarchy: Hierarchy, engine: Engine,
              scans: list[tuple[str | None, Path]]) -> tuple[tuple[Scan, ...], tuple[Finding, ...]]:
    """Every report read and routed; findings worst first. Bad input fails before any is read."""
    named = [(image or _named_in(hierarchy, file), file) for image, file in scans]
    hierarchy.check_names([image for image, _ in named])
    out_scans: list[Scan] = []
    out: list[Finding] = []
    for image, file in named:
        kind, found = scanreport.load(file)
        inside = ownership.inside(engine, hierarchy, image, hierarchy.config.root)
        out_scans.append(Scan(str(file), image, kind, len(found)))
        out += [_route(hierarchy, inside, image, f) for f in found]
    out.sort(key=lambda f: (-scanreport.rank(f.severity), f.image or "~", f.package, f.id))
    return tuple(out_scans), tuple(out)


def counts(findings: tuple[Finding, ...]) -> dict[str, tuple[tuple[str, int], ...]]:
    """{owning image: ((severity, count), ...) worst first}; each finding counted once per
    owning image even when several scanned images carry it."""
    seen = {(f.image, f.id, f.package) : f.severity for f in findings if f.image}
    per: dict[str, Counter[str]] = {}
    for (image, _, _), severity in seen.items():
        per.setdefault(str(image), Counter())[severity] += 1
    return {image: tuple(sorted(c.items(), key=lambda kv: -scanreport.rank(kv[0]))) for image, c in per.items()}


def _named_in(hierarchy: Hierarchy, file: Path) -> str:
    """The image a trivy or grype report names (ArtifactName, source.target.userInput)."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BbcError(f"--scan {file}: cannot read it as JSON ({exc})") from None
    target = ""
    if isinstance(data, dict):
        target = str(data.get("ArtifactName") or ((data.get("source") or {}).get("target") or {}).get("userInput") or "")
    repository = re.sub(r"(@sha256:[0-9a-f]+|:[\w.-]+)$", "", target)
    for name in hierarchy.order:
        if repository and repository in (hierarchy.config.ref(name), name):
            return name
    raise BbcError(f"--scan {file}: the report names no image of the hierarchy ({target or 'no target'})",
                   tip=f"say which image it is about: --scan IMAGE={file}")


def _match(inside: Inside, finding: scanreport.Finding) -> Owned | None:
    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    named = [o for o in inside.packages if norm(o.package.name) == norm(finding.package)]
    exact = [o for o in named if o.package.version == finding.version]
    found = exact or named
    return found[0] if found else None


def _route(hierarchy: Hierarchy, inside: Inside, scanned: str, f: scanreport.Finding) -> Finding:
    o = _match(inside, f)
    image = o.image if o is not None and o.image in hierarchy.config.images else None
    below = hierarchy.sort(hierarchy.descendants(image)) if image else []
    projects = [f"project {p.name}" for p in hierarchy.config.projects.values()
                if image and {image, *below} & set(p.images)]
    return Finding(f.id, f.severity, f.package, f.version or (o.package.version if o else ""), f.fixed or None,
                   scanned, image, (hierarchy[image].owner or None) if image else None, o.step if o else None,
                   tuple(below + projects), _fix(hierarchy, image, o, f))


def _fix(hierarchy: Hierarchy, image: str | None, o: Owned | None, f: scanreport.Finding) -> str | None:
    if not image or o is None or not f.fixed:
        return None
    if o.package.kind == "pypi":
        return f"bbc upgrade {o.package.name}=={f.fixed} --images {image}"
    prepare = hierarchy[image].prepare
    return f"bbc refresh --os --images {image}" if prepare is not None and prepare.refresh else f"bbc build {image} --force"
