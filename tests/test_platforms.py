"""Multi-platform images on the real engine (arm64 under QEMU user emulation) and a real registry:
one build per platform, tests per platform, one OCI index per released version."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbc import config as config_mod
from bbc.model import platforms
from bbc.errors import ConfigError
from bbc.adapters.registry.client import OCI_INDEX, Registry
from tests.cli import bbc, ok
from tests.conftest import IN_CI
from tests.helpers import remove_images, write
from tests.registry_server import RegistryServer

ROOT_DOCKERFILE = """\
FROM scratch
ARG TARGETARCH
COPY busybox-${TARGETARCH} /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /tmp /etc && chmod 1777 /tmp && echo "$TARGETARCH" > /etc/arch && \\
    echo 'app:x:1000:1000::/tmp:/bin/sh' > /etc/passwd && echo 'app:x:1000:' > /etc/group
USER 1000
"""
# passes only where the machine the container sees is the platform the image was built for
SAME_MACHINE = 'case "$(cat /etc/arch) $(uname -m)" in "amd64 x86_64"|"arm64 aarch64") ;; *) exit 1 ;; esac'


def foreign_busybox(arch: str) -> Path:
    """A static busybox for `arch`, from Debian's busybox-static:<arch> (cached in /var/tmp)."""
    cached = Path(f"/var/tmp/bbc-cache/busybox-{arch}")
    if cached.is_file():
        return cached
    with tempfile.TemporaryDirectory() as tmp:
        try:
            foreign = subprocess.run(["dpkg", "--print-foreign-architectures"], capture_output=True, text=True,
                                     check=True).stdout.split()
            if arch not in foreign:
                subprocess.run(["dpkg", "--add-architecture", arch], check=True)
                subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
            subprocess.run(["apt-get", "download", "-q", f"busybox-static:{arch}"], cwd=tmp, check=True,
                           capture_output=True)
            deb = next(Path(tmp).glob("busybox-static_*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(deb), f"{tmp}/x"], check=True)
        except (subprocess.CalledProcessError, StopIteration, OSError) as exc:
            why = f"busybox-static:{arch} could not be fetched ({exc})"
            if IN_CI:
                pytest.fail(f"CI=true: {why}", pytrace=False)
            pytest.skip(why)
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f"{tmp}/x/bin/busybox", cached)
    return cached


@pytest.fixture(scope="module")
def emulated() -> None:
    problem = platforms.emulation_problem("linux/arm64")
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true: {problem}", pytrace=False)
        pytest.skip(problem)


def two_platform_hierarchy(root: Path, registry: str, *, child_platforms: str = "") -> Path:
    ctx = root / "images/root/base"
    write(ctx / "Dockerfile", ROOT_DOCKERFILE)
    shutil.copy2(shutil.which("busybox") or "/bin/busybox", ctx / "busybox-amd64")
    shutil.copy2(foreign_busybox("arm64"), ctx / "busybox-arm64")
    write(root / "images/app/app/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN uname -m > /tmp/built-on\n")
    return write(root / "bbc.yaml", f"""\
        registry: {registry}
        defaults:
          network: host
        images:
          base:
            path: images/root/base
            version: 1.0.0
            platforms: [linux/amd64, linux/arm64]
            test:
              command: ["/bin/sh", "-c", {json.dumps(SAME_MACHINE)}]
              network: none
          app:
            path: images/app/app
            parent: base
            version: 0.1.0
        """ + child_platforms)


@pytest.fixture()
def repo(tmp_path: Path, server: RegistryServer, docker_client: Any, emulated: None) -> Iterator[tuple[Path, str]]:
    prefix = f"{server.addr}/mp{uuid.uuid4().hex[:6]}"
    root = tmp_path / "repo"
    two_platform_hierarchy(root, prefix)
    yield root, prefix
    remove_images(docker_client, prefix)


@pytest.mark.docker
def test_two_platforms_build_test_and_release_one_index(repo: tuple[Path, str], docker_client: Any,
                                                        server: RegistryServer, tmp_path: Path) -> None:
    root, prefix = repo
    built = json.loads(ok(bbc(root, "build", "-j", "2", "--format", "json", timeout=900)).out)
    assert {r["image"] for r in built if r["result"] == "built"} == {"base@amd64", "base@arm64", "app@amd64",
                                                                     "app@arm64"}
    for arch, machine in (("amd64", "x86_64"), ("arm64", "aarch64")):
        image = docker_client.images.get(f"{prefix}/app:0.1.0-{arch}")
        assert image.attrs["Architecture"] == arch
        assert image.labels["bbc.platform"] == f"linux/{arch}" and image.labels["bbc.image"] == "app"
        # each platform's child is built on the parent's build for the same platform
        assert image.labels["bbc.parent.id"] == docker_client.images.get(f"{prefix}/base:1.0.0-{arch}").id
        out = docker_client.containers.run(image.id, ["cat", "/tmp/built-on"], remove=True, network_mode="none")
        assert out.decode().strip() == machine
    # the plain tags name the build for this machine
    native = platforms.slug(platforms.native())
    assert docker_client.images.get(f"{prefix}/app:0.1.0").id == docker_client.images.get(
        f"{prefix}/app:0.1.0-{native}").id
    assert ok(bbc(root, "build")).out.strip() == "all 4 images up to date"

    junit = tmp_path / "junit.xml"
    tested = json.loads(ok(bbc(root, "test", "--format", "json", "--junit-xml", str(junit), timeout=900)).out)
    assert {r["image"]: r["result"] for r in tested} == {
        "base@amd64": "passed", "base@arm64": "passed", "app@amd64": "passed", "app@arm64": "passed"}
    assert 'name="app@arm64"' in junit.read_text()

    steps = [s["id"] for s in json.loads(ok(bbc(root, "plan", "--release", "--format", "json")).out)["steps"]]
    assert [s for s in steps if s.startswith("push-candidate:")] == [
        "push-candidate:base@amd64", "push-candidate:base@arm64", "push-candidate:app@amd64",
        "push-candidate:app@arm64"]
    # one platform alone would make X.Y.Z an index without the other, for good: refused
    alone = bbc(root, "release", "base@arm64")
    assert alone.code == 1 and "a release holds every platform of base" in alone.err, alone.out + alone.err
    assert Registry(server.addr).tags(f"{prefix.partition('/')[2]}/base") == []
    released = json.loads(ok(bbc(root, "release", "--format", "json", timeout=900)).out)
    assert {r["image"]: r["result"] for r in released} == {"base": "released", "app": "released"}
    # an SBOM per platform, referring to that platform's image (beside it: distribution 2.8 has no referrers API)
    assert {name: sorted(r["sbom"]) for name, r in ((r["image"], r) for r in released)} == {
        "base": ["base@amd64", "base@arm64"], "app": ["app@amd64", "app@arm64"]}
    reg = Registry(server.addr)
    for name, version in (("base", "1.0.0"), ("app", "0.1.0")):
        repository = f"{prefix.partition('/')[2]}/{name}"
        index = reg.manifest(repository, version)
        assert index is not None and index.media_type == OCI_INDEX
        entries = index.json()["manifests"]
        assert [e["platform"] for e in entries] == [{"architecture": "amd64", "os": "linux"},
                                                   {"architecture": "arm64", "os": "linux"}]
        for entry, arch in zip(entries, ("amd64", "arm64")):
            there = reg.labels_if_present(repository, entry["digest"])
            local = docker_client.images.get(f"{prefix}/{name}:{version}-{arch}").labels
            assert there is not None and there["bbc.fingerprint"] == local["bbc.fingerprint"]
        assert reg.manifest(repository, "latest").digest == index.digest  # floating tags name the index
    first = {name: reg.manifest(f"{prefix.partition('/')[2]}/{name}", v).digest
             for name, v in (("base", "1.0.0"), ("app", "0.1.0"))}

    # nothing changed: nothing pushed, the same index digests (X.Y.Z is write-once)
    again = json.loads(ok(bbc(root, "release", "--format", "json", timeout=900)).out)
    assert {r["image"]: (r["result"], r["digest"]) for r in again} == {
        name: ("already released", digest) for name, digest in first.items()}
    assert {name: reg.manifest(f"{prefix.partition('/')[2]}/{name}", v).digest
            for name, v in (("base", "1.0.0"), ("app", "0.1.0"))} == first
    rows = json.loads(ok(bbc(root, "status", "--format", "json")).out)
    assert {r["image"]: r["registry"] for r in rows} == {
        "base@amd64": "released", "base@arm64": "released", "app@amd64": "released", "app@arm64": "released"}
    chain = json.loads(ok(bbc(root, "ancestry", f"{prefix}/app:0.1.0-arm64", "--format", "json")).out)
    assert [(c["image"], c["platform"]) for c in chain] == [("app", "linux/arm64"), ("base", "linux/arm64")]

    # a fresh machine pulls each platform's exact build instead of building it
    remove_images(docker_client, prefix)
    pulled = json.loads(ok(bbc(root, "build", "--format", "json", timeout=900)).out)
    assert {r["image"]: r["result"] for r in pulled} == {
        "base@amd64": "pulled", "base@arm64": "pulled", "app@amd64": "pulled", "app@arm64": "pulled"}
    assert docker_client.images.get(f"{prefix}/app:0.1.0-arm64").attrs["Architecture"] == "arm64"


@pytest.mark.docker
def test_a_child_may_narrow_its_parents_platforms(repo: tuple[Path, str], docker_client: Any) -> None:
    root, prefix = repo
    text = (root / "bbc.yaml").read_text() + "    platform: linux/arm64\n"
    (root / "bbc.yaml").write_text(text)
    units = platforms.expand(config_mod.load_hierarchy(root / "bbc.yaml"))
    assert units.order == ("base@amd64", "base@arm64", "app")
    assert units["app"].parent == "base@arm64"
    ok(bbc(root, "build", "app", timeout=900))
    assert docker_client.images.get(f"{prefix}/app:0.1.0").attrs["Architecture"] == "arm64"


def test_a_child_widening_its_parents_platforms_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root / "images/root/base/Dockerfile", "FROM scratch\n")
    write(root / "images/app/app/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n")
    write(root / "bbc.yaml", """\
        registry: localhost:5000/t
        images:
          base:
            path: images/root/base
            version: 1.0.0
            platforms: [linux/amd64]
          app:
            path: images/app/app
            parent: base
            version: 0.1.0
            platforms: [linux/amd64, linux/arm64]
        """)
    with pytest.raises(ConfigError) as info:
        config_mod.load(root / "bbc.yaml")
    assert info.value.problems == [
        "bbc.yaml:11: images.app.platforms: parent 'base' is not built for linux/arm64 (only for linux/amd64); "
        "a child may narrow its parent's platforms, never widen them"]
    run = bbc(root, "build")
    assert run.code == 1 and "not built for linux/arm64" in run.err


def test_a_cross_compiling_child_builds_on_the_parent_for_the_build_platform(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root / "images/root/base/Dockerfile", "FROM scratch\n")
    write(root / "images/app/app/Dockerfile", textwrap.dedent("""\
        ARG SOURCE_IMAGE
        FROM --platform=$BUILDPLATFORM ${SOURCE_IMAGE} AS build
        FROM scratch
        """))
    write(root / "bbc.yaml", """\
        registry: localhost:5000/t
        images:
          base: {path: images/root/base, version: 1.0.0}
          app:
            path: images/app/app
            parent: base
            version: 0.1.0
            platforms: [linux/amd64, linux/arm64]
        """)
    units = platforms.expand(config_mod.load_hierarchy(root / "bbc.yaml"))
    assert units.order == ("base", "app@amd64", "app@arm64")
    shown = {i["name"]: i["platforms"] for i in json.loads(ok(bbc(root, "graph", "--format", "json")).out)["images"]}
    assert shown == {"base": [], "app": ["linux/amd64", "linux/arm64"]}
    assert units["app@arm64"].parent == "base" and units["app@arm64"].platform == "linux/arm64"


def test_platform_values_are_checked_where_written(tmp_path: Path) -> None:
    write(tmp_path / "images/root/base/Dockerfile", "FROM scratch\n")
    write(tmp_path / "bbc.yaml", """\
        registry: localhost:5000/t
        images:
          base:
            path: images/root/base
            version: 1.0.0
            platforms: [linux/amd64, arm64, linux/amd64]
        """)
    with pytest.raises(ConfigError) as info:
        config_mod.load(tmp_path / "bbc.yaml")
    assert info.value.problems == [
        "bbc.yaml:6: images.base.platforms: 'arm64' is not a platform: os/arch or os/arch/variant, e.g. "
        "linux/amd64, linux/arm/v7",
        "bbc.yaml:6: images.base.platforms: linux/amd64 is listed twice"]


def test_a_hierarchy_without_several_platforms_is_planned_as_before(tmp_path: Path) -> None:
    write(tmp_path / "images/root/base/Dockerfile", "FROM scratch\n")
    write(tmp_path / "bbc.yaml", """\
        registry: localhost:5000/t
        images:
          base: {path: images/root/base, version: 1.0.0, platform: linux/arm64}
        """)
    hierarchy = config_mod.load_hierarchy(tmp_path / "bbc.yaml")
    assert platforms.expand(hierarchy) is hierarchy
    assert hierarchy["base"].platforms == ("linux/arm64",) and hierarchy["base"].platform == "linux/arm64"


def test_a_machine_without_emulation_is_told_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platforms, "BINFMT", str(tmp_path))
    foreign = "linux/arm64" if platforms.native() != "linux/arm64" else "linux/amd64"
    assert "binfmt_misc is not mounted" in (platforms.emulation_problem(foreign) or "")
    (tmp_path / "register").write_text("")
    assert "apt-get install qemu-user-static binfmt-support" in (platforms.emulation_problem(foreign) or "")
    qemu = "qemu-aarch64" if foreign == "linux/arm64" else "qemu-x86_64"
    (tmp_path / qemu).write_text("disabled\ninterpreter /usr/bin/x\nflags: PF\n")
    assert f"update-binfmts --enable {qemu}" in (platforms.emulation_problem(foreign) or "")
    (tmp_path / qemu).write_text("enabled\ninterpreter /usr/bin/x\nflags: P\n")
    assert "without the F flag" in (platforms.emulation_problem(foreign) or "")
    (tmp_path / qemu).write_text("enabled\ninterpreter /usr/bin/x\nflags: PF\n")
    assert platforms.emulation_problem(foreign) is None
    assert platforms.emulation_problem(platforms.native()) is None
    assert os.path.exists(tmp_path / "register")


@pytest.mark.docker
def test_rollout_pins_the_index_of_a_multi_platform_release(repo: tuple[Path, str], server: RegistryServer,
                                                            tmp_path: Path) -> None:
    from tests.commands.test_rollout import project

    root, prefix = repo
    ok(bbc(root, "release", timeout=900))
    index = Registry(server.addr).manifest(f"{prefix.partition('/')[2]}/app", "0.1.0")
    assert index is not None and index.media_type == OCI_INDEX
    svc = project(tmp_path / "svc", {"Dockerfile": f"FROM {prefix}/app:0.0.1@sha256:{'0' * 64}\n"})
    with open(root / "bbc.yaml", "a", encoding="utf-8") as f:
        f.write(f"projects:\n  svc:\n    repo: {svc}\n    images: [app]\n")
    ok(bbc(root, "rollout", "app", timeout=600))
    pinned = subprocess.run(["git", "show", "bbc/app-0.1.0:Dockerfile"], cwd=svc, capture_output=True, text=True,
                            check=True).stdout
    assert pinned == f"FROM {prefix}/app:0.1.0@{index.digest}\n"  # the index: every platform's build
