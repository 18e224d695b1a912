"""Shared fixtures. Anything about images runs against a real engine and registry.

Without an engine, docker tests skip on a developer machine but FAIL when CI=true:
a CI run whose Docker tests were skipped proves nothing.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REGISTRY_ADDR = os.environ.get("BBC_REGISTRY_ADDR", "127.0.0.1:5000")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(what: str, why: object) -> None:
    msg = f"{what} unavailable ({why}); start one with `scripts/engine up` and eval its env"
    if IN_CI:
        pytest.fail(f"CI=true: {msg}", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    import docker

    try:
        client = docker.from_env(timeout=600)  # a busy daemon (big layer commits) can stall deletes
        client.ping()
    except Exception as exc:  # any failure to reach the engine
        _unavailable("Docker engine", exc)
    yield client
    client.close()


@pytest.fixture(scope="session")
def registry_addr() -> str:
    try:
        urllib.request.urlopen(f"http://{REGISTRY_ADDR}/v2/", timeout=5).close()
    except Exception as exc:
        _unavailable(f"registry at {REGISTRY_ADDR}", exc)
    return REGISTRY_ADDR


def busybox_context(dest: Path, *, user: str = "1000") -> Path:
    """A tiny root image context: busybox-static on scratch (no Docker Hub here)."""
    dest.mkdir(parents=True, exist_ok=True)
    busybox = shutil.which("busybox") or "/bin/busybox"
    shutil.copy2(busybox, dest / "busybox")
    (dest / "Dockerfile").write_text(
        "FROM scratch\n"
        "COPY busybox /bin/busybox\n"
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
        "RUN mkdir -p /tmp /etc && chmod 1777 /tmp && "
        "echo 'app:x:1000:1000::/tmp:/bin/sh' > /etc/passwd && echo 'app:x:1000:' > /etc/group\n"
        f"USER {user}\n"
    )
    return dest


@pytest.fixture(scope="session")
def busybox_image(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """ID of a tiny busybox image built once per session."""
    ctx = busybox_context(tmp_path_factory.mktemp("busybox"))
    image, _ = docker_client.images.build(path=str(ctx), network_mode="host", rm=True)
    return str(image.id)


def tar_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
