"""External bases on a real engine and registry: an "upstream" image (busybox on scratch,
pushed to the local registry by the test) whose tag moves under a root of the hierarchy."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import bbc, ok
from tests.conftest import busybox_context
from tests.helpers import remove_images, write

pytestmark = pytest.mark.docker


def publish_upstream(client: Any, ref: str, content: str, work: Path) -> str:
    """Build busybox + /etc/upstream=`content`, push it as `ref`; the registry's digest."""
    context = busybox_context(work / f"upstream-{uuid.uuid4().hex[:6]}", user="0")
    with (context / "Dockerfile").open("a") as f:
        f.write(f"RUN echo {content} > /etc/upstream\n")
    repository, _, tag = ref.rpartition(":")
    client.images.build(path=str(context), tag=ref, network_mode="host", rm=True, forcerm=True)
    out = client.images.push(repository, tag=tag)
    assert "error" not in out.lower(), out
    from bbc.adapters.registry.client import Registry

    host, _, path = repository.partition("/")
    manifest = Registry(host).manifest(path, tag)
    assert manifest is not None
    return manifest.digest


@pytest.fixture()
def tree(tmp_path: Path, docker_client: Any, registry_addr: str) -> Iterator[tuple[Path, str, str]]:
    prefix = f"localhost:5000/up{uuid.uuid4().hex[:6]}"
    upstream = f"{prefix}/upstream/os:1"
    root = tmp_path / "h"
    write(root / "images/root/os/Dockerfile", f"# our OS root, on the upstream image\nFROM {upstream}\n"
                                              "RUN cp /etc/upstream /etc/root-saw\n")
    write(root / "images/app/svc/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n"
                                              "RUN cp /etc/upstream /etc/app-saw\n")
    write(root / "bbc.yaml", f"""\
registry: {prefix}/bbc
defaults: {{network: host}}
images:
  os:
    path: images/root/os
    version: 1.0.0
  svc:
    path: images/app/svc
    parent: os
    version: 0.1.0
""")
    try:
        yield root, prefix, upstream
    finally:
        remove_images(docker_client, prefix)


def cat(client: Any, image: str, path: str) -> str:
    return client.containers.run(image, ["cat", path], remove=True, network_mode="none").decode().strip()


def test_a_moved_upstream_tag_rebuilds_the_root_and_everything_below(tree: tuple[Path, str, str],
                                                                     docker_client: Any, tmp_path: Path) -> None:
    root, prefix, upstream = tree
    first = publish_upstream(docker_client, upstream, "v1", tmp_path)
    ok(bbc(root, "build"))
    built = docker_client.images.get(f"{prefix}/bbc/os:1.0.0")
    assert built.labels["org.opencontainers.image.base.name"] == upstream
    assert built.labels["org.opencontainers.image.base.digest"] == first
    assert cat(docker_client, f"{prefix}/bbc/svc:0.1.0", "/etc/app-saw") == "v1"
    assert "all 2 images up to date" in ok(bbc(root, "build")).out

    # upstream pushes new content under the same tag
    second = publish_upstream(docker_client, upstream, "v2", tmp_path)
    docker_client.images.remove(upstream)  # the engine's copy is the old one: the registry must be asked
    plan = {s["image"]: s for s in json.loads(ok(bbc(root, "plan", "--format", "json")).out)["steps"]
            if s["kind"] == "build"}
    assert plan["os"]["action"] == "build"
    assert f"base {upstream} moved ({first[:19]}… -> {second[:19]}…)" in plan["os"]["reasons"]
    assert plan["svc"]["action"] == "build" and "parent os rebuilt" in plan["svc"]["reasons"]
    out = ok(bbc(root, "build")).out
    assert "[os] built 1.0.0" in out and "[svc] built 0.1.0" in out
    assert cat(docker_client, f"{prefix}/bbc/svc:0.1.0", "/etc/app-saw") == "v2"
    assert docker_client.images.get(f"{prefix}/bbc/os:1.0.0").labels[
        "org.opencontainers.image.base.digest"] == second
    assert "all 2 images up to date" in ok(bbc(root, "build")).out


def test_the_build_uses_the_digest_it_fingerprinted(tree: tuple[Path, str, str], docker_client: Any,
                                                    tmp_path: Path) -> None:
    root, prefix, upstream = tree
    first = publish_upstream(docker_client, upstream, "v1", tmp_path)
    publish_upstream(docker_client, upstream, "v2", tmp_path)  # the tag now names v2; the engine holds v2
    # pinned to the first digest: the build gets v1, although the tag (and the engine's copy) is v2
    dockerfile = root / "images/root/os/Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace(upstream, f"{upstream}@{first}"))
    ok(bbc(root, "build"))
    assert cat(docker_client, f"{prefix}/bbc/svc:0.1.0", "/etc/app-saw") == "v1"
    assert docker_client.images.get(f"{prefix}/bbc/os:1.0.0").labels[
        "org.opencontainers.image.base.digest"] == first


def test_an_unreachable_base_is_a_located_error_and_nothing_is_built(tree: tuple[Path, str, str],
                                                                     docker_client: Any) -> None:
    root, prefix, upstream = tree  # never published: neither the registry nor the engine has it
    run = bbc(root, "build")
    assert run.code == 1, run.out + run.err
    assert f"images/root/os/Dockerfile:2: base {upstream}: the registry localhost:5000 has no tag 1" in run.err
    assert not [t for i in docker_client.images.list() for t in i.tags if t.startswith(f"{prefix}/bbc/")]


def test_check_lists_unpinned_bases_and_pin_writes_only_the_digest(tree: tuple[Path, str, str],
                                                                   docker_client: Any, tmp_path: Path) -> None:
    root, prefix, upstream = tree
    digest = publish_upstream(docker_client, upstream, "v1", tmp_path)
    tool = root / "images/app/svc/Dockerfile"
    tool.write_text(f"# the linter comes from upstream too\nARG LINT=\"{prefix}/tools/lint:2\"\nARG SOURCE_IMAGE\r\n"
                    "FROM ${LINT} AS lint\nFROM ${SOURCE_IMAGE}\nCOPY --from=lint /etc/upstream /etc/lint\n")
    lint = publish_upstream(docker_client, f"{prefix}/tools/lint:2", "lint", tmp_path)
    check = ok(bbc(root, "check")).out
    assert f"warn: images/root/os/Dockerfile:2: base {upstream} is not pinned by digest" in check
    assert f"warn: images/app/svc/Dockerfile:4: base {prefix}/tools/lint:2 is not pinned by digest" in check
    assert bbc(root, "pin", "--check").code == 1

    config = root / "bbc.yaml"
    config.write_text(config.read_text() + "policy: {pinned_bases: error}\n")
    assert bbc(root, "check").code == 1
    config.write_text(config.read_text().replace("pinned_bases: error", "pinned_bases: sometimes"))
    bad = bbc(root, "check")
    assert bad.code == 1 and "policy.pinned_bases: must be one of error, warn, off, not 'sometimes'" in bad.err
    config.write_text(config.read_text().replace("pinned_bases: sometimes", "pinned_bases: error"))

    before_os = (root / "images/root/os/Dockerfile").read_text()
    before_tool = tool.read_bytes()
    out = ok(bbc(root, "pin")).out
    assert f"images/root/os/Dockerfile:2: {upstream} -> {upstream}@{digest}" in out
    assert (root / "images/root/os/Dockerfile").read_text() == before_os.replace(upstream, f"{upstream}@{digest}")
    # the ARG default is where the reference lives: only it changes, quotes and CRLF kept
    assert tool.read_bytes() == before_tool.replace(f"{prefix}/tools/lint:2".encode(),
                                                    f"{prefix}/tools/lint:2@{lint}".encode())
    assert ok(bbc(root, "pin", "--check")).out.endswith("every external base is pinned\n")
    assert "not pinned" not in ok(bbc(root, "check")).out
    ok(bbc(root, "build"))
    assert cat(docker_client, f"{prefix}/bbc/svc:0.1.0", "/etc/lint") == "lint"


def test_pin_changes_no_file_when_a_digest_cannot_be_found(tree: tuple[Path, str, str], docker_client: Any,
                                                          tmp_path: Path) -> None:
    root, prefix, upstream = tree
    publish_upstream(docker_client, upstream, "v1", tmp_path)
    svc = root / "images/app/svc/Dockerfile"
    svc.write_text(f"FROM {prefix}/never/published:1 AS tools\n" + svc.read_text())
    files = {p: p.read_bytes() for p in root.rglob("Dockerfile")}
    run = bbc(root, "pin")
    assert run.code == 1 and f"images/app/svc/Dockerfile:1: base {prefix}/never/published:1" in run.err
    assert {p: p.read_bytes() for p in root.rglob("Dockerfile")} == files


def test_a_test_layer_on_an_upstream_tools_image_follows_its_tag(tree: tuple[Path, str, str], docker_client: Any,
                                                                 tmp_path: Path) -> None:
    root, prefix, upstream = tree
    tools = f"{prefix}/tools/t:1"
    publish_upstream(docker_client, upstream, "v1", tmp_path)
    publish_upstream(docker_client, tools, "t1", tmp_path)
    write(root / "images/root/os/Dockerfile.test", f"ARG SOURCE_IMAGE\nFROM {tools} AS tools\n"
                                                   "FROM ${SOURCE_IMAGE}\nCOPY --from=tools /etc/upstream /etc/tools\n")
    config = root / "bbc.yaml"
    config.write_text(config.read_text().replace(
        "    version: 1.0.0\n", "    version: 1.0.0\n    test: {layer: Dockerfile.test, command: [cat, /etc/tools]}\n", 1))
    ok(bbc(root, "test", "os"))
    assert "t1" in (root / ".bbc/logs/os.test.log").read_text()

    publish_upstream(docker_client, tools, "t2", tmp_path)  # only the test layer's base moves
    steps = json.loads(ok(bbc(root, "plan", "os", "--test", "--format", "json")).out)["steps"]
    actions = {s["id"]: s["action"] for s in steps}
    assert actions["build:os"] == "up-to-date" and actions["test-layer:os"] == "build"
    ok(bbc(root, "test", "os"))
    assert "t2" in (root / ".bbc/logs/os.test.log").read_text()


def test_outdated_compares_the_digest_in_use_with_the_registry(tree: tuple[Path, str, str], docker_client: Any,
                                                               tmp_path: Path) -> None:
    root, prefix, upstream = tree
    first = publish_upstream(docker_client, upstream, "v1", tmp_path)
    assert json.loads(ok(bbc(root, "outdated", "--format", "json")).out)["bases"][0]["status"] == "not built"
    ok(bbc(root, "build"))
    rows = json.loads(ok(bbc(root, "outdated", "--format", "json")).out)["bases"]
    assert [(r["image"], r["where"], r["base"], r["in_use"], r["status"]) for r in rows] == [
        ("os", "images/root/os/Dockerfile:2", upstream, first, "current")]
    second = publish_upstream(docker_client, upstream, "v2", tmp_path)
    run = bbc(root, "outdated", "--format", "json")
    assert run.code == 1
    (row,) = json.loads(run.out)["bases"]
    assert (row["in_use"], row["latest"], row["status"]) == (first, second, "outdated")
    ok(bbc(root, "build"))
    assert ok(bbc(root, "outdated")).code == 0
    # a registry that does not answer: exit 2, named
    svc = root / "images/app/svc/Dockerfile"
    svc.write_text("ARG SOURCE_IMAGE\nFROM 127.0.0.1:9/nothing/here:1 AS x\n" + svc.read_text().split("\n", 1)[1])
    run = bbc(root, "outdated")
    assert run.code == 2 and "images/app/svc/Dockerfile:2: 127.0.0.1:9/nothing/here:1: could not ask its registry" \
        in run.out, run.out + run.err


FAKE_APT = """#!/bin/sh
# answers like apt-get: update succeeds, -s upgrade prints what would be installed
[ "$1" = update ] && exit 0
cat <<'OUT'
NOTE: This is only a simulation!
Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.11/stable [all])
Conf libssl3 (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
OUT
"""


def test_outdated_os_runs_the_package_manager_in_a_throwaway_container(tmp_path: Path, docker_client: Any,
                                                                     registry_addr: str) -> None:
    from tests.helpers import container_ids

    prefix = f"localhost:5000/os{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    context = busybox_context(root / "images/root/os", user="1000")
    write(context / "apt-get", FAKE_APT)
    with (context / "Dockerfile").open("a") as f:
        f.write("COPY --chmod=755 apt-get /usr/bin/apt-get\n")
    write(root / "images/app/svc/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n")
    write(root / "bbc.yaml", f"registry: {prefix}\ndefaults: {{network: host}}\nimages:\n"
                             "  os: {path: images/root/os, version: 1.0.0}\n"
                             "  svc: {path: images/app/svc, parent: os, version: 0.1.0}\n")
    try:
        ok(bbc(root, "build", "os"))
        before = container_ids(docker_client)
        run = bbc(root, "outdated", "--os", "--packages", "off", "--format", "json")
        assert run.code == 1, run.out + run.err
        rows = [(r["image"], r["manager"], r["package"], r["current"], r["new"], r["security"], r["status"])
                for r in json.loads(run.out)["os"]]
        assert rows == [
            ("os", "apt", "libssl3", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2", True, "outdated"),
            ("os", "apt", "tzdata", "2024a-0+deb12u1", "2025b-0+deb12u1", False, "outdated"),
            ("svc", "-", "", "", "", False, "not built"),
        ]
        assert container_ids(docker_client) == before  # the throwaway containers are gone
        table = ok(bbc(root, "outdated", "--os", "--packages", "off"), code=1).out
        assert [line.split() for line in table.splitlines() if "libssl3" in line] == [
            ["os", "libssl3", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2", "yes"]]
    finally:
        remove_images(docker_client, prefix)


def test_apt_output_from_ubuntu_and_debian_is_read() -> None:
    from bbc.upkeep.ospackages import parse_apt

    text = ("Inst libc6 [2.35-0ubuntu3.6] (2.35-0ubuntu3.8 Ubuntu:22.04/jammy-updates, "
            "Ubuntu:22.04/jammy-security [amd64]) []\n"
            "Inst base-files [12.4+deb12u5] (12.4+deb12u11 Debian:12.11/stable [amd64])\n"
            "Conf libc6 (2.35-0ubuntu3.8 Ubuntu:22.04/jammy-updates [amd64])\n")
    assert [(u.name, u.current, u.new, u.security) for u in parse_apt(text)] == [
        ("libc6", "2.35-0ubuntu3.6", "2.35-0ubuntu3.8", True),
        ("base-files", "12.4+deb12u5", "12.4+deb12u11", False)]


def git_tree(root: Path) -> None:
    from tests.cli import git

    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Dev")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "the hierarchy")


@pytest.mark.parametrize("check", ["v", "v1"])
def test_refresh_takes_a_moved_pinned_base_through_bump_build_test_commit(
        tree: tuple[Path, str, str], docker_client: Any, tmp_path: Path, check: str) -> None:
    from tests.cli import git

    root, prefix, upstream = tree
    first = publish_upstream(docker_client, upstream, "v1", tmp_path)
    config = root / "bbc.yaml"
    # the root's test: any upstream content ("v"), or only v1 (fails once upstream moves)
    config.write_text(config.read_text().replace(
        "    version: 1.0.0\n", f"    version: 1.0.0\n    test: {{command: [grep, -q, {check}, /etc/upstream]}}\n", 1))
    ok(bbc(root, "pin"))
    git_tree(root)
    ok(bbc(root, "build", "--test"))
    assert "nothing to refresh" in ok(bbc(root, "refresh", "--packages", "off")).out
    second = publish_upstream(docker_client, upstream, "v2", tmp_path)
    dockerfile = root / "images/root/os/Dockerfile"
    before = {p: p.read_bytes() for p in (dockerfile, config)}
    head = git(root, "rev-parse", "HEAD")

    dry = ok(bbc(root, "refresh", "--packages", "off", "--dry-run")).out
    assert f"-FROM {upstream}@{first}" in dry and f"+FROM {upstream}@{second}" in dry and "dry run" in dry
    assert {p: p.read_bytes() for p in before} == before

    if check == "v1":  # the tests fail on the new upstream: every file as it was, nothing committed
        run = bbc(root, "refresh", "--commit", "--packages", "off")
        assert run.code == 1, run.out + run.err
        assert "refresh failed at build and tests" in run.out and "every file bbc changed is restored" in run.out
        assert {p: p.read_bytes() for p in before} == before
        assert git(root, "rev-parse", "HEAD") == head and git(root, "status", "--porcelain") == ""
        return
    run = bbc(root, "refresh", "--commit", "--packages", "off", "--format", "json")
    assert run.code == 0, run.out + run.err
    report = json.loads(run.out)  # the build's lines went to stderr
    assert report["result"] == "refreshed" and report["commit"] == git(root, "rev-parse", "HEAD").strip()
    assert report["changes"] == [{"image": "os", "where": "images/root/os/Dockerfile:2", "what": f"base {upstream}",
                                  "old": first, "new": second}]
    assert report["bumps"] == {"os": {"old": "1.0.0", "new": "1.0.1"}, "svc": {"old": "0.1.0", "new": "0.1.1"}}
    assert dockerfile.read_text() == before[dockerfile].decode().replace(first, second)
    assert "version: 1.0.1" in config.read_text() and "version: 0.1.1" in config.read_text()
    message = git(root, "log", "-1", "--format=%B")
    assert f"- os: base {upstream} {first} -> {second} (images/root/os/Dockerfile:2)" in message
    assert "- os: 1.0.0 -> 1.0.1" in message and "- svc: 0.1.0 -> 0.1.1" in message
    assert git(root, "status", "--porcelain") == ""
    assert cat(docker_client, f"{prefix}/bbc/svc:0.1.1", "/etc/app-saw") == "v2"
    assert "nothing to refresh" in ok(bbc(root, "refresh", "--packages", "off")).out


PREPARE_ROOTFS = """#!/bin/sh
# stands in for debootstrap: the root filesystem takes the package versions the archive has now
set -e
rm -rf rootfs && mkdir -p rootfs/var/lib/dpkg
cp ../../../archive/status rootfs/var/lib/dpkg/status
date +%s%N > rootfs/etc-built-at  # a new tarball every run, even with the same packages
tar czf rootfs.tar.gz -C rootfs .
rm -rf rootfs
"""

STATUS = """Package: libssl3
Status: install ok installed
Version: {ssl}

Package: tzdata
Status: install ok installed
Version: 2024a-0+deb12u1
"""


def test_refresh_os_reruns_a_refresh_prepare_step_and_bumps_only_on_new_packages(
        tmp_path: Path, docker_client: Any, registry_addr: str) -> None:
    from tests.cli import git

    prefix = f"localhost:5000/rf{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    context = busybox_context(root / "images/root/os", user="1000")
    write(context / "apt-get", FAKE_APT)  # always reports updates: the prepare decides what changes
    write(context / "prepare.sh", PREPARE_ROOTFS)
    with (context / "Dockerfile").open("a") as f:
        f.write("COPY --chmod=755 apt-get /usr/bin/apt-get\nADD rootfs.tar.gz /\n")
    write(root / "archive/status", STATUS.format(ssl="3.0.11-1~deb12u1"))
    write(root / ".gitignore", "rootfs.tar.gz\n")
    write(root / "bbc.yaml", f"registry: {prefix}\ndefaults: {{network: host}}\nimages:\n"
                             "  os:\n    path: images/root/os\n    version: 1.0.0\n"
                             "    prepare: {command: sh ./prepare.sh, inputs: [prepare.sh], outputs: [rootfs.tar.gz],"
                             " refresh: true}\n")
    git_tree(root)
    try:
        ok(bbc(root, "build"))
        tarball = context / "rootfs.tar.gz"
        first = tarball.read_bytes()
        # the archive has nothing new: the step runs, gives the same packages, its old output is put back
        same = ok(bbc(root, "refresh", "--os", "--no-bases", "--packages", "off", "--commit")).out
        assert "the prepare step gave the same package set: nothing to bump" in same and "nothing to refresh" in same
        assert tarball.read_bytes() == first and "version: 1.0.0" in (root / "bbc.yaml").read_text()

        write(root / "archive/status", STATUS.format(ssl="3.0.11-1~deb12u2"))  # a security update lands
        run = bbc(root, "refresh", "--os", "--no-bases", "--packages", "off", "--commit", "--format", "json")
        assert run.code == 0, run.out + run.err
        report = json.loads(run.out)
        assert report["changes"] == [{"image": "os", "where": "images/root/os (prepare)", "what": "os package libssl3",
                                      "old": "3.0.11-1~deb12u1", "new": "3.0.11-1~deb12u2"}]
        assert report["bumps"] == {"os": {"old": "1.0.0", "new": "1.0.1"}}
        assert "- os: os package libssl3 3.0.11-1~deb12u1 -> 3.0.11-1~deb12u2" in git(root, "log", "-1", "--format=%B")
        status = cat(docker_client, f"{prefix}/os:1.0.1", "/var/lib/dpkg/status")
        assert "Version: 3.0.11-1~deb12u2" in status
    finally:
        remove_images(docker_client, prefix)
