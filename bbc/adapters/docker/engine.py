"""The real Engine, over the Docker SDK (`docker.from_env()`: DOCKER_HOST and TLS variables).

The SDK is imported on first need only: an up-to-date build asks the engine one question
(its labelled images), which goes straight to the unix socket (bbc/docker_api.py).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from bbc.adapters.docker import api as docker_api
from bbc.adapters.engine import BuildRequest, ImageInfo, Mount, RunResult, stream_lines
from bbc.errors import BbcError, BuildError, EngineError, EngineLost

DEFAULT_TIMEOUT = 3600  # seconds a silent build step may take before the HTTP read gives up
# An engine push opens 8 to 27 connections and retries only layer uploads inside dockerd; each
# of bbc's tries keeps what the last one sent (layers already there are not sent again), so a
# push through a network that spoils a third of its connections gets there in 5 to 13 tries.
ENGINE_TRIES = max(1, int(os.environ.get("BBC_PUSH_TRIES", "12")))
TEST_LABEL = "bbc.test-container"
_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")
_PUSHED_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64}) size: \d+")
# Containers running right now, whichever thread started them: on Ctrl-C the CLI removes
# them from the main thread (worker threads die with the process, before their `finally`).
_LIVE: dict[str, DockerEngine] = {}
# Creates in flight: a Ctrl-C landing between a create's request and its answer would leave a
# container nobody knows of, so removal waits for them and no create starts after it.
_CREATES = threading.Condition()
_creating = 0
_stopping = False


def remove_live_containers(wait: float = 15.0) -> int:
    global _stopping
    with _CREATES:
        _stopping = True
        _CREATES.wait_for(lambda: _creating == 0, timeout=wait)
    removed = 0
    for container_id, engine in list(_LIVE.items()):
        try:
            engine.api.remove_container(container_id, force=True)
            removed += 1
        except Exception:
            pass
        _LIVE.pop(container_id, None)
    return removed


class _BuildLog:
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


def _registry_of(repository: str) -> str:
    """The registry host of an image name, as docker reads it (`docker.io` without one)."""
    first, _, rest = repository.partition("/")
    return first if rest and ("." in first or ":" in first or first == "localhost") else "docker.io"


def _refused(message: str) -> bool:
    """A registry's no to these credentials: asking again changes nothing."""
    lowered = message.lower()
    return any(word in lowered for word in ("unauthorized", "authentication required", "denied", "no basic auth"))


def _address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (default; DOCKER_HOST is unset)"


class DockerEngine:
    """Engine over a Docker daemon. Construct with `connect()`."""

    def __init__(self, client: Any = None, *, raw: docker_api.Socket | None = None, host: str | None = None) -> None:
        self.host = host  # None: the engine the environment names (DOCKER_HOST, TLS variables)
        self._client = client
        self._client_lock = threading.Lock()
        self.raw = raw  # the unix socket, for the calls of the path that builds nothing
        self._podman: bool | None = None

    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                import docker

                timeout = int(os.environ.get("BBC_DOCKER_TIMEOUT", DEFAULT_TIMEOUT))
                self._client = docker.from_env(timeout=timeout) if self.host is None else \
                    docker.DockerClient(base_url=self.host, timeout=timeout, use_ssh_client=self.host.startswith("ssh://"))
            return self._client

    @property
    def api(self) -> Any:
        return self.client.api

    @property
    def podman(self) -> bool:
        """Whether the engine is Podman's Docker-compatible service (its /version names it),
        asked once, on the first build or run (the path that builds nothing never asks)."""
        if self._podman is None:  # two threads may both ask: the same answer, no lock needed
            try:
                components = self.api.version().get("Components") or []
            except Exception:
                components = []
            self._podman = any("podman" in str(c.get("Name", "")).lower() for c in components)
        return self._podman

    @property
    def address(self) -> str:
        return self.host or _address()

    def answers(self) -> bool:
        """Whether the engine answers a ping now (a few seconds at most)."""
        try:
            if self.raw is not None:
                docker_api.Socket(self.raw.path, timeout=5).ping()
            else:
                self.api.ping()
            return True
        except Exception:
            return False

    def _error(self, what: str, exc: BaseException) -> EngineError:
        return _engine_error(self.address, what, exc)

    def _lost_or(self, what: str, exc: BaseException) -> EngineError:
        """EngineLost when the engine no longer answers, else the engine's own error."""
        if not self.answers():
            return EngineLost(f"engine at {self.address} stopped answering while {what}; nothing was tagged",
                              tip="start it again (`scripts/engine up`) and run bbc again to finish")
        return self._error(what, exc)

    # -- images ----------------------------------------------------------------------
    def images_with_label(self, label: str) -> list[ImageInfo]:
        try:
            rows = self.raw.images(label) if self.raw is not None else self.api.images(filters={"label": label})
        except Exception as exc:
            raise self._error("list images", exc) from None
        return [
            ImageInfo(
                id=row["Id"],
                tags=tuple(t for t in (row.get("RepoTags") or ()) if t != "<none>:<none>"),
                labels=row.get("Labels") or {},
                size=int(row.get("Size") or 0),
                created=str(row.get("Created", "")),
                digests=tuple(row.get("RepoDigests") or ()),
            )
            for row in rows
        ]

    def inspect(self, ref: str) -> ImageInfo | None:
        import docker.errors

        try:
            row = self.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as exc:
            if exc.status_code == 404:
                return None
            raise self._error(f"inspect {ref}", exc) from None
        except Exception as exc:
            raise self._error(f"inspect {ref}", exc) from None
        return _info(row)

    def inspect_many(self, refs: list[str]) -> dict[str, ImageInfo | None]:
        if self.raw is not None:
            try:
                rows = self.raw.inspect_images(refs)
            except Exception as exc:
                raise self._error("inspect images", exc) from None
            return {ref: _info(row) if row else None for ref, row in rows.items()}
        if len(refs) < 4:
            return {ref: self.inspect(ref) for ref in refs}
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=8) as pool:
            return dict(zip(refs, pool.map(self.inspect, refs)))

    def user_of(self, ref: str) -> str:
        row = self.api.inspect_image(ref)
        return str((row.get("Config") or {}).get("User") or "")

    def build(self, request: BuildRequest, on_line: Callable[[str], None]) -> str:
        """BuildKit (labels go into the image config, no extra step; ~3x faster per image than
        the legacy builder here), or the legacy builder when DOCKER_BUILDKIT=0, as for `docker build`."""
        if self.podman:
            # Podman builds with buildah whatever the request asks; it resolves FROM by image
            # ID and reads the Dockerfile from the context, which the BuildKit path sends
            return self._buildkit(request, dict(request.build_args), on_line)
        if os.environ.get("DOCKER_BUILDKIT", "1").strip() not in ("0", "false"):
            args = self._args_by_tag(request)
            if args is not None:
                return self._buildkit(request, args, on_line)
            on_line("(a build argument names an untagged image: BuildKit resolves images by tag; legacy builder)")
        import tempfile

        with tempfile.TemporaryDirectory(prefix="bbc-build-") as scratch:
            return self._build(request, on_line, scratch)

    def _args_by_tag(self, request: BuildRequest) -> dict[str, str] | None:
        """Build args with image IDs replaced by a tag of that image (BuildKit resolves FROM by
        reference, not by ID); None when an ID has no tag."""
        args = dict(request.build_args)
        for key, value in args.items():
            if _IMAGE_ID.fullmatch(value):
                try:
                    row = self.api.inspect_image(value)
                except Exception as exc:
                    raise BuildError(f"build argument {key}: image {value[:19]} not found: {_reason(exc)}") from None
                refs = [t for t in row.get("RepoTags") or () if t != "<none>:<none>"]
                if not refs:
                    return None
                args[key] = refs[0]
        return args

    def _buildkit(self, request: BuildRequest, args: dict[str, str], on_line: Callable[[str], None]) -> str:
        import json
        import tempfile

        from bbc.adapters.docker.buildkit import Progress, context_archive

        log = _BuildLog(on_line)
        emit, tail = log.emit, log.tail
        params: dict[str, Any] = {
            "version": "2", "rm": "1", "buildargs": json.dumps(args), "labels": json.dumps(dict(request.labels)),
        }
        what = f"building {request.labels.get('bbc.image') or request.context.name}"
        if request.network != "default":
            params["networkmode"] = request.network
        if request.target:
            params["target"] = request.target
        if request.platform:
            params["platform"] = request.platform
        if request.tags:
            params["t"] = list(request.tags)
        progress = Progress()
        image_id: str | None = None
        with tempfile.TemporaryFile(prefix="bbc-context-") as archive:
            try:
                params["dockerfile"] = context_archive(request.context, request.dockerfile, archive, request.files,
                                                       request.dockerfile_text)
            except OSError as exc:
                raise BuildError(str(exc)) from None
            archive.seek(0)
            try:
                for chunk in docker_api.post_build(self.api, params, archive):
                    kind = chunk.get("id")
                    if kind == "moby.buildkit.trace":
                        for line in progress.feed(str(chunk.get("aux") or "")):
                            emit(line)
                    elif kind in ("moby.image.id", None) and isinstance(chunk.get("aux"), dict):
                        # BuildKit tags the aux with its id; Podman (which builds with buildah
                        # whatever the request asks) sends the bare {"aux": {"ID": ...}}
                        image_id = str(chunk["aux"].get("ID") or "") or image_id
                    elif chunk.get("stream"):
                        for line in stream_lines(iter([str(chunk["stream"])])):
                            emit(line)
                    if "error" in chunk or "errorDetail" in chunk:
                        for line in progress.flush():
                            emit(line)
                        detail = chunk.get("errorDetail") or {}
                        raise log.failed(str(chunk.get("error") or detail.get("message") or ""))
            except BuildError:
                raise
            except Exception as exc:
                lost = self._lost_or(what, exc)
                if isinstance(lost, EngineLost):
                    raise lost from None
                raise BuildError(f"build failed: {_reason(exc)}", log_tail=tail[-20:]) from None
        for line in progress.flush():
            emit(line)
        if image_id is None:
            raise BuildError("the engine reported no image ID", log_tail=tail[-20:])
        for key, ref in args.items():
            wanted = request.build_args.get(key, "")
            if ref != wanted and _IMAGE_ID.fullmatch(wanted):
                now = self.inspect(ref)
                if now is None or now.id != wanted:  # someone moved the tag while we built on it
                    raise BuildError(f"build argument {key}: {ref} moved away from {wanted[:19]} during the build; "
                                     "run bbc again", log_tail=tail[-20:])
        return image_id

    def _build(self, request: BuildRequest, on_line: Callable[[str], None], scratch: str) -> str:
        from bbc.model.dockerfile import with_labels

        dockerfile = request.dockerfile
        labels = dict(request.labels)
        source = request.context / request.dockerfile
        text = request.dockerfile_text if request.dockerfile_text is not None else source.read_text(encoding="utf-8")
        inlined = with_labels(text, labels, request.target) if labels else None
        if inlined is None and request.dockerfile_text is not None:
            inlined = request.dockerfile_text  # the labels go as the API's parameter
        elif inlined is not None:
            labels = {}
        if inlined is not None:
            # outside the context: the SDK sends it as an extra file, the context stays as is
            dockerfile = os.path.join(scratch, "Dockerfile")
            with open(dockerfile, "w", encoding="utf-8") as f:
                f.write(inlined)
        kwargs: dict[str, Any] = dict(
            path=str(request.context),
            dockerfile=dockerfile,
            buildargs={**_platform_args(request.platform), **request.build_args},
            labels=labels,
            rm=True,
            forcerm=True,  # no leftover containers, also when a step fails
            decode=True,
            network_mode=None if request.network == "default" else request.network,
        )
        if request.target:
            kwargs["target"] = request.target
        if request.platform:
            kwargs["platform"] = request.platform
        if request.tags:
            kwargs["tag"] = request.tags[0]
        image_id: str | None = None
        log = _BuildLog(on_line)
        emit, tail = log.emit, log.tail
        try:
            for chunk in self._stream(self.api.build(**kwargs), emit):
                aux = chunk.get("aux")
                if isinstance(aux, dict) and aux.get("ID"):
                    image_id = str(aux["ID"])
                if "error" in chunk:
                    raise log.failed(str(chunk.get("error", "")))
        except BuildError:
            raise
        except Exception as exc:
            lost = self._lost_or(f"building {request.labels.get('bbc.image') or request.context.name}", exc)
            if isinstance(lost, EngineLost):
                raise lost from None
            raise BuildError(f"build failed: {_reason(exc)}", log_tail=tail[-20:]) from None
        if image_id is None:
            for line in reversed(tail):
                if line.startswith("Successfully built "):
                    found = self.inspect(line.split()[-1])
                    image_id = found.id if found else None
                    break
        if image_id is None:
            raise BuildError("the engine reported no image ID", log_tail=tail[-20:])
        for ref in request.tags[1:]:  # the legacy build call takes one tag
            repository, _, tag = ref.rpartition(":")
            self.tag(image_id, repository, tag)
        return image_id

    def _stream(self, chunks: Any, emit: Callable[[str], None]) -> Any:
        for chunk in chunks:
            text = chunk.get("stream")
            if text:
                for line in stream_lines(iter([text])):
                    emit(line)
            yield chunk

    def tag(self, image_id: str, repository: str, tag: str) -> None:
        try:
            self.api.tag(image_id, repository, tag, force=True)
        except Exception as exc:
            raise self._error(f"tag {repository}:{tag}", exc) from None

    def remove_image(self, ref: str) -> None:
        import docker.errors

        try:
            self.api.remove_image(ref, force=False, noprune=False)
        except docker.errors.ImageNotFound:
            pass
        except Exception as exc:
            raise self._error(f"remove {ref}", exc) from None

    # -- registry --------------------------------------------------------------------
    def push(self, repository: str, tag: str, on_line: Callable[[str], None]) -> str:
        """Push, tried again (a push of the same image is idempotent) when the registry or the
        network failed it: ENGINE_TRIES in all, a refusal of the credentials only once."""
        import time

        for attempt in range(1, ENGINE_TRIES + 1):
            try:
                return self._push(repository, tag, on_line)
            except EngineLost:
                raise
            except EngineError as exc:
                if attempt == ENGINE_TRIES or _refused(exc.message):
                    raise EngineError(f"{exc.message}{f' ({attempt} tries)' if attempt > 1 else ''}",
                                      tip=exc.tip) from None
                on_line(f"push failed ({exc.message}); trying again ({attempt + 1} of {ENGINE_TRIES})")
                time.sleep(min(attempt, 4) * 0.5)
        raise EngineError(f"push {repository}:{tag}: not tried")  # unreachable: the loop returns or raises

    def _push(self, repository: str, tag: str, on_line: Callable[[str], None]) -> str:
        from bbc.adapters.registry import auth

        digest = ""
        try:
            for chunk in self.api.push(repository, tag=tag, stream=True, decode=True,
                                       auth_config=auth.engine_auth(_registry_of(repository))):
                if "error" in chunk:
                    raise EngineError(f"push {repository}:{tag} failed: {chunk['error']}",
                                      tip="is the registry running and are you logged in (`docker login`)?")
                aux = chunk.get("aux")
                if isinstance(aux, dict) and aux.get("Digest"):
                    digest = str(aux["Digest"])
                status = chunk.get("status")
                if status and chunk.get("id") is None:
                    on_line(str(status))
                    # Podman reports the digest only in the docker CLI's closing line
                    found = _PUSHED_DIGEST.search(str(status))
                    if found and not digest:
                        digest = found.group(1)
        except EngineError:
            raise
        except Exception as exc:
            raise self._lost_or(f"pushing {repository}:{tag}", exc) from None
        if not digest:
            raise EngineError(f"push {repository}:{tag}: the engine reported no digest")
        return digest

    def pull(self, repository: str, reference: str) -> ImageInfo:
        from bbc.adapters.registry import auth

        ref = f"{repository}@{reference}" if reference.startswith("sha256:") else f"{repository}:{reference}"
        try:
            for chunk in self.api.pull(repository, tag=reference, stream=True, decode=True,
                                       auth_config=auth.engine_auth(_registry_of(repository))):
                if "error" in chunk:
                    raise EngineError(f"pull {ref} failed: {chunk['error']}")
        except EngineError:
            raise
        except Exception as exc:
            raise self._error(f"pull {ref}", exc) from None
        info = self.inspect(ref)
        if info is None:
            raise EngineError(f"pull {ref}: image not present after pull")
        return info

    # -- containers ------------------------------------------------------------------
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
        import docker.errors
        import requests.exceptions

        binds = {str(m.source): {"bind": m.target, "mode": "ro" if m.read_only else "rw"} for m in mounts}
        host_config = self.api.create_host_config(binds=binds, network_mode=network)
        container_id: str | None = None
        failed = False  # with `keep`, a failed container stays for debugging
        output: list[str] = []
        global _creating
        try:
            with _CREATES:
                if _stopping:
                    raise BbcError("interrupted: no new test container")
                _creating += 1
            try:
                created = self.api.create_container(
                    image, command=command, host_config=host_config, labels={TEST_LABEL: "1"},
                    user=user or "", network_disabled=network == "none",
                )
                container_id = str(created["Id"])
                _LIVE[container_id] = self
            finally:
                with _CREATES:
                    _creating -= 1
                    _CREATES.notify_all()
            self.api.start(container_id)

            def pump() -> None:
                try:
                    for line in stream_lines(
                        c.decode("utf-8", "replace")
                        for c in self.api.logs(container_id, stream=True, follow=True)
                    ):
                        output.append(line)
                        on_line(line)
                except Exception:  # the container went away: the wait below reports it
                    pass

            reader = threading.Thread(target=pump, daemon=True)
            reader.start()
            try:
                status = self.api.wait(container_id, timeout=timeout)
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                self.api.kill(container_id)
                reader.join(5)
                failed = True
                return RunResult(None, "\n".join(output), timed_out=True)
            reader.join(10)
            code = int(status.get("StatusCode", 1))
            failed = code != 0
            return RunResult(code, "\n".join(output))
        except docker.errors.APIError as exc:
            raise self._error(f"run {image}", exc) from None
        except (OSError, requests.exceptions.RequestException) as exc:
            raise self._lost_or(f"running a test in {image[:19]}", exc) from None
        finally:
            if container_id is not None:
                _LIVE.pop(container_id, None)
            if container_id is not None and not (keep and failed):
                try:
                    self.api.remove_container(container_id, force=True)
                except Exception:
                    pass

    def file_exists(self, image: str, path: str) -> bool:
        created = self.api.create_container(image, command=["/bbc-never-started"], labels={TEST_LABEL: "1"})
        try:
            # HEAD is the archive endpoint's stat: no body streams, so no half-read archive
            # holds the container while it is removed (a GET read one chunk and deadlocked)
            status = docker_api.head(self.api, "/containers/{0}/archive", created["Id"], params={"path": path})
            if status == 404:
                return False
            if status != 200:
                raise EngineError(f"engine at {self.address}: stat {path} in {image}: HTTP {status}")
            return True
        finally:
            self.api.remove_container(created["Id"], force=True)

    def containers_with_label(self, label: str) -> list[str]:
        return [c["Id"] for c in self.api.containers(all=True, filters={"label": label})]

    def diff_ids(self, ref: str) -> tuple[str, ...]:
        try:
            row = self.api.inspect_image(ref)
        except Exception as exc:
            raise self._error(f"inspect {ref}", exc) from None
        return tuple((row.get("RootFS") or {}).get("Layers") or ())

    def export(self, ref: str) -> Iterator[bytes]:
        # `docker save`: the only Engine API call that hands out layer contents without a
        # container, so roots without a shell (static, scratch apps) read like any other
        try:
            stream = self.api.get_image(ref, chunk_size=1 << 20)
        except Exception as exc:
            raise self._error(f"export {ref}", exc) from None
        return iter(stream)


def _info(row: dict[str, Any]) -> ImageInfo:
    """ImageInfo from an image inspect answer."""
    config = row.get("Config") or {}
    return ImageInfo(
        id=row["Id"],
        tags=tuple(row.get("RepoTags") or ()),
        labels=config.get("Labels") or {},
        size=int(row.get("Size") or 0),
        created=str(row.get("Created", "")),
        digests=tuple(row.get("RepoDigests") or ()),
    )


def context_host(name: str) -> str:
    """The engine URL of a docker context (`docker context create NAME --docker host=...`),
    read from the Docker CLI's context store; EngineError naming it when there is none."""
    import hashlib
    import json

    config = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    meta = os.path.join(config, "contexts", "meta", hashlib.sha256(name.encode()).hexdigest(), "meta.json")
    try:
        with open(meta, encoding="utf-8") as f:
            host = json.load(f)["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        raise EngineError(f"no docker context named {name!r} (looked in {os.path.dirname(meta)})",
                          tip="an engine is a context name or a URL: unix:///path, tcp://host:2376, ssh://user@host") from None
    return str(host)


def connect(host: str | None = None) -> DockerEngine:
    """Connect to `host` (a DOCKER_HOST-style URL or a docker context name), by default to the
    engine the standard Docker variables point at; or explain how to get one. A unix socket is
    pinged without the SDK; the SDK client comes on first need."""
    if host is not None and "://" not in host:
        host = context_host(host)
    path = docker_api.socket_path(host if host is not None else os.environ.get("DOCKER_HOST"))
    timeout = float(os.environ.get("BBC_DOCKER_TIMEOUT", DEFAULT_TIMEOUT))
    try:
        if path is not None and (host is not None or not os.environ.get("DOCKER_TLS_VERIFY")):
            raw = docker_api.Socket(path, timeout=timeout)
            raw.ping()
            return DockerEngine(raw=raw, host=host)
        engine = DockerEngine(host=host)
        engine.api.ping()
    except Exception as exc:
        raise EngineError(
            f"no Docker engine answers at {host or _address()}: {_reason(exc)}",
            tip='start one with `eval "$(scripts/engine up)"` (private dockerd + registry), '
            "or point DOCKER_HOST at a running engine",
        ) from None
    return engine


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, (ConnectionRefusedError, FileNotFoundError)) or "Connection refused" in text \
            or "No such file" in text or "FileNotFoundError" in text:
        return "connection refused (is the daemon running?)"
    return text.splitlines()[0][:300]


def _engine_error(address: str, what: str, exc: BaseException) -> EngineError:
    return EngineError(f"engine at {address}: {what}: {_reason(exc)}")


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
