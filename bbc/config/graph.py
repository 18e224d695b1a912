"""What bbc.yaml's images say about each other, checked once each image reads well on its
own: parents that exist and form no cycle, skips of inherited tests only, no two images the
same build, and platforms a child can build from its parent's. The links are followed by the
hierarchy's functions (bbc/model/hierarchy.py), never here."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from bbc.config.checker import Checker
from bbc.errors import did_you_mean
from bbc.model import hierarchy
from bbc.model import platforms as platforms_mod
from bbc.model.specs import ImageSpec


def check_graph(r: Checker, images: dict[str, ImageSpec], nodes: dict[str, Any]) -> None:
    parents = _parents(r, images, nodes)
    for loop in hierarchy.cycles(parents):
        chain = " -> ".join(loop + [loop[0]])
        r.problem(("images", loop[0], "parent"), f"cycle in the hierarchy: {chain}")
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
