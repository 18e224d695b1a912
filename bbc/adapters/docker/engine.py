"""The real Engine, over the Docker SDK (`docker.from_env()`: DOCKER_HOST and TLS variables):
connecting, images, pushes and pulls here; builds in building.py, containers in containers.py.

The SDK is imported on first need only: an up-to-date build asks the engine one question
(its labelled images), which goes straight to the unix socket (api.py).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from bbc.adapters.docker import api as docker_api
from bbc.adapters.docker import building, containers
from bbc.adapters.docker import paths as docker_paths
from bbc.adapters.docker.building import reason as _reason
from bbc.adapters.docker.containers import Containers
from bbc.adapters.engine import BuildRequest, ImageInfo, Mount, PathState, RunResult
from bbc.errors import EngineError, EngineLost, Interrupted

DEFAULT_TIMEOUT = 3600  # seconds a silent build step may take before the HTTP read gives up
# An engine push opens 8 to 27 connections and retries only layer uploads inside dockerd; each
# of bbc's tries keeps what the last one sent (layers already there are not sent again), so a
# push through a network that spoils a third of its connections gets there in 5 to 13 tries.
ENGINE_TRIES = max(1, int(os.environ.get("BBC_PUSH_TRIES", "12")))
_PUSHED_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64}) size: \d+")


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

    def __init__(self, client: Any = None, *, raw: docker_api.Socket | None = None, host: str | None = None,
                 live: Containers | None = None) -> None:
        self.host = host  # None: the engine the environment names (DOCKER_HOST, TLS variables)
        self._client = client
        self._client_lock = threading.Lock()
        self.raw = raw  # the unix socket, for the calls of the path that builds nothing
        self._podman: bool | None = None
        # the containers this engine starts, tracked by whoever runs it (removed on Ctrl-C)
        self.live = live if live is not None else Containers()

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

    def platform(self) -> str:
        """From /info: OSType and Architecture (`aarch64` is linux/arm64)."""
        from bbc.model.platforms import of_machine

        try:
            info = self.api.info()
        except Exception as exc:
            raise self._error("info", exc) from None
        return of_machine(str(info.get("OSType") or "linux"), str(info.get("Architecture") or ""))

    def version(self) -> str:
        try:
            found = self.api.version()
        except Exception as exc:
            raise self._error("ask its version", exc) from None
        components = found.get("Components") or []
        name = str(components[0].get("Name") or "Engine") if components and isinstance(components[0], dict) else "Engine"
        product = name if "podman" in name.lower() else f"Docker {name}"  # dockerd calls itself "Engine"
        return f"{product} {found.get('Version', '?')}"

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

    def lost_or(self, what: str, exc: BaseException) -> EngineError:
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
        """BuildKit, or the legacy builder when DOCKER_BUILDKIT=0, as for `docker build`
        (bbc/adapters/docker/building.py)."""
        return building.build(self, request, on_line)

    def tag(self, image_id: str, repository: str, tag: str) -> None:
        if self.live.stopping:  # Ctrl-C: a build finishing now is not tagged
            raise Interrupted(f"interrupted: {repository}:{tag} not tagged")
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
            raise self.lost_or(f"pushing {repository}:{tag}", exc) from None
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

        spec = containers.ContainerRun(image, command, tuple(mounts), network, timeout, user, keep)
        try:
            return self.live.checked(lambda: containers.run(self.api, self.live, spec, on_line))
        except docker.errors.APIError as exc:
            raise self._error(f"run {image}", exc) from None
        except (OSError, requests.exceptions.RequestException) as exc:
            raise self.lost_or(f"running a test in {image[:19]}", exc) from None

    def file_exists(self, image: str, path: str) -> bool:
        found = self.path_states(image, [path])[path]
        if found.error:
            raise EngineError(f"engine at {self.address}: stat {path} in {image}: {found.error}")
        return found.exists

    def path_states(self, image: str, paths: list[str]) -> dict[str, PathState]:
        created = self.live.create(self.api, image, command=["/bbc-never-started"])
        try:
            # HEAD is the archive endpoint's stat: no body streams, so no half-read archive
            # holds the container while it is removed (a GET read one chunk and deadlocked)
            stat = docker_paths.stat_of(self.api, created)
            return self.live.checked(lambda: {path: docker_paths.state(stat, path) for path in paths})
        finally:
            self.live.forget(created)
            self.api.remove_container(created, force=True)

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


def connect(host: str | None = None, *, live: Containers | None = None) -> DockerEngine:
    """Connect to `host` (a DOCKER_HOST-style URL or a docker context name), by default to the
    engine the standard Docker variables point at; or explain how to get one. A unix socket is
    pinged without the SDK; the SDK client comes on first need. `live`: the run's containers,
    where the containers this engine starts are tracked (default: the engine's own)."""
    if host is not None and "://" not in host:
        host = context_host(host)
    path = docker_api.socket_path(host if host is not None else os.environ.get("DOCKER_HOST"))
    timeout = float(os.environ.get("BBC_DOCKER_TIMEOUT", DEFAULT_TIMEOUT))
    try:
        if path is not None and (host is not None or not os.environ.get("DOCKER_TLS_VERIFY")):
            raw = docker_api.Socket(path, timeout=timeout)
            raw.ping()
            return DockerEngine(raw=raw, host=host, live=live)
        engine = DockerEngine(host=host, live=live)
        engine.api.ping()
    except Exception as exc:
        raise EngineError(
            f"no Docker engine answers at {host or _address()}: {_reason(exc)}",
            tip='start one with `eval "$(scripts/engine up)"` (private dockerd + registry), '
            "or point DOCKER_HOST at a running engine",
        ) from None
    return engine


def _engine_error(address: str, what: str, exc: BaseException) -> EngineError:
    return EngineError(f"engine at {address}: {what}: {_reason(exc)}")
