"""The frozen records adoption passes along: what a build file says a Dockerfile produces
(Build, Alias), the link decided for an image (Link) and the image as `bbc init` writes it
(Image, Adoption). Readers and deciders return new records; nothing is mutated after."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bbc.model.dockerfile import Stage

# A part of a value the build files compute at build time (`$(shell git rev-parse HEAD)`, a
# variable nobody sets): it matches anything when references are compared (refs.py).
UNKNOWN = "\ue000"


class Source(enum.Enum):
    """Where a link (or what a Dockerfile produces) was learnt; the summary counts by it."""

    BAKE = "bake"
    COMPOSE = "compose"
    MAKEFILE = "Makefile"
    SCRIPT = "script"
    BASHBREW = "bashbrew library"
    ARG_DEFAULT = "ARG default"
    FROM = "FROM"
    PLACEHOLDER = "placeholder"
    NAME = "name only"

    @property
    def build_file(self) -> bool:
        """Whether the repository's own build files said it (not bbc's reading of names)."""
        return self in (Source.BAKE, Source.COMPOSE, Source.MAKEFILE, Source.SCRIPT, Source.BASHBREW)


@dataclass(frozen=True)
class Build:
    """One build a build file describes: the Dockerfile it builds and what it tags it."""

    file: str  # the Dockerfile, posix, relative to the tree
    context: str  # the build context, posix, relative to the tree ("." for the tree)
    tags: tuple[str, ...]  # references it is tagged with (may hold UNKNOWN)
    source: Source
    where: str  # `path/Makefile:13`
    args: Mapping[str, str] = field(default_factory=dict)  # build args passed (may hold UNKNOWN)
    target: str | None = None
    # named contexts (bake `contexts`, `--build-context`): name -> `target:y`, `docker-image://r`
    contexts: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None  # the bake target or compose service
    # False when the line is commented out, or the folder it runs in had to be guessed
    sure: bool = True
    doubt: str = ""  # why not sure


@dataclass(frozen=True)
class Alias:
    """`docker tag SOURCE REF`: REF holds what SOURCE holds."""

    source: str
    ref: str
    where: str


@dataclass(frozen=True)
class Found:
    """What the build-file readers found: builds, aliases and one located line per problem."""

    builds: tuple[Build, ...] = ()
    aliases: tuple[Alias, ...] = ()
    messages: tuple[str, ...] = ()

    def __add__(self, other: Found) -> Found:
        return Found(self.builds + other.builds, self.aliases + other.aliases, self.messages + other.messages)


@dataclass(frozen=True)
class From:
    """The FROM the shipped stage starts from (through earlier stages)."""

    line: int
    raw: str  # as written
    image: str  # expanded with the global ARG defaults and build args ("" when a variable has none)
    arg: str | None  # the one global ARG the reference is (`FROM $X`, `FROM ${X:-d}`)
    stages: int
    target: str | None  # a stage to build when the last one is not what ships
    target_why: str = ""
    stage: Stage | None = None


@dataclass(frozen=True)
class Link:
    """An image's parent, how the Dockerfile reaches it and how sure bbc init is of it."""

    parent: str
    source: Source
    sure: bool
    where: str  # the FROM line, `file:line`
    arg: str | None = None  # the global ARG the FROM reads (parent_arg)
    ref: str | None = None  # the reference written out (parent_ref)
    why: str = ""  # the evidence, for the `?` comment when not sure
    namespace: str = ""  # the repository path before the last component, for the registry guess
    under_registry: bool = False


@dataclass(frozen=True)
class Image:
    """One image as bbc init will write it."""

    name: str
    path: str  # build context, posix, relative to the tree ("." for the tree itself)
    dockerfile: str = "Dockerfile"  # relative to path
    parent: str | None = None
    parent_arg: str | None = None  # written only when not SOURCE_IMAGE
    parent_ref: str | None = None
    target: str | None = None
    test_layer: str | None = None
    version: str = "0.1.0"
    version_from: str = ""  # where the version came from, for its comment
    base: str | None = None  # the external base of a root, for its comment
    watch: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # comments in the file; uncertain decisions start with "?"
    from_: From | None = None
    unknown_parent: bool = False
    build_args: Mapping[str, str] = field(default_factory=dict)
    # other images of the tree it reads (issue 21's `uses:`): a build arg or named context -> image
    uses: Mapping[str, str] = field(default_factory=dict)
    link: Link | None = None

    @property
    def file(self) -> str:
        return self.dockerfile if self.path == "." else f"{self.path}/{self.dockerfile}"


@dataclass(frozen=True)
class Adoption:
    root: Path
    registry: str | None
    images: Mapping[str, Image]  # parents first, then by path
    messages: tuple[str, ...]  # located, one per problem or uncertain decision
    registry_guess: str | None = None
    summary: str = ""  # how many links came from which source
