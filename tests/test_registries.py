"""The registry in the real world (issue 22), on the real engine and real docker-registry
(distribution) instances: TLS signed by the org's CA with htpasswd, token auth, a network that
resets, 503s, 429s and slows, and a pull-through mirror standing in for Docker Hub."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbc.adapters.registry import auth, transport
from bbc.adapters.registry.client import OCI_INDEX, Registry as Client
from tests.cli import bbc, ok
from tests.helpers import remove_images, tiny_hierarchy, write
from tests.registries import FaultyProxy, Registry, TestCA, TokenServer, docker_config, htpasswd, installed_ca
from tests.registry_server import RegistryServer

pytestmark = pytest.mark.docker
USER, SECRET = "ci-bot", "s3cr3t-pa55-22"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture(autouse=True)
def fresh_transport() -> Iterator[None]:
    """Registries of these tests come and go on reused ports: no pool, scheme or token outlives one."""
    transport.reset()
    auth.forget_tokens()
    yield
    transport.reset()
    auth.forget_tokens()


def released(run: Any) -> dict[str, str]:
    return {r["image"]: r["result"] for r in json.loads(run.out)}


def test_release_to_a_tls_registry_with_htpasswd_and_credentials_only_in_docker_config(
        tmp_path: Path, ca: TestCA, docker_client: Any) -> None:
    reg = Registry(tmp_path / "reg", tls=ca.server_cert("tls"),
                   auth={"htpasswd": {"realm": "acme", "path": str(htpasswd(tmp_path / "htpasswd", USER, SECRET))}})
    reg.start()
    prefix = f"{reg.addr}/acme{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    tiny_hierarchy(root, registry=prefix)
    good = {"DOCKER_CONFIG": str(docker_config(tmp_path / "good", reg.addr, USER, SECRET))}
    try:
        with installed_ca(reg.addr, ca.cert) as installed:
            # a CA that did not sign the registry's certificate: one line naming the host and the file
            other = TestCA(tmp_path / "other", "another CA")
            installed.write_bytes(other.cert.read_bytes())
            run = bbc(root, "release", "--no-test", env=good)
            assert run.code == 1 and "Traceback" not in run.out + run.err, run.out + run.err
            assert f"registry {reg.addr}: its TLS certificate is not trusted (" in run.err
            assert f"install the CA that signed it as /etc/docker/certs.d/{reg.addr}/ca.crt" in run.err
            assert "nothing was pushed" in run.err
            installed.write_bytes(ca.cert.read_bytes())
            transport.reset()

            # wrong credentials: one line, nothing pushed, the password never printed
            wrong = {"DOCKER_CONFIG": str(docker_config(tmp_path / "wrong", reg.addr, USER, "not-the-pa55"))}
            run = bbc(root, "release", "--no-test", env=wrong)
            assert run.code == 1 and "Traceback" not in run.out + run.err, run.out + run.err
            assert f"registry {reg.addr}: " in run.err and "authentication failed (401)" in run.err
            assert "nothing was pushed" in run.err and "not-the-pa55" not in run.out + run.err
            assert not [i for i in docker_client.images.list() for t in i.tags if t.startswith(prefix)]

            run = ok(bbc(root, "release", "--no-test", "--format", "json", env=good))
            assert released(run) == dict.fromkeys(("base", "mid", "a1", "a2", "b1"), "released")
            assert SECRET not in run.out + run.err
            client = Client(reg.addr, auth={"username": USER, "password": SECRET})
            assert client.scheme == "https"
            repository = prefix.partition("/")[2]
            assert {"1.0.0", "1.0", "1", "latest"} <= set(client.tags(f"{repository}/base"))
            # and the SBOM beside it, published over the same TLS and credentials
            base = client.manifest(f"{repository}/base", "1.0.0")
            assert base is not None and base.digest.replace(":", "-") in client.tags(f"{repository}/base")
    finally:
        reg.stop()
        remove_images(docker_client, prefix)


CREDENTIAL_HELPER = """#!/bin/sh
# the docker-credential-helpers protocol: `get` reads the server on stdin, prints the secret as JSON
case "$1" in
  get) read server; printf '{"ServerURL":"%s","Username":"USER","Secret":"SECRET"}' "$server" ;;
  *) exit 1 ;;
esac
"""


def test_token_auth_release_with_a_credential_helper_gives_the_engine_the_same_credentials(
        tmp_path: Path, docker_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = TokenServer(tmp_path / "tokens", {USER: SECRET})
    tokens.start()
    reg = Registry(tmp_path / "reg", auth=tokens.registry_auth())
    reg.start()
    prefix = f"{reg.addr}/tok{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    tiny_hierarchy(root, registry=prefix)
    helper = write(tmp_path / "bin/docker-credential-bbctest",
                   CREDENTIAL_HELPER.replace("USER", USER).replace("SECRET", SECRET))
    helper.chmod(0o755)
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"credHelpers": {reg.addr: "bbctest"}}))
    env = {"DOCKER_CONFIG": str(config), "PATH": f"{tmp_path / 'bin'}:{__import__('os').environ['PATH']}"}
    try:
        run = ok(bbc(root, "release", "--no-test", "--format", "json", env=env))
        assert released(run) == dict.fromkeys(("base", "mid", "a1", "a2", "b1"), "released")
        # dockerd cannot run a credential helper: it pushed with what bbc resolved (X-Registry-Auth)
        engine = [(who, scope) for agent, who, scope in tokens.asked if agent.startswith("docker/")]
        ours = [(who, scope) for agent, who, scope in tokens.asked if agent.startswith("python-urllib3")]
        assert engine and all(who == USER for who, _ in engine), tokens.asked
        assert ours and all(who == USER for who, _ in ours), tokens.asked
        # each token reused while it lives: no scope asked twice by bbc in one run
        assert len(ours) == len(set(ours)), ours

        # in this process too, and asked again once it expired
        monkeypatch.setenv("DOCKER_CONFIG", env["DOCKER_CONFIG"])
        monkeypatch.setenv("PATH", env["PATH"])
        repository = f"{prefix.partition('/')[2]}/base"
        before = len(tokens.asked)
        client = Client(reg.addr)
        assert "1.0.0" in client.tags(repository) and client.digest(repository, "1.0.0") is not None
        assert Client(reg.addr).manifest(repository, "1.0.0") is not None
        assert len(tokens.asked) == before + 1
        now = auth.clock()
        monkeypatch.setattr(auth, "clock", lambda: now + tokens.lifetime + 1)
        assert "1.0.0" in Client(reg.addr).tags(repository)
        assert len(tokens.asked) == before + 2
    finally:
        reg.stop()
        tokens.stop()
        remove_images(docker_client, prefix)


@pytest.fixture()
def faulty(server: RegistryServer) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(server.addr)
    proxy.start()
    yield proxy
    proxy.stop()


def test_a_multi_platform_release_and_its_sboms_through_a_faulty_network(
        tmp_path: Path, server: RegistryServer, faulty: FaultyProxy, docker_client: Any) -> None:
    from bbc.model import platforms as platforms_mod
    from tests.test_platforms import two_platform_hierarchy

    problem = platforms_mod.emulation_problem("linux/arm64")
    if problem:
        from tests.conftest import IN_CI

        if IN_CI:
            pytest.fail(f"CI=true: {problem}", pytrace=False)
        pytest.skip(problem)
    prefix = f"{faulty.addr}/flaky{uuid.uuid4().hex[:6]}"
    root = tmp_path / "repo"
    two_platform_hierarchy(root, prefix)
    direct = Client(server.addr)  # the registry itself, behind the proxy
    repository = prefix.partition("/")[2]
    release = ("release", "--no-test", "-j", "2", "--format", "json")
    try:
        # everything through a network that spoils a third of the connections: dockerd's pushes
        # (8 to 27 connections each, none retried inside dockerd but its layer uploads) need 5 to
        # 13 tries, bbc's own calls their retries; whatever happens, no release tag moves, and a
        # second run (the network as faulty) finishes the release
        first = bbc(root, *release, timeout=1500)
        assert "Traceback" not in first.out + first.err, first.out + first.err
        if first.code != 0:
            assert "no release tag was moved" in first.err, first.err
            for name in ("base", "app"):
                assert not {"1.0.0", "0.1.0", "1", "0", "latest"} & set(direct.tags(f"{repository}/{name}"))
            spoiled = sum(faulty.faults.values())
            second = bbc(root, *release, timeout=1500)
            assert "Traceback" not in second.out + second.err, second.out + second.err
            assert second.code == 0, second.out + second.err
            assert sum(faulty.faults.values()) > spoiled, faulty.faults  # it was faulty for this run too
            first = second
        assert sum(faulty.faults.values()) > 0, faulty.faults  # the network did spoil connections
        assert released(first) == {"base": "released", "app": "released"}
        for name, version in (("base", "1.0.0"), ("app", "0.1.0")):
            index = direct.manifest(f"{repository}/{name}", version)
            assert index is not None and index.media_type == OCI_INDEX
            assert direct.digest(f"{repository}/{name}", "latest") == index.digest
            # each platform's SBOM a referrer of its image, listed at the referrers tag schema's tag
            listed = [t for t in direct.tags(f"{repository}/{name}") if t.startswith("sha256-")]
            assert sorted(listed) == sorted(e["digest"].replace(":", "-") for e in index.json()["manifests"])
    finally:
        remove_images(docker_client, prefix)


def test_plan_resolves_ubuntu_through_a_mirror_and_rebuilds_when_its_tag_moves(
        tmp_path: Path, docker_client: Any, registry_addr: str) -> None:
    from tests.test_bases import cat, publish_upstream

    hub = RegistryServer(tmp_path / "hub")  # stands in for docker.io, which bbc never reaches here
    hub.start()
    mirror = Registry(tmp_path / "mirror", proxy=f"http://{hub.addr}")  # a pull-through cache of it
    mirror.start()
    prefix = f"{registry_addr}/mirrored{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    write(root / "images/root/os/Dockerfile", "FROM ubuntu:24.04\nRUN cp /etc/upstream /etc/root-saw\n")
    write(root / "images/app/svc/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN cp /etc/upstream /etc/svc-saw\n")
    write(root / "bbc.yaml", f"""\
registry: {prefix}
defaults: {{network: host}}
mirrors:
  docker.io: [{mirror.addr}]
mirrors_only: true
images:
  os: {{path: images/root/os, version: 1.0.0}}
  svc: {{path: images/app/svc, parent: os, version: 0.1.0}}
""")
    ubuntu = f"{hub.addr}/library/ubuntu:24.04"
    try:
        first = publish_upstream(docker_client, ubuntu, "v1", tmp_path)
        steps = {s["image"]: s for s in json.loads(ok(bbc(root, "plan", "--format", "json")).out)["steps"]
                 if s["kind"] == "build"}
        assert steps["os"]["action"] == "build"
        out = ok(bbc(root, "build")).out
        assert f"[os] pulled ubuntu@{first[:19]} from mirror {mirror.addr}" in out
        assert "[os] built 1.0.0" in out and "[svc] built 0.1.0" in out
        assert cat(docker_client, f"{prefix}/svc:0.1.0", "/etc/svc-saw") == "v1"
        built = docker_client.images.get(f"{prefix}/os:1.0.0").labels
        assert built["org.opencontainers.image.base.name"] == "ubuntu:24.04"
        assert built["org.opencontainers.image.base.digest"] == first
        assert f"{mirror.addr}/library/ubuntu@{first}" in docker_client.images.get("ubuntu:24.04").attrs["RepoDigests"]
        assert "all 2 images up to date" in ok(bbc(root, "build")).out

        second = publish_upstream(docker_client, ubuntu, "v2", tmp_path)  # the tag moves behind the mirror
        steps = {s["image"]: s for s in json.loads(ok(bbc(root, "plan", "--format", "json")).out)["steps"]
                 if s["kind"] == "build"}
        assert f"base ubuntu:24.04 moved ({first[:19]}… -> {second[:19]}…)" in steps["os"]["reasons"]
        assert steps["svc"]["action"] == "build"
        outdated = bbc(root, "outdated", "--format", "json")
        assert [(r["base"], r["status"]) for r in json.loads(outdated.out)["bases"]] == [("ubuntu:24.04", "outdated")]
        out = ok(bbc(root, "build")).out
        assert "[os] built 1.0.0" in out and cat(docker_client, f"{prefix}/svc:0.1.0", "/etc/svc-saw") == "v2"

        # a tag no mirror holds: one line saying where bbc looked (never docker.io: mirrors_only)
        write(root / "images/root/os/Dockerfile", "FROM ubuntu:99.04\n")
        run = bbc(root, "plan")
        assert run.code == 1 and "Traceback" not in run.err
        assert (f"images/root/os/Dockerfile:1: base ubuntu:99.04: mirror {mirror.addr} has no tag 99.04, "
                "and the engine holds no copy of it") in run.err
    finally:
        mirror.stop()
        hub.stop()
        remove_images(docker_client, prefix)
        remove_images(docker_client, hub.addr)
        remove_images(docker_client, mirror.addr)
        for tag in ("ubuntu:24.04",):
            try:
                docker_client.images.remove(tag)
            except Exception:
                pass


def test_an_engine_s_own_registry_mirror_is_where_docker_io_bases_are_resolved_and_pulled(
        tmp_path: Path, docker_client: Any, registry_addr: str) -> None:
    # issue 22: bbc.yaml names no mirror; the engine was started with --registry-mirror (its
    # /info says so). bbc resolves ubuntu:24.04 there, the engine pulls it from there, and a tag
    # moved on the mirror is a rebuild. Docker Hub itself is never reachable here.
    import os
    import shutil
    import tempfile

    from tests.conftest import Engine
    from tests.registry_server import free_port
    from tests.test_bases import cat, publish_upstream

    mirror = RegistryServer(tmp_path / "mirror")  # stands in for a pull-through cache of Docker Hub
    mirror.start()
    folder = Path(tempfile.mkdtemp(prefix="bbc-mirrored-", dir="/var/tmp"))
    engine = Engine(folder, f"unix://{folder}/docker.sock",
                    {**os.environ, "BBC_ENGINE_DIR": str(folder),
                     "BBC_REGISTRY_ADDR": f"127.0.0.1:{free_port()}",
                     "BBC_DOCKERD_ARGS": f"--registry-mirror=http://{mirror.addr}"})
    prefix = f"{registry_addr}/enginemirror{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    write(root / "images/root/os/Dockerfile", "FROM ubuntu:24.04\nRUN cp /etc/upstream /etc/root-saw\n")
    write(root / "bbc.yaml", f"""\
registry: {prefix}
defaults: {{network: host}}
images:
  os: {{path: images/root/os, version: 1.0.0}}
""")
    ubuntu = f"{mirror.addr}/library/ubuntu:24.04"
    there = {"DOCKER_HOST": engine.host}
    import docker

    try:
        up = engine.script("up")
        assert up.returncode == 0, up.stderr
        client = docker.DockerClient(base_url=engine.host)
        assert f"http://{mirror.addr}/" in client.info()["RegistryConfig"]["Mirrors"]
        first = publish_upstream(docker_client, ubuntu, "v1", tmp_path)
        out = ok(bbc(root, "build", env=there)).out
        assert "[os] built 1.0.0" in out, out
        built = client.images.get(f"{prefix}/os:1.0.0")
        assert built.labels["org.opencontainers.image.base.digest"] == first
        assert cat(client, f"{prefix}/os:1.0.0", "/etc/root-saw") == "v1"
        assert ok(bbc(root, "build", env=there)).out == "the image is up to date\n"

        second = publish_upstream(docker_client, ubuntu, "v2", tmp_path)  # the mirror's tag moves
        plan = json.loads(ok(bbc(root, "plan", "--format", "json", env=there)).out)
        [os_step] = [s for s in plan["steps"] if s["kind"] == "build"]
        assert f"base ubuntu:24.04 moved ({first[:19]}… -> {second[:19]}…)" in os_step["reasons"], os_step
        ok(bbc(root, "build", env=there))
        assert cat(client, f"{prefix}/os:1.0.0", "/etc/root-saw") == "v2"
        client.close()
    finally:
        engine.script("down")
        shutil.rmtree(folder, ignore_errors=True)
        mirror.stop()
        remove_images(docker_client, mirror.addr)
