"""Shared fixtures. Anything about images runs against a real engine and registry.

Without an engine, docker tests skip on a developer machine but FAIL when CI=true:
a CI run whose Docker tests were skipped proves nothing.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
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


@pytest.fixture()
def server(tmp_path: Path, docker_client: Any) -> Iterator[Any]:
    """A registry of this test's own (docker-registry on a free port), stopped after it."""
    from tests.registry_server import RegistryServer

    srv = RegistryServer(tmp_path / "registry")
    srv.start()
    yield srv
    srv.stop()


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
    # Tagged, so it outlives a test that force-removes a build stacked on it: an untagged image
    # goes with the last tagged image above it (a legacy build can reuse it as a cached step).
    image.tag("bbc-test/busybox", "session")
    return str(image.id)


def tar_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# -- a second private engine (own dockerd, data and socket), for faults and pools ------------

_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Engine:
    dir: Path
    host: str
    env: dict[str, str]

    def pid(self) -> int:
        return int((self.dir / "dockerd.pid").read_text())

    def script(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(_ROOT / "scripts/engine"), *args], env=self.env, capture_output=True, text=True,
                              timeout=180)


@pytest.fixture(scope="module")
def second_engine(docker_client: Any) -> Iterator[Engine]:
    """A private dockerd (and registry) of this module's own, always stopped and removed after.
    Each test leaves it answering (`scripts/engine up` after what it broke)."""
    from tests.registry_server import free_port

    folder = Path(tempfile.mkdtemp(prefix="bbc-second-", dir="/var/tmp"))
    env = {**os.environ, "BBC_ENGINE_DIR": str(folder), "BBC_REGISTRY_ADDR": f"127.0.0.1:{free_port()}"}
    engine = Engine(folder, f"unix://{folder}/docker.sock", env)
    try:
        up = engine.script("up")
        assert up.returncode == 0, up.stderr
        assert f"export DOCKER_HOST={engine.host}" in up.stdout
        yield engine
    finally:
        engine.script("down")
        shutil.rmtree(folder, ignore_errors=True)
