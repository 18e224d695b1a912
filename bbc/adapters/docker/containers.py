"""Containers a run starts (tests, package-manager questions): each one run to completion and
removed, and every one still there tracked by the run's `Containers`, which the CLI empties on
Ctrl-C. No process-global state: whoever starts a run owns its Containers (bbc/cli/app.py's
main(), one per invocation) and hands it to every engine it connects. Imported by every bbc
command's start: the engine's types come in only when a container runs."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from bbc.adapters.docker import owners
from bbc.adapters.docker.output import Output, blocks, close, demux, drain
from bbc.errors import Interrupted

if TYPE_CHECKING:
    from bbc.adapters.engine import Mount, RunResult

T = TypeVar("T")


class Containers:
    """The containers of one run not removed yet, on whichever engine and thread started them.

    Worker threads die with the process on Ctrl-C, before their `finally`: `remove_all`, from
    the main thread, removes what they left. A Ctrl-C landing between a create's request and
    its answer would leave a container nobody knows of, so removal waits for creates in
    flight, and no create starts after it began. A step its removal cuts short raises
    Interrupted (it did not fail: it was stopped). Each container is labelled with its owner
    (bbc/adapters/docker/owners.py); the first one on an engine sweeps away those a killed run
    of the same tree left there."""

    def __init__(self) -> None:
        self._live: dict[str, Any] = {}  # container ID -> the SDK API client of its engine
        self._changed = threading.Condition()
        self._creating = 0
        self._stopping = False
        self.tree: str | None = None  # the folder of the bbc.yaml this run works on, once read
        self._swept: set[int] = set()  # the engines (SDK clients) swept already

    @property
    def stopping(self) -> bool:
        """`remove_all` has begun: the run is being interrupted."""
        return self._stopping

    def create(self, api: Any, image: str, *, keep: bool = False, **options: Any) -> str:
        """Create a container (labelled with its owner) through `api` and track it until
        `forget`; Interrupted once `remove_all` has begun."""
        with self._changed:
            if self._stopping:
                raise Interrupted("interrupted: no new test container")
            self._creating += 1
            sweep = self.tree is not None and id(api) not in self._swept
            self._swept.add(id(api))
        try:
            if sweep and self.tree is not None:
                owners.sweep(api, self.tree)
            created = api.create_container(image, labels=owners.labels_for(self.tree, keep=keep), **options)
            container_id = str(created["Id"])
            self._live[container_id] = api
            return container_id
        finally:
            with self._changed:
                self._creating -= 1
                self._changed.notify_all()

    def checked(self, call: Callable[[], T]) -> T:
        """`call()` (which runs containers of this run), raising Interrupted instead of whatever
        it came to when `remove_all` cut it short (a test killed by it did not fail)."""
        try:
            out = call()
        except Interrupted:
            raise
        except Exception:
            if self._stopping:
                raise Interrupted("interrupted") from None
            raise
        if self._stopping:
            raise Interrupted("interrupted")
        return out

    def forget(self, container_id: str) -> None:
        """The container is being removed by whoever started it."""
        self._live.pop(container_id, None)

    def remove_all(self, wait: float = 15.0) -> int:
        """Remove every tracked container (waiting up to `wait` seconds for creates in flight);
        how many were removed. No container is created through this object afterwards."""
        with self._changed:
            self._stopping = True
            self._changed.wait_for(lambda: self._creating == 0, timeout=wait)
        removed = 0
        for container_id, api in list(self._live.items()):
            try:
                api.remove_container(container_id, force=True)
                removed += 1
            except Exception:
                pass
            self._live.pop(container_id, None)
        return removed


@dataclass(frozen=True)
class ContainerRun:
    """What Engine.run asks for (bbc/adapters/engine.py)."""

    image: str
    command: list[str] | None
    mounts: tuple[Mount, ...]
    network: str
    timeout: int
    user: str | None = None
    keep: bool = False  # a container whose command failed or timed out stays, stopped, for debugging


def run(api: Any, live: Containers, spec: ContainerRun, on_line: Callable[[str], None]) -> RunResult:
    """Run `spec` to completion through the SDK's `api`, streaming its output to `on_line`;
    the container is removed after (unless kept). The SDK's errors pass through."""
    import requests.exceptions

    from bbc.adapters.engine import RunResult

    binds = {str(m.source): {"bind": m.target, "mode": "ro" if m.read_only else "rw"} for m in spec.mounts}
    host_config = api.create_host_config(binds=binds, network_mode=spec.network)
    container_id: str | None = None
    sock: Any = None
    failed = False
    try:
        container_id = live.create(api, spec.image, command=spec.command, host_config=host_config, keep=spec.keep,
                                   user=spec.user or "", network_disabled=spec.network == "none")
        # attached before it starts: the output as the container writes it, whatever the log
        # driver (reading it back through /logs costs the engine ~5x the time for short lines)
        sock = api.attach_socket(container_id, params={"stdout": 1, "stderr": 1, "stream": 1, "logs": 1})
        refused = _start(api, container_id)
        if refused:
            return RunResult(None, "", not_started=refused)
        output = Output(on_line)
        reader = threading.Thread(target=output.read, args=(demux(blocks(sock)),), daemon=True)
        reader.start()
        try:
            status = api.wait(container_id, timeout=spec.timeout)
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            api.kill(container_id)
            drain(reader, output)
            failed = True
            return _result(None, output, timed_out=True)
        drain(reader, output)  # to the stream's end: the last lines are what a failure is about
        code = int(status.get("StatusCode", 1))
        failed = code != 0
        return _result(code, output)
    finally:
        if sock is not None:
            close(sock)
        if container_id is not None:
            live.forget(container_id)
        if container_id is not None and not (spec.keep and failed):
            try:
                api.remove_container(container_id, force=True)
            except Exception:
                pass


# how runc says a command cannot start, through dockerd (`exec: "/no/such/tool": stat
# /no/such/tool: no such file or directory: unknown`) or Podman (`...: executable file not found
# in $PATH: OCI runtime attempted to invoke a command that was not found`)
_CANNOT_EXEC = re.compile(r'exec: "(?P<command>[^"]*)": (?:stat [^:]*: )?(?P<why>[^:"]+)')


def _start(api: Any, container_id: str) -> str:
    """Start the container; "" when it started, else why its command could not (the engine's
    other refusals pass through)."""
    try:
        api.start(container_id)
    except Exception as exc:  # the SDK's APIError carries the engine's `explanation`
        found = _CANNOT_EXEC.search(str(getattr(exc, "explanation", None) or "").strip())
        if found is None:
            raise
        return f"cannot run {found['command']}: {found['why']}"
    return ""


def _result(code: int | None, output: Output, *, timed_out: bool = False) -> RunResult:
    from bbc.adapters.engine import RunResult

    if output.error is not None:  # on_line could not take a line (its log could not be written)
        raise output.error
    return RunResult(code, output.text(), timed_out=timed_out)
