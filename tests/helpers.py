"""Build small hierarchies on disk for tests."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.conftest import busybox_context

CHILD_DOCKERFILE = "ARG SOURCE_IMAGE\nFROM ${{SOURCE_IMAGE}}\nCOPY . /srv/{name}\nRUN echo {name} >> /tmp/chain\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def tiny_hierarchy(root: Path, *, registry: str = "localhost:5000/t", extra: str = "") -> Path:
    """base (busybox, FROM scratch) -> mid -> {a1, a2}; plus base -> b1 (a second branch)."""
    busybox_context(root / "images/root/base")
    for name, folder in (("mid", "intermediate/mid"), ("a1", "app/a1"), ("a2", "app/a2"), ("b1", "app/b1")):
        write(root / f"images/{folder}/Dockerfile", CHILD_DOCKERFILE.format(name=name))
        write(root / f"images/{folder}/data.txt", f"{name}\n")
    body = textwrap.dedent(
        f"""\
        registry: {registry}
        defaults:
          network: host
        images:
          base:
            path: images/root/base
            version: 1.0.0
          mid:
            path: images/intermediate/mid
            parent: base
            version: 1.2.0
          a1:
            path: images/app/a1
            parent: mid
            version: 0.1.0
          a2:
            path: images/app/a2
            parent: mid
            version: 0.1.0
          b1:
            path: images/app/b1
            parent: base
            version: 2.0.0
        """
    )
    return write(root / "bbc.yaml", body + textwrap.dedent(extra))


def remove_images(client: Any, prefix: str) -> None:
    """Untag (and so delete) every local image under `prefix/`; tolerant of races."""
    import docker.errors

    for row in client.api.images():
        for tag in row.get("RepoTags") or ():
            if tag.startswith(prefix + "/"):
                try:
                    client.images.remove(tag, force=True)
                except docker.errors.NotFound:
                    pass


def remove_images_on(host: str, prefix: str, *, prune_builds: bool = False) -> None:
    """`remove_images` on the engine at `host` (a pool test's second engine); with
    `prune_builds`, its build cache goes too (the next test starts on an empty engine)."""
    import docker

    client = docker.DockerClient(base_url=host)
    try:
        remove_images(client, prefix)
        if prune_builds:
            client.api.prune_builds()
    finally:
        client.close()


def container_ids(client: Any, label: str | None = None) -> set[str]:
    """Ids of all containers (optionally with a label), from one listing call.

    `client.containers.list()` inspects every container it lists, so a container removed
    between the listing and its inspection (a short-lived check container) raises NotFound.
    """
    filters = {"label": label} if label else {}
    return {row["Id"] for row in client.api.containers(all=True, filters=filters)}


def ctrl_c(args: list[str], cwd: Path, ready: Callable[[], bool], what: str, *, settle: float = 0.0,
           wait: float = 120) -> tuple[int, str]:
    """Run `bbc ARGS` and press Ctrl-C once `ready()` holds (plus `settle` seconds); return
    its exit code and output. A shell's background job inherits SIGINT ignored, and Python then
    installs no handler for it: the child gets the default disposition a terminal gives it."""
    proc = subprocess.Popen([sys.executable, "-m", "bbc.cli", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + wait
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{what} never happened (bbc exit code {proc.poll()})")
            time.sleep(0.2)
        time.sleep(settle)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on a free 127.0.0.1 port for the length of the block: its address."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
