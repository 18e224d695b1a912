"""`bbc upgrade`: one command for an org-wide upgrade.

- `bbc upgrade PACKAGE==VERSION`: rewrite every pin of PACKAGE in the images' contexts,
  bump the images owning a pin (patch, cascading down the graph), show what will rebuild,
  and optionally build (and test) that subgraph and make one commit.
- `bbc upgrade --image IMAGE major|minor|patch|X.Y.Z`: bump + cascade, build, test, and
  optionally release and roll out.

Edits are left in place when a build or test fails (nothing is committed), so the user
can look, fix and run again.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bbc import config as config_mod
from bbc.adapters import git, lock
from bbc.upkeep import maintenance, pins, rollout as rollouts
from bbc.model import versions
from bbc.config import yamledit
from bbc.adapters.engine import Engine
from bbc.errors import BbcError
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Scope, Selection

_SPEC = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(?P<version>\S+)\s*$")


def upgrade(
    hierarchy: Hierarchy,
    target: str,
    connect: Callable[[], Engine],
    *,
    image: str | None = None,
    images: Iterable[str] = (),
    build: bool = False,
    test: bool = False,
    commit: bool = False,
    dry_run: bool = False,
    release: bool = False,
    rollout: bool = False,
) -> int:
    """Dispatch: `--image IMAGE HOW` bumps an image; otherwise TARGET is PACKAGE==VERSION.

    A real upgrade holds bbc.yaml's lock from reading it to its commit: another bump or
    upgrade waits, and builds on what this one wrote instead of overwriting it."""
    if not dry_run:
        with lock.config_lock(hierarchy.config.path):
            return _upgrade(config_mod.load_hierarchy(hierarchy.config.path), target, connect, image=image, images=images,
                            build=build, test=test, commit=commit, dry_run=False, release=release, rollout=rollout)
    return _upgrade(hierarchy, target, connect, image=image, images=images, build=build, test=test, commit=commit,
                    dry_run=True, release=release, rollout=rollout)


def _upgrade(
    hierarchy: Hierarchy,
    target: str,
    connect: Callable[[], Engine],
    *,
    image: str | None,
    images: Iterable[str],
    build: bool,
    test: bool,
    commit: bool,
    dry_run: bool,
    release: bool,
    rollout: bool,
) -> int:
    if image is not None:
        if images:
            raise BbcError("--images is for package upgrades; with --image, the image and its descendants rebuild")
        return upgrade_image(hierarchy, image, target, connect, test=test, commit=commit, dry_run=dry_run,
                             release=release, rollout=rollout)
    if release or rollout:
        raise BbcError("--release and --rollout go with --image IMAGE",
                       tip="after a package upgrade, run `bbc release` and `bbc rollout`")
    package, version = parse_spec(target)
    return upgrade_package(hierarchy, package, version, connect, images=images, build=build or test, test=test,
                           commit=commit, dry_run=dry_run)


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


def upgrade_package(
    hierarchy: Hierarchy,
    package: str,
    version: str,
    connect: Callable[[], Engine],
    *,
    images: Iterable[str] = (),
    build: bool = False,
    test: bool = False,
    commit: bool = False,
    dry_run: bool = False,
) -> int:
    config = hierarchy.config
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
        print(f"{package} is already {version} in all {count} pins ({', '.join(found)}); nothing to do")
        return 0
    owners = list(stale)
    bumps = versions.plan_bump(hierarchy, {n: "patch" for n in owners})
    print(f"pins of {package} -> {version}:")
    for name, ps in stale.items():
        for p in ps:
            print(f"  {_rel(config.root, p.path)}:{p.line}  {p.old} -> {version}  ({name}, {p.kind})")
    maintenance.show_bumps(hierarchy, bumps, owners)
    print(f"will rebuild: {', '.join(hierarchy.sort(hierarchy.closure_down(owners)))}")
    all_pins = [p for ps in stale.values() for p in ps]
    files = sorted({p.path for p in all_pins}) + [config.path]
    new_versions = {n: new for n, (_, new) in bumps.items()}
    if dry_run:
        for path, (old, new) in _rewritten(all_pins, version).items():
            print(_diff(config.root, path, old, new), end="")
        print(yamledit.set_versions(config.path, new_versions, dry_run=True), end="")
        print("dry run: nothing changed")
        return 0
    repo = maintenance.commit_ready(config.root, files) if commit else None
    pins.rewrite_pins(all_pins, version)
    yamledit.set_versions(config.path, new_versions)
    print(f"rewrote {len(all_pins)} pins in {len(files) - 1} files; bumped {len(bumps)} images in {config.path.name}")
    message = f"upgrade {package} to {version}: images {', '.join(owners)}\n\n" + maintenance.bump_lines(bumps)
    return _prove_and_commit(config.path, owners, connect, build=build, test=test, repo=repo, files=files,
                             message=message)


def upgrade_image(
    hierarchy: Hierarchy,
    image: str,
    how: str,
    connect: Callable[[], Engine],
    *,
    test: bool = False,
    commit: bool = False,
    dry_run: bool = False,
    release: bool = False,
    rollout: bool = False,
) -> int:
    config = hierarchy.config
    bumps = versions.plan_bump(hierarchy, {image: how})
    maintenance.show_bumps(hierarchy, bumps, [image])
    print(f"will rebuild: {', '.join(hierarchy.sort(hierarchy.closure_down([image])))}")
    new_versions = {n: new for n, (_, new) in bumps.items()}
    if dry_run:
        print(yamledit.set_versions(config.path, new_versions, dry_run=True), end="")
        print("dry run: nothing changed")
        return 0
    repo = maintenance.commit_ready(config.root, [config.path]) if commit else None
    yamledit.set_versions(config.path, new_versions)
    message = f"upgrade {image} to {bumps[image][1]}\n\n" + maintenance.bump_lines(bumps)
    code = _prove_and_commit(config.path, [image], connect, build=True, test=test, repo=repo,
                             files=[config.path], message=message)
    if code != 0 or not (release or rollout):
        return code
    fresh = _reload(config.path)
    engine = connect()
    if release:
        # tested like `bbc release` by default: a release is never untested
        if not maintenance.run(fresh, engine, Selection((image,), True, None, False), Scope(test=True, release=True)):
            print("release failed: no rollout")
            return 1
    if rollout:
        code = rollouts.rollout(fresh, lambda: engine, image)
    return code


# -- steps ------------------------------------------------------------------------------

def _prove_and_commit(path: Path, owners: list[str], connect: Callable[[], Engine], *, build: bool, test: bool,
                      repo: Any, files: list[Path], message: str) -> int:
    if build:
        fresh = _reload(path)
        engine = connect()
        if not maintenance.run(fresh, engine, Selection(tuple(owners), True, None, False), Scope(gate=test)):
            what = "build or tests" if test else "build"
            print(f"{what} failed: the edits stay in place (pins and {path.name}); nothing was committed")
            return 1
        print("built" + (" and tested" if test else "") + ": " + ", ".join(fresh.sort(fresh.closure_down(owners))))
    if repo is not None:
        sha = git.commit_paths(repo, files, message)
        print(f"committed {sha[:12]}: {message.splitlines()[0]}")
    return 0


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
