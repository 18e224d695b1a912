"""What `bbc report` knows, as frozen objects: collected once (collect.py), rendered as JSON
(jsonout.py) and as the HTML page (html.py, svg.py). A value bbc could not find out is None,
with the reason in `Report.unknown` or the row's own `detail`, never a guess."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class EdgeKind(str, Enum):
    PARENT = "parent"  # built FROM the source's exact build
    USES = "uses"  # reads another image of the hierarchy besides its parent (issue 21)


class State(str, Enum):
    """What a node's colour says; `rank` orders them, the worst wins the fill."""

    UP_TO_DATE = "up to date"
    NOT_BUILT = "not built"
    BASE_MOVED = "base moved"
    REBUILD = "must rebuild"
    FINDINGS_LOW = "findings: low"
    FINDINGS_MEDIUM = "findings: medium"
    FINDINGS_HIGH = "findings: high"
    FINDINGS_CRITICAL = "findings: critical"
    TESTS_FAILED = "tests failed"

    @property
    def rank(self) -> int:
        return list(State).index(self)


@dataclass(frozen=True)
class Edge:
    kind: EdgeKind
    source: str  # the unit built on (or used)
    target: str  # the unit that builds on it


@dataclass(frozen=True)
class Release:
    """What the registry holds under the image's X.Y.Z."""

    state: str  # released | not released | differs (bump the version) | unknown
    digest: str | None = None  # the manifest (an index for a multi-platform image) X.Y.Z names
    created: str | None = None  # when that build was made (its config's `created`)
    detail: str = ""  # why unknown


@dataclass(frozen=True)
class Base:
    """An external base of the image (bbc outdated's row)."""

    where: str  # file:line
    base: str  # name:tag
    pinned: bool
    in_use: str | None  # the digest pinned or last built with
    latest: str | None  # the digest the tag names now; None when not asked
    status: str  # current | outdated | not built | unknown
    detail: str = ""


@dataclass(frozen=True)
class Package:
    """A Python package pinned with == in the image's context."""

    where: str
    package: str
    pinned: str
    newest: str | None  # within the level asked; None when current or not asked
    status: str  # current | outdated | unknown
    detail: str = ""


@dataclass(frozen=True)
class LastTest:
    status: str  # passed | failed | passed on an earlier build | failed on an earlier build | not run | no tests
    when: str | None = None  # when the result was recorded (ISO 8601, UTC)
    detail: str = ""


@dataclass(frozen=True)
class Signature:
    status: str  # verified | failed | unknown
    detail: str = ""


@dataclass(frozen=True)
class Image:
    """One node and one row: an image, or one platform's build of a multi-platform image."""

    unit: str  # `static@arm64`, or the image's name
    image: str
    platform: str | None
    version: str
    kind: str  # root | intermediate | app
    parent: str | None  # the unit it is built on
    owner: str | None
    description: str
    fingerprint: str | None
    build: str  # up to date | must rebuild | not built
    why: tuple[str, ...]
    image_id: str | None  # the local build X.Y.Z names
    size: int | None  # bytes, the whole image as the engine counts it
    own_size: int | None  # its own layers (those after its parent's)
    release: Release
    bases: tuple[Base, ...]
    packages: tuple[Package, ...]
    tests: LastTest
    signature: Signature | None  # None: no `signing:` in bbc.yaml
    findings: tuple[tuple[str, int], ...]  # (severity, count) of scan findings this image owns
    states: tuple[State, ...]  # every state that holds, worst first

    @property
    def state(self) -> State:
        return self.states[0] if self.states else State.UP_TO_DATE


@dataclass(frozen=True)
class Level:
    """One image of a pinned build's ancestry, root first."""

    image: str
    version: str


@dataclass(frozen=True)
class ProjectPin:
    """A downstream project's pin of a blessed image, and what that build stands on."""

    project: str
    repo: str
    where: str  # file:line in the project
    image: str
    version: str  # the tag pinned
    digest: str | None
    current: str  # bbc.yaml's version of the image now
    behind: str  # current | patch | minor | major | ahead | unknown
    ancestry: tuple[Level, ...]  # root first, the pinned image last; () when unknown
    detail: str = ""  # where the ancestry came from, or why it is unknown


@dataclass(frozen=True)
class Finding:
    """A scanner's finding routed to the image that owns the package."""

    id: str
    severity: str
    package: str
    installed: str
    fixed: str | None
    scanned: str  # the image the report is about
    image: str | None  # the owning image; None: the package is not in the image
    owner: str | None  # that image's `owner:`
    step: str | None  # the Dockerfile instruction of the layer that brought it
    blast: tuple[str, ...]  # descendants and projects building on the owning image
    fix: str | None


@dataclass(frozen=True)
class Scan:
    file: str
    image: str
    format: str  # trivy | grype | osv
    findings: int


@dataclass(frozen=True)
class Report:
    registry: str
    generated: str  # ISO 8601, UTC
    offline: bool
    signing: bool
    images: tuple[Image, ...]  # in hierarchy order, a unit per platform
    edges: tuple[Edge, ...]
    projects: tuple[ProjectPin, ...]  # oldest first
    findings: tuple[Finding, ...]  # worst first
    scans: tuple[Scan, ...]
    unknown: tuple[str, ...]  # what bbc did not find out, and why
