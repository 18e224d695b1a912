"""A pool of engines: the project's dockerd and a second private one, the local registry as
the exchange. Builds spread over both, parents move between them by fingerprint, a second run
finds everything up to date on whichever engine holds it, an engine killed mid-run has its
build placed once on the other, and one that does not answer at start stops everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import bbc, ok
from tests.conftest import Engine
from tests.helpers import remove_images, remove_images_on, tiny_hierarchy
from tests.test_platforms import emulated  # noqa: F401  (a fixture: QEMU for arm64 here)

pytestmark = pytest.mark.docker


@pytest.fixture()
def pool_tree(tmp_path: Path, docker_client: Any, second_engine: Engine,
              registry_addr: str) -> Iterator[tuple[Path, str]]:
    prefix = f"{registry_addr}/pool{uuid.uuid4().hex[:6]}"  # this checkout's registry (BBC_REGISTRY_ADDR)
    root = tmp_path / "h"
    tiny_hierarchy(root, registry=prefix, extra=f"""\
        engines:
          - {os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")}
          - {{host: {second_engine.host}, jobs: 1}}
        """)
    # b1 takes a while: it starts beside mid, so it goes to the second engine
    with (root / "images/app/b1/Dockerfile").open("a") as f:
        f.write(f"RUN sleep 4 && echo {prefix}\n")  # never from the build cache of another test
    try:
        yield root, prefix
    finally:
        remove_images(docker_client, prefix)
        remove_images_on(second_engine.host, prefix)


def summary(out: str) -> dict[str, list[str]]:
    rows = [line.split() for line in out.splitlines()]
    return {r[0]: r[1:] for r in rows if r and r[0] in ("base", "mid", "a1", "a2", "b1")}


def labels_on(host: str, ref: str) -> dict[str, str]:
    import docker

    client = docker.DockerClient(base_url=host)
    try:
        return dict(client.images.get(ref).labels)
    finally:
        client.close()


def test_a_pool_spreads_builds_moves_parents_by_registry_and_keeps_fingerprints(
        pool_tree: tuple[Path, str], second_engine: Engine) -> None:
    root, prefix = pool_tree
    primary = os.environ["DOCKER_HOST"]
    one_engine = {s["image"]: s["fingerprint"] for s in json.loads(ok(bbc(root, "plan", "--format", "json")).out)[
        "steps"] if s["kind"] == "build"}
    run = ok(bbc(root, "build", "-j", "2"))
    rows = summary(run.out)
    assert rows["b1"][-1] == second_engine.host and rows["base"][-1] == primary, run.out
    assert f"[b1] parent base brought from {primary} to {second_engine.host} by the registry" in run.out
    assert "legacy builder" not in (root / ".bbc/logs/b1.log").read_text()  # the moved parent has a tag there
    # the same fingerprints as planned for one engine, on whichever engine built the image
    assert labels_on(second_engine.host, f"{prefix}/b1:2.0.0")["bbc.fingerprint"] == one_engine["b1"]
    assert labels_on(primary, f"{prefix}/mid:1.2.0")["bbc.fingerprint"] == one_engine["mid"]
    # status names the engine of each build; a second run: up to date wherever the build is
    held = {r["image"]: r["engine"] for r in json.loads(ok(bbc(root, "status", "--offline", "--format", "json")).out)}
    assert held == {"base": primary, "mid": primary, "a1": primary, "a2": primary, "b1": second_engine.host}
    assert "all 5 images up to date" in ok(bbc(root, "build")).out
    # a release pushes each candidate from the engine holding it (b1 from the second one)
    released = ok(bbc(root, "release", "--no-test", "--engine", primary, "--engine", second_engine.host)).out
    assert summary(released)["b1"][1] == "released", released
    assert "released" in ok(bbc(root, "status")).out.splitlines()[-1]  # b1's row: in the registry
    as_json = json.loads(ok(bbc(root, "build", "--force", "b1", "--format", "json")).out)
    assert {r["image"]: r["engine"] for r in as_json}["b1"] in (primary, second_engine.host)


def test_an_engine_killed_mid_run_has_its_build_placed_on_the_other(pool_tree: tuple[Path, str],
                                                                     second_engine: Engine) -> None:
    root, prefix = pool_tree
    primary = os.environ["DOCKER_HOST"]
    proc = subprocess.Popen([sys.executable, "-m", "bbc.cli", "build", "-j", "2"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        log = root / ".bbc/logs/b1.log"
        while time.monotonic() < deadline and not (log.exists() and "sleep 4" in log.read_text()):
            time.sleep(0.1)
        os.kill(second_engine.pid(), signal.SIGKILL)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
        up = second_engine.script("up")  # leave it answering for the other tests
        assert up.returncode == 0, up.stderr
    assert proc.returncode == 0, out
    assert f"[b1] engine {second_engine.host} stopped answering; building on {primary} instead" in out
    assert summary(out)["b1"][1] == "built" and summary(out)["b1"][-1] == primary, out


def test_an_engine_that_does_not_answer_at_start_stops_everything(pool_tree: tuple[Path, str],
                                                                  tmp_path: Path) -> None:
    root, _ = pool_tree
    missing = f"unix://{tmp_path}/nothing.sock"
    run = bbc(root, "build", "--engine", os.environ["DOCKER_HOST"], "--engine", missing)
    assert run.code == 1
    assert f"no Docker engine answers at {missing}: connection refused" in run.err
    assert not (root / ".bbc/logs").exists() or not list((root / ".bbc/logs").glob("*.log"))  # nothing built


def test_an_engine_named_by_docker_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           docker_client: Any) -> None:
    import hashlib

    from bbc.adapters.docker.engine import connect
    from bbc.errors import EngineError

    host = os.environ["DOCKER_HOST"]
    meta = tmp_path / "contexts/meta" / hashlib.sha256(b"builder-2").hexdigest() / "meta.json"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"Name": "builder-2", "Metadata": {}, "Endpoints": {"docker": {"Host": host}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    engine = connect("builder-2")
    assert engine.address == host and engine.answers()
    with pytest.raises(EngineError) as err:
        connect("nobody")
    assert err.value.message == f"no docker context named 'nobody' (looked in {tmp_path}/contexts/meta/" \
                                f"{hashlib.sha256(b'nobody').hexdigest()})"


@pytest.fixture()
def arm_pool(tmp_path: Path, docker_client: Any, second_engine: Engine, registry_addr: str,
             emulated: None) -> Iterator[tuple[Path, str]]:
    """A two-platform hierarchy on a pool whose second engine declares linux/arm64 (a second
    private dockerd: its arm64 builds run under QEMU here, as a native arm64 machine's would not)."""
    from tests.test_platforms import two_platform_hierarchy

    prefix = f"{registry_addr}/arm{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    config = two_platform_hierarchy(root, prefix)
    config.write_text(config.read_text() + f"engines:\n  - {os.environ['DOCKER_HOST']}\n"
                                           f"  - {{host: {second_engine.host}, platforms: [linux/arm64]}}\n")
    try:
        yield root, prefix
    finally:
        remove_images(docker_client, prefix)
        remove_images_on(second_engine.host, prefix)


def test_each_platform_builds_on_the_engine_that_builds_it_natively(arm_pool: tuple[Path, str],
                                                                     second_engine: Engine) -> None:
    import docker

    root, prefix = arm_pool
    primary = os.environ["DOCKER_HOST"]
    # one build at a time: both engines are idle at every placement, where the pool's old rule
    # (least loaded, then first listed) put every build on the primary
    run = ok(bbc(root, "build", "-j", "1", timeout=900))
    engines = {image: row[-1] for image, row in
               ((r[0], r[1:]) for r in (line.split() for line in run.out.splitlines())
                if r and "@" in r[0] and not r[0].startswith("["))}
    assert engines == {"base@amd64": primary, "app@amd64": primary,
                       "base@arm64": second_engine.host, "app@arm64": second_engine.host}, run.out
    assert "[app@arm64] built 0.1.0 in" in run.out and run.out.count(f"on {second_engine.host}") == 2, run.out
    assert "by the registry" not in run.out  # each platform's parent is on its own engine already
    for host, arch, machine in ((second_engine.host, "arm64", "aarch64"), (primary, "amd64", "x86_64")):
        client = docker.DockerClient(base_url=host)
        try:
            image = client.images.get(f"{prefix}/app:0.1.0-{arch}")
            assert image.attrs["Architecture"] == arch
            out = client.containers.run(image.id, ["cat", "/tmp/built-on"], remove=True, network_mode="none")
            assert out.decode().strip() == machine
            other = "amd64" if arch == "arm64" else "arm64"
            assert not client.images.list(name=f"{prefix}/app:0.1.0-{other}")  # built on the other engine only
        finally:
            client.close()
    held = {r["image"]: r["engine"] for r in json.loads(ok(bbc(root, "status", "--offline", "--format", "json")).out)}
    assert held == {"base@amd64": primary, "app@amd64": primary,
                    "base@arm64": second_engine.host, "app@arm64": second_engine.host}
