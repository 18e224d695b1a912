"""The engine tests that matter, on Podman's Docker-compatible service (`scripts/engine up
--podman`: private vfs storage and socket, the same registry): build from scratch and the
no-op, the test sandwich with structure checks and no container left, release and status, and
a parent written out in a FROM line (parent_ref). Everything else runs on dockerd."""

from __future__ import annotations

import json
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import bbc, ok
from tests.conftest import IN_CI, REGISTRY_ADDR
from tests.helpers import remove_images, tiny_hierarchy, write

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def podman(registry_addr: str) -> Iterator[dict[str, str]]:
    """DOCKER_HOST of a private Podman service (started when not running; `scripts/engine
    down` stops it with the rest)."""
    run = subprocess.run([str(ROOT / "scripts/engine"), "up", "--podman"], capture_output=True, text=True,
                         timeout=600)
    if run.returncode != 0:
        msg = f"Podman could not be started: {run.stderr[-1000:]}"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    host = run.stdout.strip().rpartition("=")[2]
    yield {"DOCKER_HOST": host}


def containers(env: dict[str, str]) -> list[str]:
    sock = env["DOCKER_HOST"].removeprefix("unix://")
    out = subprocess.run(["curl", "-fsS", "--unix-socket", sock, "http://podman/v1.41/containers/json?all=1"],
                         capture_output=True, text=True, check=True).stdout
    return [c["Id"] for c in json.loads(out)]


def all_tags(prefix: str, image: str) -> list[str]:
    host, _, path = f"{prefix}/{image}".partition("/")
    with urllib.request.urlopen(f"http://{host}/v2/{path}/tags/list", timeout=10) as r:
        return list(json.load(r)["tags"])


def version_tags(prefix: str, image: str) -> list[str]:
    """The release tags (candidates and the SBOMs published beside releases left out)."""
    return sorted(t for t in all_tags(prefix, image) if not t.startswith(("candidate-", "sha256-")))


@pytest.fixture()
def tree(tmp_path: Path, podman: dict[str, str]) -> Iterator[tuple[Path, str]]:
    # `localhost:<port>` of the test registry: scripts/engine tells Podman that name speaks HTTP
    prefix = f"localhost:{REGISTRY_ADDR.rpartition(':')[2]}/pm{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    tiny_hierarchy(root, registry=prefix)
    write(root / "images/intermediate/mid/Dockerfile.test",
          "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN echo layer > /tmp/layer\n")
    config = root / "bbc.yaml"
    text = config.read_text()
    config.write_text(text.replace(
        "  mid:\n    path: images/intermediate/mid\n",
        "  mid:\n    path: images/intermediate/mid\n    test:\n      layer: Dockerfile.test\n"
        '      command: ["sh", "-c", "test -f /tmp/layer && grep -q mid /tmp/chain"]\n'
        "      expect: {user: non-root, files: [/bin/busybox], absent: [/usr/bin/gcc]}\n"))
    yield root, prefix
    import docker

    client = docker.DockerClient(base_url=podman["DOCKER_HOST"])
    try:
        remove_images(client, prefix)
    finally:
        client.close()


def test_build_test_release_and_status_on_podman(podman: dict[str, str], tree: tuple[Path, str]) -> None:
    root, prefix = tree
    before = set(containers(podman))
    built = ok(bbc(root, "build", env=podman)).out
    assert "[base] built 1.0.0" in built and "[a1] built 0.1.0" in built
    assert "all 5 images up to date" in ok(bbc(root, "build", env=podman)).out
    tested = ok(bbc(root, "test", env=podman)).out
    # mid's test runs on mid and, inherited, on a1 and a2, each in the sandwich
    assert [line.split()[:3] for line in tested.splitlines() if line.startswith(("mid ", "a1 ", "a2 "))] == [
        ["mid", "own", "passed"], ["a1", "mid", "passed"], ["a2", "mid", "passed"]]
    assert set(containers(podman)) == before  # every test container removed
    ok(bbc(root, "release", env=podman))
    assert version_tags(prefix, "mid") == ["1", "1.2", "1.2.0", "latest"]
    assert any(t.startswith("sha256-") for t in all_tags(prefix, "mid"))  # the SBOM, read through Podman's export
    status = ok(bbc(root, "status", env=podman)).out
    assert all("released" in line for line in status.splitlines()[1:]), status


def test_a_parent_written_out_in_from_builds_on_the_exact_parent_on_podman(podman: dict[str, str],
                                                                         tree: tuple[Path, str]) -> None:
    root, prefix = tree
    write(root / "images/app/a1/Dockerfile", "FROM nowhere.invalid/mid:1 AS build\nRUN cp /tmp/chain /tmp/seen\n"
                                             "FROM nowhere.invalid/mid:1\nCOPY --from=build /tmp/seen /tmp/seen\n")
    config = root / "bbc.yaml"
    config.write_text(config.read_text().replace("    parent: mid\n    version: 0.1.0\n",
                                                 "    parent: mid\n    parent_ref: nowhere.invalid/mid:1\n"
                                                 "    version: 0.1.0\n", 1))
    ok(bbc(root, "build", "a1", env=podman))
    import docker

    client = docker.DockerClient(base_url=podman["DOCKER_HOST"])
    try:
        seen = client.containers.run(f"{prefix}/a1:0.1.0", ["cat", "/tmp/seen"], remove=True, network_mode="none")
    finally:
        client.close()
    assert seen == b"mid\n"  # both FROMs were bbc's build of mid (nowhere.invalid exists nowhere)
