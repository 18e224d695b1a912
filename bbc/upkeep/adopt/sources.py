"""Every build file of the tree read (Makefiles, shell scripts, bake, compose, bashbrew library
files), and the builds grouped by the Dockerfile they build, surest first."""

from __future__ import annotations

from collections.abc import Mapping

from bbc.upkeep.adopt import bake, bashbrew, compose, makefile, shell
from bbc.upkeep.adopt.records import Build, Found, Source
from bbc.upkeep.adopt.tree import Tree

# when several build files build one Dockerfile, whose word comes first (args, target, name)
_ORDER = (Source.BAKE, Source.COMPOSE, Source.MAKEFILE, Source.SCRIPT, Source.BASHBREW)


def read(tree: Tree) -> Found:
    """What the build files say, only about Dockerfiles the tree holds."""
    found = makefile.read(tree) + shell.read(tree) + bake.read(tree) + compose.read(tree) + bashbrew.read(tree)
    held = set(tree.dockerfiles)
    kept = tuple(b for b in found.builds if b.file in held)
    missing = sorted({f"{b.where}: builds {b.file}, which is not in the tree; left out"
                      for b in found.builds if b.file not in held and b.tags and b.source is not Source.SCRIPT})
    return Found(kept, found.aliases, found.messages + tuple(missing))


def by_file(builds: tuple[Build, ...]) -> Mapping[str, tuple[Build, ...]]:
    """Dockerfile -> its builds, surest and most explicit first."""
    out: dict[str, list[Build]] = {}
    for build in builds:
        out.setdefault(build.file, []).append(build)
    return {file: tuple(sorted(found, key=lambda b: (not b.sure, _ORDER.index(b.source), b.where)))
            for file, found in out.items()}


def way(build: Build) -> tuple[str, tuple[tuple[str, str], ...], str | None]:
    """What a build builds, beyond its Dockerfile: context, args, target."""
    return build.context, tuple(sorted(build.args.items())), build.target


def ways(builds: tuple[Build, ...]) -> list[Build]:
    """The builds that differ in what they build, one of each."""
    seen: dict[tuple[str, tuple[tuple[str, str], ...], str | None], Build] = {}
    for build in builds:
        seen.setdefault(way(build), build)
    return list(seen.values())
