"""The one seam to Docker. Only bbc/adapters/docker/ talks to an engine through the docker SDK
(its engine.py; context.py lends fingerprints its .dockerignore matcher, and the registry
client borrows the SDK's Docker config reader).

Modelled on repo2docker's engine.py: build yields log lines and raises BuildError.
A fake implementation for scheduling tests lives in tests/fakes.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class ImageInfo:
    id: str
    tags: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    size: int = 0
    created: str = ""
    digests: tuple[str, ...] = ()  # RepoDigests: `name@sha256:...` of the registry manifests it came from


@dataclass(frozen=True)
class BuildRequest:
    context: Path
    dockerfile: str  # relative to context
    build_args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    platform: str | None = None
    network: str = "host"
    # full references the engine applies only when the build succeeded (never half a set)
    tags: tuple[str, ...] = ()
    # the context's files as the fingerprint listed them (None: list them again); the
    # archive sent is exactly what was fingerprinted, and the context is walked once a run
    files: tuple[str, ...] | None = None
    # the Dockerfile to send instead of the file's own text (external bases pinned by digest)
    dockerfile_text: str | None = None
    # registry references (`repo@sha256:...`) of earlier builds of the image whose cache the
    # build may take (BuildKit: their inline cache metadata; the legacy builder: pulled first)
    cache_from: tuple[str, ...] = ()
    # every step runs again: no cache from the engine nor from `cache_from` (`--no-cache`)
    no_cache: bool = False
    # build secrets, id -> value: mounted by BuildKit for `RUN --mount=type=secret,id=ID` only,
    # never a build arg, never in the image (issue 23); kept out of repr
    secrets: Mapping[str, bytes] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class RunResult:
    exit_code: int | None  # None: stopped at its timeout, or never started
    output: str
    timed_out: bool = False
    not_started: str = ""  # why the command could not start: `cannot run /x: no such file or directory`


@dataclass(frozen=True)
class PathState:
    """What an image holds at a path, symlinks followed as a process in it would follow them."""

    exists: bool
    directory: bool = False
    dangling: str = ""  # nothing there, but a symlink on the way points here (where nothing is)
    error: str = ""  # the engine could not say (then `exists` is False)


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    read_only: bool = True


class Engine(Protocol):
    @property
    def address(self) -> str: ...

    def platform(self) -> str:
        """The platform the engine builds without emulation (`linux/arm64`), as it reports it."""
        ...

    def images_with_label(self, label: str) -> list[ImageInfo]:
        """Every local image carrying `label` (one API call)."""
        ...

    def version(self) -> str:
        """The engine's product and version (`Docker Engine 20.10.24`), as signed provenance
        records the builder."""
        ...

    def inspect(self, ref: str) -> ImageInfo | None: ...

    def inspect_many(self, refs: list[str]) -> dict[str, ImageInfo | None]:
        """inspect() for many references at once (concurrently where the engine allows)."""
        ...

    def build(self, request: BuildRequest, on_line: Callable[[str], None]) -> str:
        """Build; call on_line per log line; return the image ID. Raises BuildError."""
        ...

    def tag(self, image_id: str, repository: str, tag: str) -> None: ...

    def run(
        self,
        image: str,
        command: list[str] | None,
        *,
        mounts: list[Mount],
        network: str,
        timeout: int,
        on_line: Callable[[str], None],
        user: str | None = None,
        keep: bool = False,
    ) -> RunResult:
        """Run a container to completion and remove it (also on timeout and Ctrl-C);
        with `keep`, a container whose command failed or timed out is left stopped, for
        debugging. Raises EngineError."""
        ...

    def user_of(self, ref: str) -> str:
        """The image config's User ("" when unset)."""
        ...

    def file_exists(self, image: str, path: str) -> bool:
        """Whether `path` exists in the image's filesystem, symlinks followed (no shell needed)."""
        ...

    def path_states(self, image: str, paths: list[str]) -> dict[str, PathState]:
        """What the image holds at each of `paths`, symlinks followed (no shell needed): a path
        under a file is not there; one the engine cannot answer for has its `error`."""
        ...

    def push(self, repository: str, tag: str, on_line: Callable[[str], None]) -> str:
        """Push; return the manifest digest."""
        ...

    def pull(self, repository: str, reference: str) -> ImageInfo: ...

    def remove_image(self, ref: str) -> None: ...

    def containers_with_label(self, label: str) -> list[str]: ...

    # What is inside (bbc/inside/layers.py): read without running the image.
    def diff_ids(self, ref: str) -> tuple[str, ...]:
        """The image's layers, bottom first, as the config's rootfs.diff_ids name them."""
        ...

    def export(self, ref: str) -> Iterator[bytes]:
        """The image as `docker save` streams it (a tar of its config and layer tars)."""
        ...


def stream_lines(chunks: Iterator[str]) -> Iterator[str]:
    """Re-split streamed text into whole lines."""
    buf = ""
    for chunk in chunks:
        buf += chunk
        while "\n" in buf:
            line, buf = buf.split("\n", 1)
            yield line.rstrip("\r")
    if buf:
        yield buf
