"""An org-wide upgrade (`bbc upgrade`), said through the events.

- a package (`PACKAGE==VERSION`): rewrite every pin of it in the images' contexts, bump the
  images owning a pin (patch, cascading down the graph), show what will rebuild, and
  optionally build (and test) that subgraph and make one commit.
- an image (`--image IMAGE major|minor|patch|X.Y.Z`): bump + cascade, build, test, and
  optionally release and roll out.

Edits are left in place when a build or test fails (nothing is committed), so the user
can look, fix and run again.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbc import config as config_mod
from bbc.adapters import git, lock
from bbc.adapters.engine import Engine
from bbc.config import yamledit
from bbc.errors import BbcError
from bbc.model import versions
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Scope, Selection
from bbc.run import report
from bbc.upkeep import maintenance, pins
from bbc.upkeep import rollout as rollouts

_SPEC = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(?P<version>\S+)\s*$")


@dataclass(frozen=True)
class UpgradeRequest:
    """What `bbc upgrade` was asked to do."""

    target: str  # PACKAGE==VERSION; with `image`: how to bump it (major|minor|patch|X.Y.Z)
    image: str | None = None
    images: tuple[str, ...] = ()  # a package upgrade looks for pins in these images only (default: all)
    build: bool = False
    test: bool = False  # implies build
    commit: bool = False
    dry_run: bool = False
    release: bool = False  # image upgrades only
    rollout: bool = False  # image upgrades only


@dataclass(frozen=True)
class UpgradeResult:
    code: int
    bumps: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # {image: (old, new)}
    commit: str | None = None


def upgrade(hierarchy: Hierarchy, connect: Callable[[], Engine], request: UpgradeRequest,
            events: report.Events) -> UpgradeResult:
    """Dispatch: `image` bumps an image; otherwise the target is PACKAGE==VERSION.

    A real upgrade holds bbc.yaml's lock from reading it to its commit: another bump or
    upgrade waits, and builds on what this one wrote instead of overwriting it."""
    if request.dry_run:
        return _upgrade(hierarchy, connect, request, events)
    with lock.config_lock(hierarchy.config.path):
        return _upgrade(config_mod.load_hierarchy(hierarchy.config.path), connect, request, events)


def _upgrade(hierarchy: Hierarchy, connect: Callable[[], Engine], request: UpgradeRequest,
             events: report.Events) -> UpgradeResult:
    if request.image is not None:
        if request.images:
            raise BbcError("--images is for package upgrades; with --image, the image and its descendants rebuild")
        return upgrade_image(hierarchy, connect, request, events)
    if request.release or request.rollout:
        raise BbcError("--release and --rollout go with --image IMAGE",
                       tip="after a package upgrade, run `bbc release` and `bbc rollout`")
    return upgrade_package(hierarchy, connect, request, events)


def parse_spec(target: str) -> tuple[str, str]:
    m = _SPEC.match(target)
    if m is None:
        raise BbcError(f"'{target}' is not PACKAGE==VERSION", tip="e.g. bbc upgrade requests==2.32.3, "
                       "or bbc upgrade --image IMAGE patch")
    return m["name"], m["version"]


def context_files(hierarchy: Hierarchy, name: str) -> list[Path]:
    """Files of an image's build context; a nested image's folder belongs to that image."""
    spec = hierarchy[name]
    others = {s.path for n, s in hierarchy.config.images.items() if n != name and s.path != spec.path}
    out: list[Path] = []
    for folder, dirs, files in os.walk(spec.path):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and here / d not in others)
        out.extend(here / f for f in sorted(files))
    return out


def find(hierarchy: Hierarchy, package: str, names: Iterable[str]) -> dict[str, list[pins.Pin]]:
    """{image: pins of `package` in its context}, images without a pin left out."""
    found: dict[str, list[pins.Pin]] = {}
    for name in hierarchy.sort(names):
        spec = hierarchy[name]
        files = [p.relative_to(spec.path) for p in context_files(hierarchy, name)]
        here = pins.find_pins(spec.path, package, files)
        if here:
            found[name] = here
    return found


def upgrade_package(hierarchy: Hierarchy, connect: Callable[[], Engine], request: UpgradeRequest,
                    events: report.Events) -> UpgradeResult:
    package, version = parse_spec(request.target)
    config = hierarchy.config
    stale = _stale_pins(hierarchy, package, version, request.images, events)
    if not stale:
        return UpgradeResult(0)
    owners = list(stale)
    bumps = versions.plan_bump(hierarchy, {n: "patch" for n in owners})
    events.message(f"pins of {package} -> {version}:")
    for name, ps in stale.items():
        for p in ps:
            events.message(f"  {_rel(config.root, p.path)}:{p.line}  {p.old} -> {version}  ({name}, {p.kind})")
    maintenance.show_bumps(hierarchy, bumps, owners, events)
    events.message(f"will rebuild: {', '.join(hierarchy.sort(hierarchy.closure_down(owners)))}")
    all_pins = [p for ps in stale.values() for p in ps]
    files = sorted({p.path for p in all_pins}) + [config.path]
    new_versions = {n: new for n, (_, new) in bumps.items()}
    if request.dry_run:
        for path, (old, new) in _rewritten(all_pins, version).items():
            maintenance.show_diff(events, _diff(config.root, path, old, new))
        maintenance.show_diff(events, yamledit.set_versions(config.path, new_versions, dry_run=True))
        events.message("dry run: nothing changed")
        return UpgradeResult(0, bumps)
    repo = maintenance.commit_ready(config.root, files) if request.commit else None
    pins.rewrite_pins(all_pins, version)
    yamledit.set_versions(config.path, new_versions)
    events.message(f"rewrote {len(all_pins)} pins in {len(files) - 1} files; bumped {len(bumps)} images in "
                   f"{config.path.name}")
    message = f"upgrade {package} to {version}: images {', '.join(owners)}\n\n" + maintenance.bump_lines(bumps)
    commit = _Commit(repo, files, message) if repo is not None else None
    code, sha = _prove_and_commit(config.path, owners, connect, events, build=request.build or request.test,
                                  test=request.test, commit=commit)
    return UpgradeResult(code, bumps, sha)


def _stale_pins(hierarchy: Hierarchy, package: str, version: str, images: tuple[str, ...],
                events: report.Events) -> dict[str, list[pins.Pin]]:
    """{image: its pins of `package` at another version}; BbcError when there is no pin at all."""
    scope = hierarchy.check_names(images) if images else list(hierarchy.order)
    found = find(hierarchy, package, scope)
    if not found:
        raise BbcError(f"no pin of {package} in the requirements, constraints or Dockerfiles of "
                       + ("the images" if not images else ", ".join(scope)),
                       tip="pins look like `pkg==1.2.3`, `ENV PKG_VERSION=1.2.3` or `apt-get install pkg=1.2`")
    stale = {n: [p for p in ps if p.old != version] for n, ps in found.items()}
    stale = {n: ps for n, ps in stale.items() if ps}
    if not stale:
        count = sum(len(ps) for ps in found.values())
        events.message(f"{package} is already {version} in all {count} pins ({', '.join(found)}); nothing to do")
    return stale


def upgrade_image(hierarchy: Hierarchy, connect: Callable[[], Engine], request: UpgradeRequest,
                  events: report.Events) -> UpgradeResult:
    config = hierarchy.config
    image = request.image or ""
    bumps = versions.plan_bump(hierarchy, {image: request.target})
    maintenance.show_bumps(hierarchy, bumps, [image], events)
    events.message(f"will rebuild: {', '.join(hierarchy.sort(hierarchy.closure_down([image])))}")
    new_versions = {n: new for n, (_, new) in bumps.items()}
    if request.dry_run:
        maintenance.show_diff(events, yamledit.set_versions(config.path, new_versions, dry_run=True))
        events.message("dry run: nothing changed")
        return UpgradeResult(0, bumps)
    repo = maintenance.commit_ready(config.root, [config.path]) if request.commit else None
    yamledit.set_versions(config.path, new_versions)
    message = f"upgrade {image} to {bumps[image][1]}\n\n" + maintenance.bump_lines(bumps)
    commit = _Commit(repo, [config.path], message) if repo is not None else None
    code, sha = _prove_and_commit(config.path, [image], connect, events, build=True, test=request.test,
                                  commit=commit)
    if code != 0 or not (request.release or request.rollout):
        return UpgradeResult(code, bumps, sha)
    fresh = _reload(config.path)
    engine = connect()
    if request.release:
        # tested like `bbc release` by default: a release is never untested
        if not maintenance.run(fresh, engine, Selection((image,), True, None, False), Scope(test=True, release=True),
                               events):
            events.message("release failed: no rollout")
            return UpgradeResult(1, bumps, sha)
    if request.rollout:
        code = rollouts.rollout(fresh, lambda: engine, image, events=events)
    return UpgradeResult(code, bumps, sha)


# -- steps ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Commit:
    """The commit an upgrade makes once its builds pass."""

    repo: Any
    files: list[Path]
    message: str


def _prove_and_commit(path: Path, owners: list[str], connect: Callable[[], Engine], events: report.Events, *,
                      build: bool, test: bool, commit: _Commit | None) -> tuple[int, str | None]:
    """(exit code, the commit made)."""
    if build:
        fresh = _reload(path)
        engine = connect()
        if not maintenance.run(fresh, engine, Selection(tuple(owners), True, None, False), Scope(gate=test), events):
            what = "build or tests" if test else "build"
            events.message(f"{what} failed: the edits stay in place (pins and {path.name}); nothing was committed")
            return 1, None
        events.message("built" + (" and tested" if test else "") + ": "
                       + ", ".join(fresh.sort(fresh.closure_down(owners))))
    if commit is None:
        return 0, None
    sha = git.commit_paths(commit.repo, commit.files, commit.message)
    events.message(f"committed {sha[:12]}: {commit.message.splitlines()[0]}")
    return 0, sha


def _reload(path: Path) -> Hierarchy:
    return config_mod.load_hierarchy(path)


# -- output -----------------------------------------------------------------------------

def _rewritten(found: Iterable[pins.Pin], version: str) -> dict[Path, tuple[str, str]]:
    """{file: (text now, text after)} without writing: what `pins.rewrite_pins` would do."""
    out: dict[Path, tuple[str, str]] = {}
    by_path: dict[Path, list[pins.Pin]] = {}
    for pin in found:
        by_path.setdefault(pin.path, []).append(pin)
    for path, file_pins in by_path.items():
        with path.open(encoding="utf-8", newline="") as f:
            text = f.read()
        new = text
        for pin in sorted(file_pins, key=lambda p: p.start, reverse=True):
            new = new[: pin.start] + version + new[pin.end :]
        out[path] = (text, new)
    return out


def _diff(root: Path, path: Path, old: str, new: str) -> str:
    rel = _rel(root, path)
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=f"a/{rel}", tofile=f"b/{rel}"))


def _rel(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
