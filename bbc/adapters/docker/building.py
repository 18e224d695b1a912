"""Building an image on a Docker engine: BuildKit (version 2 of /build: labels go into the
image config with no extra step, ~3x faster per image than the legacy builder here), or the
legacy builder when DOCKER_BUILDKIT=0 (as for `docker build`) or a build argument names an
image only by ID. Podman's service builds with buildah whatever is asked, through the BuildKit
path (it reads the Dockerfile from the context sent).

Build cache from the registry (issue 24), as dockerd 20.10 offers it through the Engine API:
every BuildKit build writes inline cache metadata into its image config
(BUILDKIT_INLINE_CACHE=1; the image carries it wherever the engine pushes it), and takes
`cachefrom` references, whose metadata BuildKit reads from the registry (or the engine's own
copy) and whose layers it fetches only for the steps it reuses. dockerd's BuildKit exports no
other cache (no `type=registry` cache-to without buildx's container driver). The legacy
builder reuses only images it built itself and holds locally: the references are pulled first.
Podman (buildah) gets neither.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any, ContextManager, Protocol

from bbc.adapters.docker import api as docker_api
from bbc.adapters.engine import BuildRequest, ImageInfo, stream_lines
from bbc.errors import BbcError, BuildError, EngineError, EngineLost

_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")


class Builder(Protocol):
    """What a build needs of the engine (bbc/adapters/docker/engine.py's DockerEngine)."""

    @property
    def api(self) -> Any: ...

    @property
    def podman(self) -> bool: ...

    @property
    def address(self) -> str: ...

    def inspect(self, ref: str) -> ImageInfo | None: ...

    def pull(self, repository: str, reference: str) -> ImageInfo: ...

    def tag(self, image_id: str, repository: str, tag: str) -> None: ...

    def lost_or(self, what: str, exc: BaseException) -> EngineError: ...


class BuildLog:
    """A build's log lines as they stream: passed on, and the last 40 kept for the error."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self.on_line = on_line
        self.tail: list[str] = []

    def emit(self, line: str) -> None:
        self.tail.append(line)
        del self.tail[:-40]
        self.on_line(line)

    def failed(self, message: str) -> BuildError:
        """The engine's error, logged; its last line is the one-line reason."""
        message = message.strip()
        self.emit(message)
        return BuildError(message.splitlines()[-1] if message else "build failed", log_tail=self.tail[-20:])

    def no_image(self) -> BuildError:
        return BuildError("the engine reported no image ID", log_tail=self.tail[-20:])


def build(engine: Builder, request: BuildRequest, on_line: Callable[[str], None]) -> str:
    """Build `request`, calling on_line per log line; the image ID. BuildError, or EngineLost
    when the engine stopped answering."""
    if engine.podman:
        if request.secrets:
            raise BuildError("build secrets: bbc passes them through a BuildKit session, which Podman's "
                             "service does not offer; build images with secrets on a Docker engine")
        return _buildkit(engine, request, dict(request.build_args), on_line)
    if os.environ.get("DOCKER_BUILDKIT", "1").strip() not in ("0", "false"):
        args = _args_by_tag(engine, request)
        if args is not None:
            return _buildkit(engine, request, args, on_line)
        on_line("(a build argument names an untagged image: BuildKit resolves images by tag; legacy builder)")
    if request.secrets:
        raise BuildError(f"build secrets ({', '.join(sorted(request.secrets))}) need BuildKit, and this build "
                         "would go to the legacy builder: unset DOCKER_BUILDKIT=0, or tag the parent build")
    return _legacy(engine, request, on_line)


def reason(exc: BaseException) -> str:
    """One line saying why a call to the engine failed."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, (ConnectionRefusedError, FileNotFoundError)) or "Connection refused" in text \
            or "No such file" in text or "FileNotFoundError" in text:
        return "connection refused (is the daemon running?)"
    return text.splitlines()[0][:300]


def _failed(engine: Builder, request: BuildRequest, exc: Exception, log: BuildLog) -> BbcError:
    """EngineLost when the engine no longer answers, else the build's failure with its log."""
    lost = engine.lost_or(f"building {request.labels.get('bbc.image') or request.context.name}", exc)
    if isinstance(lost, EngineLost):
        return lost
    return BuildError(f"build failed: {reason(exc)}", log_tail=log.tail[-20:])


# -- BuildKit -----------------------------------------------------------------------------

def _args_by_tag(engine: Builder, request: BuildRequest) -> dict[str, str] | None:
    """Build args with image IDs replaced by a tag of that image (BuildKit resolves FROM by
    reference, not by ID); None when an ID has no tag."""
    args = dict(request.build_args)
    for key, value in args.items():
        if _IMAGE_ID.fullmatch(value):
            try:
                row = engine.api.inspect_image(value)
            except Exception as exc:
                raise BuildError(f"build argument {key}: image {value[:19]} not found: {reason(exc)}") from None
            refs = [t for t in row.get("RepoTags") or () if t != "<none>:<none>"]
            if not refs:
                return None
            args[key] = refs[0]
    return args


def _buildkit(engine: Builder, request: BuildRequest, args: dict[str, str], on_line: Callable[[str], None]) -> str:
    import tempfile

    from bbc.adapters.docker.buildkit import Progress, context_archive

    log = BuildLog(on_line)
    params = _buildkit_params(request, args, inline_cache=not engine.podman)
    progress = Progress()
    with tempfile.TemporaryFile(prefix="bbc-context-") as archive:
        try:
            params["dockerfile"] = context_archive(request.context, request.dockerfile, archive, request.files,
                                                   request.dockerfile_text)
        except OSError as exc:
            raise BuildError(str(exc)) from None
        archive.seek(0)
        with _session(engine, request) as session:
            if session is not None:
                params["session"] = session.id
            try:
                image_id = _follow_buildkit(docker_api.post_build(engine.api, params, archive), log, progress)
            except BbcError:  # the build's own failure, or a log line that could not be written
                raise
            except Exception as exc:
                raise _failed(engine, request, exc, log) from None
    for line in progress.flush():
        log.emit(line)
    if image_id is None:
        raise log.no_image()
    _check_unmoved(engine, request, args, log)
    return image_id


def _session(engine: Builder, request: BuildRequest) -> ContextManager[Any]:
    """A BuildKit session serving the request's secrets (session.py), or nothing without any."""
    from contextlib import nullcontext

    if not request.secrets:
        return nullcontext(None)
    from bbc.adapters.docker.session import Session

    return Session(engine.address, request.secrets)


def _buildkit_params(request: BuildRequest, args: dict[str, str], *, inline_cache: bool = True) -> dict[str, Any]:
    import json

    if inline_cache:  # the cache metadata travels in the image config: a later build may reuse it
        args = {**args, "BUILDKIT_INLINE_CACHE": "1"}
    params: dict[str, Any] = {
        "version": "2", "rm": "1", "buildargs": json.dumps(args), "labels": json.dumps(dict(request.labels)),
    }
    if request.no_cache:
        params["nocache"] = "1"
    elif request.cache_from and inline_cache:
        params["cachefrom"] = json.dumps(list(request.cache_from))
    if request.network != "default":
        params["networkmode"] = request.network
    if request.target:
        params["target"] = request.target
    if request.platform:
        params["platform"] = request.platform
    if request.tags:
        params["t"] = list(request.tags)
    return params


def _follow_buildkit(chunks: Iterator[dict[str, Any]], log: BuildLog, progress: Any) -> str | None:
    """The image ID a BuildKit build's stream names, its progress and output logged."""
    image_id: str | None = None
    for chunk in chunks:
        kind = chunk.get("id")
        if kind == "moby.buildkit.trace":
            for line in progress.feed(str(chunk.get("aux") or "")):
                log.emit(line)
        elif kind in ("moby.image.id", None) and isinstance(chunk.get("aux"), dict):
            # BuildKit tags the aux with its id; Podman (which builds with buildah
            # whatever the request asks) sends the bare {"aux": {"ID": ...}}
            image_id = str(chunk["aux"].get("ID") or "") or image_id
        elif chunk.get("stream"):
            for line in stream_lines(iter([str(chunk["stream"])])):
                log.emit(line)
        if "error" in chunk or "errorDetail" in chunk:
            for line in progress.flush():
                log.emit(line)
            detail = chunk.get("errorDetail") or {}
            raise log.failed(str(chunk.get("error") or detail.get("message") or ""))
    return image_id


def _check_unmoved(engine: Builder, request: BuildRequest, args: dict[str, str], log: BuildLog) -> None:
    """BuildError when a tag that stood for an image ID moved away while the build ran on it."""
    for key, ref in args.items():
        wanted = request.build_args.get(key, "")
        if ref != wanted and _IMAGE_ID.fullmatch(wanted):
            now = engine.inspect(ref)
            if now is None or now.id != wanted:  # someone moved the tag while we built on it
                raise BuildError(f"build argument {key}: {ref} moved away from {wanted[:19]} during the build; "
                                 "run bbc again", log_tail=log.tail[-20:])


# -- the legacy builder -------------------------------------------------------------------

def _legacy(engine: Builder, request: BuildRequest, on_line: Callable[[str], None]) -> str:
    """The legacy builder, sent the archive BuildKit gets (plus a Dockerfile with the labels
    written in, which the daemon removes once read): both see the same context."""
    import tempfile

    from bbc.adapters.docker.buildkit import context_archive

    inlined, labels = _inlined(request)
    log = BuildLog(on_line)
    cache_from = _pulled(engine, request.cache_from, log) if request.cache_from and not request.no_cache else []
    image_id: str | None = None
    with tempfile.TemporaryFile(prefix="bbc-context-") as archive:
        try:
            name = context_archive(request.context, request.dockerfile, archive, request.files,
                                   request.dockerfile_text, inlined)
        except OSError as exc:
            raise BuildError(str(exc)) from None
        archive.seek(0)
        try:
            kwargs = _legacy_kwargs(request, name, labels, archive)
            if cache_from:
                kwargs["cache_from"] = cache_from
            for chunk in _legacy_stream(engine.api.build(**kwargs), log.emit):
                aux = chunk.get("aux")
                if isinstance(aux, dict) and aux.get("ID"):
                    image_id = str(aux["ID"])
                if "error" in chunk:
                    raise log.failed(str(chunk.get("error", "")))
        except BbcError:  # the build's own failure, or a log line that could not be written
            raise
        except Exception as exc:
            raise _failed(engine, request, exc, log) from None
    if image_id is None:
        for line in reversed(log.tail):
            if line.startswith("Successfully built "):
                found = engine.inspect(line.split()[-1])
                image_id = found.id if found else None
                break
    if image_id is None:
        raise log.no_image()
    for ref in request.tags[1:]:  # the legacy build call takes one tag
        repository, _, tag = ref.rpartition(":")
        engine.tag(image_id, repository, tag)
    return image_id


def _pulled(engine: Builder, refs: tuple[str, ...], log: BuildLog) -> list[str]:
    """The cache references the legacy builder can use: those pulled onto the engine (it reads
    no registry itself; a reference that cannot be pulled only costs its cache)."""
    out = []
    for ref in refs:
        repository, _, digest = ref.rpartition("@")
        try:
            engine.pull(repository, digest)
        except BbcError as exc:
            log.emit(f"build cache {ref}: not pulled ({exc.message}); building without it")
            continue
        log.emit(f"build cache {ref}: pulled")
        out.append(ref)
    return out


def _inlined(request: BuildRequest) -> tuple[str | None, dict[str, str]]:
    """The Dockerfile with the labels as one LABEL line where that is safe (the legacy builder
    makes a step of each label it is given), and the labels still to pass as the API's."""
    from bbc.model.dockerfile import with_labels

    labels = dict(request.labels)
    if not labels:
        return None, labels
    source = request.context / request.dockerfile
    text = request.dockerfile_text if request.dockerfile_text is not None else source.read_text(encoding="utf-8")
    inlined = with_labels(text, labels, request.target)
    return inlined, ({} if inlined is not None else labels)


def _legacy_kwargs(request: BuildRequest, dockerfile: str, labels: dict[str, str], archive: Any) -> dict[str, Any]:
    """The SDK's build() arguments, for the context `archive` whose Dockerfile is `dockerfile`."""
    kwargs: dict[str, Any] = dict(
        fileobj=archive,
        custom_context=True,
        dockerfile=dockerfile,
        buildargs={**_platform_args(request.platform), **request.build_args},
        labels=labels,
        rm=True,
        forcerm=True,  # no leftover containers, also when a step fails
        decode=True,
        nocache=request.no_cache,
        network_mode=None if request.network == "default" else request.network,
    )
    if request.target:
        kwargs["target"] = request.target
    if request.platform:
        kwargs["platform"] = request.platform
    if request.tags:
        kwargs["tag"] = request.tags[0]
    return kwargs


def _legacy_stream(chunks: Any, emit: Callable[[str], None]) -> Any:
    for chunk in chunks:
        text = chunk.get("stream")
        if text:
            for line in stream_lines(iter([text])):
                emit(line)
        yield chunk


def _platform_args(platform: str | None) -> dict[str, str]:
    """The TARGET*/BUILD* arguments BuildKit sets by itself, for the legacy builder, which does
    not: a Dockerfile written for BuildKit (`COPY rootfs-${TARGETARCH}.tar.gz`,
    `FROM --platform=$BUILDPLATFORM`) builds the same with either."""
    if not platform:
        return {}
    from bbc.model.platforms import native

    out: dict[str, str] = {}
    for prefix, value in (("TARGET", platform), ("BUILD", native())):
        os_name, arch, *variant = value.split("/")
        out.update({f"{prefix}PLATFORM": value, f"{prefix}OS": os_name, f"{prefix}ARCH": arch,
                    f"{prefix}VARIANT": variant[0] if variant else ""})
    return out
