"""bbc.yaml -> frozen, typed objects, validated (bbc/validate.py) before anything runs.

This module holds the objects every other module reads, finding and loading the file;
bbc/validate.py turns the parsed document into them, one located line per problem.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbc.errors import ConfigError
from bbc.yamlnodes import Located, YamlProblem, load as load_yaml

CONFIG_NAME = "bbc.yaml"
NETWORKS = ("host", "none", "default")
CASCADES = ("patch", "follow-major", "none")

TOP_KEYS = ("registry", "defaults", "images", "projects")
# Keys an image may set; `defaults` may set all of them but path, parent and version.
IMAGE_KEYS = (
    "path", "parent", "version", "dockerfile", "target", "build_args", "parent_arg",
    "labels", "watch", "platform", "network", "prepare", "test", "cascade", "description",
)
DEFAULT_KEYS = tuple(k for k in IMAGE_KEYS if k not in ("path", "parent", "version", "description", "prepare"))
PREPARE_KEYS = ("command", "inputs", "outputs")
TEST_KEYS = ("layer", "build_args", "command", "mounts", "timeout", "network", "expect", "skip")
EXPECT_KEYS = ("user", "files", "absent")
PROJECT_KEYS = ("repo", "file", "images", "test")


@dataclass(frozen=True)
class PrepareSpec:
    """A command that writes build inputs into the context before the build."""

    command: tuple[str, ...] | str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


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
    labels: Mapping[str, str] = field(default_factory=dict)
    watch: tuple[str, ...] = ()  # globs relative to the config's folder
    platform: str | None = None
    network: str = "host"
    prepare: PrepareSpec | None = None
    test: TestSpec | None = None
    cascade: str = "patch"
    description: str = ""
    line: int = 0

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
class Config:
    path: Path  # the bbc.yaml file
    registry: str
    images: Mapping[str, ImageSpec]
    projects: Mapping[str, ProjectSpec] = field(default_factory=dict)
    lines: Mapping[tuple[str, ...], int] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.path.parent

    def ref(self, name: str) -> str:
        """The repository an image is pushed to: `<registry>/<name>`."""
        return f"{self.registry}/{name}"

    def where(self, *keys: str) -> str:
        """`bbc.yaml:LINE: a.b.c` for messages about a key."""
        line = self.lines.get(tuple(keys), 0)
        loc = f"{self.path.name}:{line}" if line else self.path.name
        return f"{loc}: {'.'.join(keys)}"


def find_config(start: Path) -> Path:
    """The bbc.yaml in `start` or the nearest folder above it."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise ConfigError(
        [f"no {CONFIG_NAME} in {start} or any folder above it"],
        tip="run bbc from your hierarchy's repository, or pass --config PATH",
    )


def load(path: Path) -> Config:
    """Read and validate bbc.yaml; raise ConfigError listing every problem."""
    path = path.resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    try:
        doc = _parse(path, text)
    except YamlProblem as exc:
        raise ConfigError([f"{path.name}:{exc.line}: {exc.message}"]) from None
    from bbc.validate import validate

    return validate(path, doc.value, doc.lines, doc.raw)


BIG_CONFIG = 256 * 1024


def _parse(path: Path, text: str) -> Located:
    """Parse, keeping a pickled copy of large files' parse in .bbc/cache keyed by content
    (re-parsing a 10,000-image bbc.yaml costs ~0.7 s, unpickling it ~0.05 s)."""
    if len(text) < BIG_CONFIG:
        return load_yaml(text)
    import hashlib
    import pickle
    import tempfile

    key = hashlib.sha256(text.encode()).hexdigest()[:24]
    cache = path.parent / ".bbc" / "cache" / f"bbc-yaml-{key}.pickle"
    try:
        with open(cache, "rb") as f:
            doc = pickle.load(f)
        if isinstance(doc, Located):
            return doc
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        pass
    doc = load_yaml(text)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent)
        with os.fdopen(fd, "wb") as f:
            pickle.dump(doc, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only checkout just parses every time
    return doc


def did_you_mean(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
