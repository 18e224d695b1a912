"""The typed, frozen objects bbc.yaml becomes: every other module reads these, never raw YAML.

bbc/config/validate.py builds them (one located line per problem); bbc/config/__init__.py finds
and loads the file. Kept apart so validation and loading import this module and not each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

CONFIG_NAME = "bbc.yaml"
NETWORKS = ("host", "none", "default")
CASCADES = ("patch", "follow-major", "none")

TOP_KEYS = ("registry", "defaults", "images", "projects", "policy", "engines", "signing",
            "mirrors", "mirrors_only",  # issue 22: where images of a registry are also asked
            "ci")  # issue 24: the runners `bbc ci` puts each platform's jobs on
ENGINE_KEYS = ("host", "jobs", "platforms")
CI_KEYS = ("runners",)
RUNNER_KEYS = ("github", "gitlab")
SIGNING_KEYS = ("key", "public_keys")  # issue 23: bbc/release/signing/
POLICY_KEYS = ("pinned_bases",
               # issue 13 gates (bbc/inside/policy.py): warnings after a build, refusals at release
               "non_root", "no_package_caches", "no_secrets", "max_own_size", "max_size", "required_labels",
               # issue 23: what bbc builds on or pins must verify (bbc/release/signing/trust.py)
               "signed_parents", "trusted_bases")
POLICY_LEVELS = ("error", "warn", "off")
# Keys an image may set; `defaults` may set all of them but path, parent and version.
IMAGE_KEYS = (
    "path", "parent", "version", "dockerfile", "target", "build_args", "parent_arg", "parent_ref",
    "labels", "watch", "platform", "platforms", "network", "prepare", "test", "cascade", "description",
    "owner", "secrets", "uses",
)
DEFAULT_KEYS = tuple(k for k in IMAGE_KEYS
                     if k not in ("path", "parent", "parent_ref", "version", "description", "prepare", "uses"))
PREPARE_KEYS = ("command", "inputs", "outputs", "refresh")
TEST_KEYS = ("layer", "build_args", "command", "mounts", "timeout", "network", "expect", "skip")
EXPECT_KEYS = ("user", "files", "absent")
PROJECT_KEYS = ("repo", "file", "images", "test")


@dataclass(frozen=True)
class PrepareSpec:
    """A command that writes build inputs into the context before the build."""

    command: tuple[str, ...] | str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    # its outputs take the OS archive's state (a debootstrap rootfs): `bbc refresh --os` runs it
    # again when the built image has package updates
    refresh: bool = False


@dataclass(frozen=True)
class Expect:
    """Structure checks evaluated from outside the container (no shell needed)."""

    user: str | None = None  # "non-root" or an exact user
    files: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


@dataclass(frozen=True)
class TestSpec:
    """What an image declares about testing. `layer` and named tests are inherited."""

    __test__ = False

    layer: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    mounts: Mapping[str, str] = field(default_factory=dict)
    timeout: int = 600
    network: str = "none"
    expect: Expect | None = None
    skip: tuple[str, ...] = ()

    @property
    def declares_check(self) -> bool:
        return self.command is not None or self.expect is not None


@dataclass(frozen=True)
class Use:
    """Another image of the hierarchy an image reads besides its parent (`uses:` in bbc.yaml):
    bbc passes that image's exact build, as it passes the parent's (issue 21)."""

    key: str  # the build arg carrying it (`SERVING_IMAGE`), or a reference written out in the Dockerfile
    image: str  # the image of the hierarchy it names
    # `key` is a reference as written (`FROM acme/web:1`, `COPY --from=acme/web:1`, a named
    # context): bbc puts the used build in its place, as it does for `parent_ref`
    written: bool = False
    # every stage reading it runs on the build platform (`FROM --platform=$BUILDPLATFORM`): the
    # used image is needed for the engine's own platform only, whatever platforms the user has
    on_build: bool = False


@dataclass(frozen=True)
class ImageSpec:
    """One image of the hierarchy, with defaults applied and paths resolved."""

    name: str
    path: Path  # absolute build context
    rel_path: str  # as written, relative to the config's folder
    version: str
    parent: str | None = None
    dockerfile: str = "Dockerfile"  # relative to path
    target: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    parent_arg: str = "SOURCE_IMAGE"
    # a FROM reference written out in the Dockerfile (`FROM acme/python:3.11`) that names the
    # parent: bbc builds on the parent's exact build in its place, as it does through parent_arg
    parent_ref: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    watch: tuple[str, ...] = ()  # globs relative to the config's folder
    platform: str | None = None  # the one platform it is built for (None: the engine's own)
    # every platform it is built for: one build each (bbc/model/platforms.py), its parent's unless
    # it names its own; empty: the engine's own platform, as when nothing is said
    platforms: tuple[str, ...] = ()
    # its Dockerfile builds on the parent in a `FROM --platform=$BUILDPLATFORM` stage (a
    # cross-compiling builder): each platform's build uses the parent's build for the engine's own
    parent_on_build: bool = False
    network: str = "host"
    prepare: PrepareSpec | None = None
    test: TestSpec | None = None
    cascade: str = "patch"
    description: str = ""
    line: int = 0
    owner: str = ""  # a team or contact, named where `bbc scan` routes findings
    # build secrets (issue 23): id -> where its value is, an absolute file path or `env:NAME`;
    # mounted by BuildKit (`RUN --mount=type=secret,id=ID`), never a build arg, never in the image
    secrets: Mapping[str, str] = field(default_factory=dict)
    uses: tuple[Use, ...] = ()  # other images of the hierarchy it reads (`uses:`), in the order written

    @property
    def used(self) -> tuple[str, ...]:
        """The images it uses, each once, in the order written."""
        return tuple(dict.fromkeys(u.image for u in self.uses))

    @property
    def dockerfile_path(self) -> Path:
        return self.path / self.dockerfile


@dataclass(frozen=True)
class ProjectSpec:
    """A downstream application repo that builds on blessed images (see `bbc rollout`)."""

    name: str
    repo: str
    file: str
    images: tuple[str, ...]
    test: bool = False


@dataclass(frozen=True)
class Policy:
    """Rules every image is held to (`policy:` in bbc.yaml): error, warn or off."""

    pinned_bases: str = "warn"  # external bases written as name:tag@sha256:...
    # issue 13 gates, checked against built images (bbc/inside/policy.py); off unless set
    non_root: bool = False
    no_package_caches: bool = False
    no_secrets: bool = False
    max_own_size: int | None = None  # bytes, the image's own layers
    max_size: int | None = None  # bytes, the whole image
    required_labels: tuple[str, ...] = ()
    # issue 23: a parent's (or used image's) release pulled to build on, and what `bbc rollout`
    # pins, must verify with signing.public_keys: error | warn | off
    signed_parents: str = "off"
    # external bases whose reference starts with PREFIX must carry a cosign signature by one of
    # these keys (absolute PEM paths) before anything is built on them
    trusted_bases: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineSpec:
    """One engine of a pool (`engines:`): a DOCKER_HOST-style URL or a docker context name,
    and how many builds it takes at once."""

    host: str
    jobs: int = 1
    # the platforms it builds natively, as declared (`platforms: [linux/arm64]`); empty: the
    # engine's own, as its /info says (issue 24: a platform's builds go to a native engine)
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunnerSpec:
    """Where `bbc ci` runs one platform's jobs (`ci: {runners: {linux/arm64: ...}}`)."""

    github: tuple[str, ...] = ()  # `runs-on` labels (one label is written as a string)
    gitlab: tuple[str, ...] = ()  # the job's runner `tags:`


@dataclass(frozen=True)
class CiSpec:
    """`ci:` in bbc.yaml: what `bbc ci` writes besides the plan (issue 24)."""

    runners: Mapping[str, RunnerSpec] = field(default_factory=dict)  # platform -> its runners


@dataclass(frozen=True)
class SigningSpec:
    """How releases are signed and verified (`signing:`, bbc/release/signing/)."""

    # the private key: a path (relative to bbc.yaml's folder) or `env:NAME`; read only when
    # signing, so machines that never release need not have it
    key: str | None = None
    public_keys: tuple[Path, ...] = ()  # absolute: the PEM files `bbc verify` trusts


@dataclass(frozen=True)
class MirrorSpec:
    """Where the images of a registry are also found (`mirrors:` in bbc.yaml): a pull-through
    cache, an internal mirror of Docker Hub. Asked in order, the registry itself last."""

    # registry (`docker.io`, `ghcr.io`) -> its mirrors, `host[:port][/path prefix]`, in order
    hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    only: bool = False  # `mirrors_only`: never ask a registry that has mirrors (an air-gapped site)


@dataclass(frozen=True)
class Config:
    path: Path  # the bbc.yaml file
    registry: str
    images: Mapping[str, ImageSpec]
    projects: Mapping[str, ProjectSpec] = field(default_factory=dict)
    lines: Mapping[tuple[str, ...], int] = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy)
    engines: tuple[EngineSpec, ...] = ()  # empty: the one engine the environment names
    signing: SigningSpec = field(default_factory=SigningSpec)
    mirrors: MirrorSpec = field(default_factory=MirrorSpec)
    ci: CiSpec = field(default_factory=CiSpec)

    @cached_property
    def root(self) -> Path:
        # asked per image on the planning path: one Path, not 10,000 (cached_property writes the
        # instance dict, which a frozen dataclass allows; equality compares fields only)
        return self.path.parent

    def ref(self, name: str) -> str:
        """The repository an image is pushed to: `<registry>/<name>` (one platform's build of a
        multi-platform image, `name@arm64`, lives in its image's repository)."""
        return f"{self.registry}/{name.partition('@')[0]}"

    def where(self, *keys: str) -> str:
        """`bbc.yaml:LINE: a.b.c` for messages about a key."""
        line = self.lines.get(tuple(keys), 0)
        loc = f"{self.path.name}:{line}" if line else self.path.name
        return f"{loc}: {'.'.join(keys)}"
