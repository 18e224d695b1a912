"""What bbc.yaml's images say about each other, checked once each image reads well on its
own: parents and used images that exist and form no cycle (through either kind of link),
skips of inherited tests only, no two images the same build, and platforms a child can build
from its parent's and its used images'. The links are followed by the
hierarchy's functions (bbc/model/hierarchy.py), never here."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from bbc.config.checker import Checker
from bbc.errors import did_you_mean
from bbc.model import hierarchy
from bbc.model import platforms as platforms_mod
from bbc.model.specs import ImageSpec, Use


def check_graph(r: Checker, images: dict[str, ImageSpec], nodes: dict[str, Any]) -> None:
    parents = _parents(r, images, nodes)
    for loop in hierarchy.cycles(parents):
        chain = " -> ".join(loop + [loop[0]])
        r.problem(("images", loop[0], "parent"), f"cycle in the hierarchy: {chain}")
    _check_uses(r, images, nodes)
    # skip names must be inherited tests
    for name, spec in images.items():
        if spec.test is None:
            continue
        line = hierarchy.lineage(parents, name)
        for skipped in spec.test.skip:
            if skipped not in line or skipped == name:
                r.problem(("images", name, "test", "skip"),
                          f"'{skipped}' is not an ancestor of '{name}'; only inherited tests can be skipped")
    builds: dict[tuple[Path, str, str | None], str] = {}
    for name, spec in images.items():
        key = (spec.path, spec.dockerfile, spec.target)
        if key in builds:
            r.problem(("images", name),
                      f"same build as '{builds[key]}' (context '{spec.rel_path}', Dockerfile "
                      f"'{spec.dockerfile}', target {spec.target or '(final)'}); give it its own folder, "
                      "Dockerfile or target")
        else:
            builds[key] = name


def _parents(r: Checker, images: dict[str, ImageSpec], nodes: dict[str, Any]) -> dict[str, str | None]:
    """{image: parent} of the links that name another image of the file."""
    names = list(nodes)
    parents: dict[str, str | None] = {}
    for name, spec in images.items():
        if spec.parent is None:
            continue
        if spec.parent == name:
            r.problem(("images", name, "parent"), "an image cannot be its own parent")
        elif spec.parent not in nodes:
            r.problem(("images", name, "parent"),
                      f"unknown image '{spec.parent}'{did_you_mean(spec.parent, names)}")
        else:
            parents[name] = spec.parent
    return parents


def _check_uses(r: Checker, images: dict[str, ImageSpec], nodes: dict[str, Any]) -> None:
    """Used images that exist, and no cycle through parent and uses links: an image that uses
    one of its descendants (what builds on it, through either kind of link) would wait for itself."""
    names = list(nodes)
    for name, spec in images.items():
        for use in spec.uses:
            if use.image == name:
                r.problem(("images", name, "uses", use.key), "an image cannot use itself")
            elif use.image not in nodes:
                r.problem(("images", name, "uses", use.key),
                          f"unknown image '{use.image}'{did_you_mean(use.image, names)}")
    needs = {n: tuple(d for d in deps if d in images and d != n)
             for n, deps in hierarchy.needs_of(images).items()}
    said: set[frozenset[str]] = set()
    for loop in hierarchy.loops(needs):
        steps = list(zip(loop, loop[1:] + loop[:1]))
        via = {(a, b): _edge(images[a], b) for a, b in steps}
        first = next(((a, b) for a, b in steps if via[a, b] != "parent"), None)
        if first is None or frozenset(loop) in said:
            continue  # parent links only: said above
        said.add(frozenset(loop))
        chain = loop[0] + "".join(f" -[{via[a, b]}]-> {b}" for a, b in steps)
        user, used = first
        r.problem(("images", user, "uses", via[first].removeprefix("uses ")),
                  f"cycle through parent and uses links: {chain}: '{used}' builds on '{user}', "
                  f"so '{user}' cannot use it")


def _edge(spec: ImageSpec, dep: str) -> str:
    """How `spec` builds on `dep`: `parent`, or `uses KEY`."""
    if spec.parent == dep:
        return "parent"
    return "uses " + next(u.key for u in spec.uses if u.image == dep)


def inherit_platforms(r: Checker, images: dict[str, ImageSpec], nodes: dict[str, Any],
                      defaults: dict[str, Any]) -> None:
    """Fill in the platforms of images that name none (their parent's), parents first, and
    refuse a child that widens its parent's: it would have no parent build to start from."""
    parents = {name: spec.parent for name, spec in images.items()}
    says = {n for n, node in nodes.items() if isinstance(node, dict) and ("platform" in node or "platforms" in node)}
    if "platform" in defaults or "platforms" in defaults:
        says = set(images)
    for name in hierarchy.topological(parents, list(nodes)):
        spec = images.get(name)
        if spec is None or spec.parent is None or spec.parent not in images:
            continue
        theirs = images[spec.parent].platforms
        if name not in says:
            if theirs:
                images[name] = replace(spec, platforms=theirs, platform=theirs[0] if len(theirs) == 1 else None)
            continue
        where = ("images", name, "platforms" if "platforms" in (nodes.get(name) or {}) else "platform")
        _narrows(r, spec, theirs, where)
    for spec in images.values():
        for use in spec.uses:
            if use.image in images:
                _used_for(r, spec, use, images[use.image].platforms)


def _used_for(r: Checker, spec: ImageSpec, use: Use, theirs: tuple[str, ...]) -> None:
    """Whether `use.image`, built for `theirs`, is there for every platform `spec` needs it on:
    each of its own, or only the build platform where it is read in a `--platform=$BUILDPLATFORM` stage."""
    where = ("images", spec.name, "uses", use.key)
    here = platforms_mod.native()
    needed = (here,) if use.on_build else spec.platforms
    if not theirs:
        if len(needed) > 1:
            r.problem(where, f"'{use.image}' is built only for the engine's own platform, and {spec.name} is built "
                             f"for {', '.join(needed)}: give {use.image} platforms: [{', '.join(needed)}], or read "
                             "it in a `FROM --platform=$BUILDPLATFORM` stage")
        return
    missing = [p for p in needed if p not in theirs]
    if missing:
        how = "reads it on the build platform" if use.on_build else "is built for it and reads it there"
        r.problem(where, f"'{use.image}' is not built for {', '.join(missing)} (only for {', '.join(theirs)}), and "
                         f"{spec.name} {how}: a used image must be built for every platform that needs it")


def _narrows(r: Checker, spec: ImageSpec, theirs: tuple[str, ...], where: tuple[str, ...]) -> None:
    """Whether an image that names its platforms can build on its parent's (`theirs`)."""
    if spec.parent_on_build:  # the parent runs on the build platform only
        here = platforms_mod.native()
        if theirs and here not in theirs:
            r.problem(("images", spec.name, "platforms"),
                      f"its Dockerfile builds on {spec.parent} for the build platform ({here}), "
                      f"which {spec.parent} is not built for ({', '.join(theirs)})")
        return
    if not theirs and len(spec.platforms) > 1:
        r.problem(where, f"parent '{spec.parent}' is built only for the engine's own platform; a child "
                         "may narrow its parent's platforms, never widen them (give the parent "
                         f"platforms: [{', '.join(spec.platforms)}], or build on it with "
                         "`FROM --platform=$BUILDPLATFORM` to cross-compile)")
        return
    missing = [p for p in spec.platforms if theirs and p not in theirs]
    if missing:
        r.problem(where, f"parent '{spec.parent}' is not built for {', '.join(missing)} (only for "
                         f"{', '.join(theirs)}); a child may narrow its parent's platforms, never widen them")
