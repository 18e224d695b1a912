"""The steps of a Plan and what a plan is made from: each step a frozen, typed object that says
what it will do and why (`action`, `reasons`) and which steps must succeed first (`needs`).

    prepare ─► build ─► test-layer ─► test-image ─► run-test ─► (tag) ─► push-candidate ─► promote

bbc/plan/planner.py makes the Plan; bbc/run/ runs it. A new kind of step is a subclass here, a
place in the planner, and a handler in bbc/run/handlers/ (found by the step's class).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from bbc.model import labels
from bbc.plan.kinds import IDLE, Action, Kind
from bbc.adapters.engine import ImageInfo

if TYPE_CHECKING:
    from bbc.model.hierarchy import Hierarchy
    from bbc.plan import bases

# bbc/upkeep/rollout.py imports it from here (it is being reworked on another branch meanwhile)
RUN = Action.RUN


@dataclass(frozen=True, kw_only=True)
class Step:
    image: str
    version: str
    action: Action
    reasons: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # ids of the steps that must succeed first
    selected: bool = True  # False: only here because a selected image needs it
    KIND: ClassVar[Kind]

    @property
    def kind(self) -> Kind:
        return self.KIND

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.image}"


@dataclass(frozen=True, kw_only=True)
class Prepare(Step):
    KIND: ClassVar[Kind] = Kind.PREPARE


@dataclass(frozen=True, kw_only=True)
class Build(Step):
    KIND: ClassVar[Kind] = Kind.BUILD
    fingerprint: str | None  # None while a prepare step still has to produce inputs
    existing: ImageInfo | None = None  # the matching local build, when up to date
    files: Mapping[str, str] = field(default_factory=dict)  # context entries, for "what changed"
    file_list: tuple[str, ...] | None = None  # the context as listed for the fingerprint, reused for the tar
    parent_fingerprint: str | None = None
    pull_ref: str = ""  # with PULL: the registry tag holding this build
    gated: bool = False  # release tags wait for this image's tests (a Tag step)
    bases: tuple[tuple[bases.Found, str], ...] = ()  # external bases and the digests fingerprinted
    used: tuple[tuple[str, str], ...] = ()  # (key, fingerprint) of each used image's build (`uses:`)


@dataclass(frozen=True, kw_only=True)
class TestPart(Step):
    """One slice of the test sandwich, built like an image (bbc/plan/sandwich.py)."""

    __test__ = False
    variant: str  # test-layer | test
    part: Any  # sandwich.Part
    fingerprint: str
    ref: str  # its local-only test tag
    bases: tuple[tuple[bases.Found, str], ...] = ()  # external bases of its Dockerfile, as fingerprinted
    existing: ImageInfo | None = None
    below: str | None = None  # id of the step whose image it builds on; None: from scratch

    @property
    def kind(self) -> Kind:
        return Kind.TEST_LAYER if self.variant == "test-layer" else Kind.TEST_IMAGE


@dataclass(frozen=True, kw_only=True)
class RunTest(Step):
    __test__ = False
    KIND: ClassVar[Kind] = Kind.RUN_TEST
    key: str | None  # covers image, test images and tests; None: the image is being rebuilt
    test_image: str  # id of the step whose image the commands run in
    release: str  # id of the image's build step (expect checks read the release build)


@dataclass(frozen=True, kw_only=True)
class ProjectBuild(Step):
    """A downstream project's Dockerfile built as committed (`bbc rollout --test`): its pins name
    the new base, so a plain build proves the project still builds on it. `image` is the
    project's name."""

    KIND: ClassVar[Kind] = Kind.PROJECT
    context: Path
    dockerfile: str
    network: str = "host"


@dataclass(frozen=True, kw_only=True)
class Tag(Step):
    """Release tags applied after the tests passed (`bbc build --test`)."""

    KIND: ClassVar[Kind] = Kind.TAG


@dataclass(frozen=True, kw_only=True)
class Push(Step):
    KIND: ClassVar[Kind] = Kind.PUSH
    fingerprint: str


@dataclass(frozen=True, kw_only=True)
class Promote(Step):
    """Move every release tag at once, after every candidate is in the registry."""

    KIND: ClassVar[Kind] = Kind.PROMOTE
    images: tuple[str, ...] = ()
    released: frozenset[str] = frozenset()  # already released with this exact content

    @property
    def id(self) -> str:
        return "promote"


@dataclass(frozen=True)
class Index:
    """The engine's labelled images, from one listing call."""

    images: tuple[ImageInfo, ...] = ()
    by_fp: Mapping[str, list[ImageInfo]] = field(default_factory=dict)
    by_tag: Mapping[str, ImageInfo] = field(default_factory=dict)

    @classmethod
    def of(cls, images: Iterable[ImageInfo]) -> Index:
        images = tuple(images)
        by_fp: dict[str, list[ImageInfo]] = {}
        for image in images:
            fp = image.labels.get(labels.FINGERPRINT)
            if fp:
                by_fp.setdefault(fp, []).append(image)
        for group in by_fp.values():
            group.sort(key=lambda i: i.created, reverse=True)
        return cls(images, by_fp, {tag: image for image in images for tag in image.tags})


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]  # topological: every step after the steps it needs
    warnings: tuple[str, ...] = ()
    index: Index = field(default_factory=Index)

    def __getitem__(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def get(self, step_id: str) -> Step | None:
        try:
            return self[step_id]
        except KeyError:
            return None

    @property
    def builds(self) -> list[Build]:
        return [s for s in self.steps if isinstance(s, Build)]

    @property
    def to_build(self) -> list[Build]:
        return [s for s in self.builds if s.action != Action.UP_TO_DATE]

    @property
    def busy(self) -> list[Step]:
        """Steps that will do something (build, pull, test, push, ...)."""
        return [s for s in self.steps if s.action not in IDLE]


@dataclass(frozen=True)
class Selection:
    names: tuple[str, ...] = ()
    with_dependents: bool = False
    changed: Mapping[str, list[str]] | None = None  # from changes.changed_images, with --changed
    force: bool = False

    def in_units(self, units: Hierarchy) -> Selection:
        """This selection (image names, as the user gave them) in units (bbc/model/platforms.py's
        `expand`): an image stands for all its platforms."""
        if not units.units:
            return self
        names = tuple(u for n in self.names for u in units.units.get(n, (n,)))
        changed = None if self.changed is None else {
            u: files for n, files in self.changed.items() for u in units.units.get(n, (n,))}
        return replace(self, names=names, changed=changed)


# Asked for each image about to be built: the registry tag holding a build with this
# fingerprint, or None (bbc/plan/remote.py answers it).
RegistryLookup = Callable[[str, str, str], str | None]


@dataclass(frozen=True)
class Scope:
    """Which kinds of step the plan holds besides prepare and build."""

    test: bool = False  # run-test (and the sandwich) for the selected images
    gate: bool = False  # test every image being built before its release tags (build --test)
    release: bool = False  # push-candidate for each image, then one promote
    promote: bool = True  # with release: False stops at the candidates (one CI job per image)
    released: frozenset[str] = frozenset()  # images whose X.Y.Z already holds this build
    rerun: bool = False  # ignore recorded test passes
    pull: RegistryLookup | None = None
    # the digest an external base resolves to (bases.Resolver); None: pinned references only
    bases: Callable[[bases.Found], str] | None = None

