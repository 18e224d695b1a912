"""Everything `bbc report` shows, gathered once into a Report (model.py). Reads only: one plan
as `bbc status` makes it, the engine's index, `.bbc/` (tests, build records), the projects'
files, scan reports; and, unless offline, the registry (releases, signatures, external bases)
and the package index (pinned packages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bbc.adapters.engine import Engine
from bbc.model import platforms
from bbc.model.hierarchy import Hierarchy
from bbc.page import findings as routing
from bbc.page import local, projects, released, upstream
from bbc.page.model import Edge, EdgeKind, Image, Release, Report, Signature, State
from bbc.plan import bases, remote


@dataclass(frozen=True)
class Options:
    offline: bool = False  # never ask a registry or the package index
    scans: tuple[tuple[str | None, Path], ...] = ()  # (image or None: named in the report, file)
    level: str | None = "minor"  # how far a pinned package may move to count as outdated; None: not asked
    index_url: str | None = None


def collect(hierarchy: Hierarchy, engine: Engine, options: Options = Options()) -> Report:
    units = platforms.expand(hierarchy)
    client = None if options.offline else released.clients()
    scans, found = routing.route_all(hierarchy, engine, list(options.scans)) if options.scans else ((), ())
    root = hierarchy.config.root
    if options.offline:
        resolve, pull = local.offline_bases(root, engine), None
    else:
        reg, repo_of = remote.registry_for(units)
        resolve, pull = bases.Resolver(engine, hierarchy.config.mirrors).digest, remote.holds(reg, repo_of)
    made = local.of_plan(units, local.plan(hierarchy, engine, resolve=resolve, pull=pull))
    unknown: list[str] = []
    if client is None:
        rel = {u: Release(released.UNKNOWN, detail="registry not asked (--offline)") for u in units.order}
        unknown.append("--offline: the registry and the package index were not asked: release state, released "
                       "digests, signatures, whether external bases moved and newer packages are unknown")
    else:
        rel = released.releases(units, {u: (made[u].fingerprint, made[u].info) for u in units.order}, client)
    signing = bool(hierarchy.config.signing.public_keys)
    signatures: dict[str, Signature] = {}
    if signing and client is not None:
        signatures = released.signatures(hierarchy, rel, client)
    elif signing:
        signatures = {n: Signature(released.UNKNOWN, "registry not asked (--offline)") for n in hierarchy.order}
    base_rows = upstream.external_bases(units, ask=client is not None)
    package_rows = upstream.pinned_packages(hierarchy, level=None if client is None else options.level,
                                            index_url=options.index_url)
    owned = routing.counts(found)
    images = []
    for unit in units.order:
        image = platforms.image_of(unit)
        spec, here = units[unit], made[unit]
        parts = (here, base_rows.get(unit, ()), owned.get(image, ()))
        images.append(Image(
            unit=unit, image=image, platform=spec.platform if platforms.is_unit(unit) else None,
            version=spec.version, kind=hierarchy.kind(image), parent=units.parent(unit), owner=spec.owner or None,
            description=spec.description, fingerprint=here.fingerprint, build=here.build, why=here.why,
            image_id=here.info.id if here.info else None, size=here.info.size if here.info else None,
            own_size=here.own_size, release=rel[unit], bases=base_rows.get(unit, ()),
            packages=package_rows.get(image, ()), tests=here.tests,
            signature=signatures.get(image) if signing else None, findings=owned.get(image, ()),
            states=_states(*parts)))
    edges = tuple(Edge(EdgeKind(str(e.kind)), e.source, e.target) for e in units.edges())  # parent and uses
    return Report(hierarchy.config.registry, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  options.offline, signing, tuple(images), edges, projects.pins_of(hierarchy, engine, client),
                  found, scans, tuple(unknown))


_SEVERITY = {"critical": State.FINDINGS_CRITICAL, "high": State.FINDINGS_HIGH, "medium": State.FINDINGS_MEDIUM,
             "low": State.FINDINGS_LOW}


def _states(here: local.Local, base_rows: tuple[object, ...], owned: tuple[tuple[str, int], ...]) -> tuple[State, ...]:
    """Every state that holds, worst first."""
    out = set()
    if here.build == local.NOT_BUILT:
        out.add(State.NOT_BUILT)
    elif here.build == local.REBUILD:
        out.add(State.REBUILD)
    if here.base_moved or any(getattr(b, "status", "") == upstream.OUTDATED for b in base_rows):
        out.add(State.BASE_MOVED)
    if here.tests.status.startswith("failed"):
        out.add(State.TESTS_FAILED)
    out.update(_SEVERITY[s] for s, _ in owned if s in _SEVERITY)
    return tuple(sorted(out, key=lambda s: -s.rank)) or (State.UP_TO_DATE,)
