"""Used images across engines, platforms and adopted trees (issue 21), on real engines: a used
build brought to another engine of a pool through the registry; a two-platform image using a
builder built for this machine only (read on the build platform); `bbc init` writing `uses:`
for a reference the Dockerfile writes out, and the build reading the used image's exact build
there."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbc.model import platforms
from tests.cli import bbc, ok
from tests.conftest import Engine, busybox_context
from tests.helpers import remove_images, remove_images_on, write

pytestmark = pytest.mark.docker


def labels_of(client: Any, ref: str) -> dict[str, str]:
    return dict(client.images.get(ref).labels)


def cat(client: Any, image: str, path: str) -> str:
    return client.containers.run(image, ["cat", path], remove=True, network_mode="none").decode().strip()


def test_init_writes_uses_for_a_reference_written_out_and_the_build_reads_that_build(
        tmp_path: Path, docker_client: Any, registry_addr: str) -> None:
    prefix = f"{registry_addr}/adopted{uuid.uuid4().hex[:6]}"
    root = tmp_path / "tree"
    busybox_context(root / "base")
    write(root / "Makefile", "build:\n\tdocker build -t acme/base:1 base\n\tdocker build -t acme/tool:1 tool\n"
                             "\tdocker build -t acme/app:1 app\n")
    write(root / "tool/Dockerfile", "FROM acme/base:1\nRUN echo tool-made > /tmp/tool.txt\n")
    write(root / "app/Dockerfile", "FROM acme/tool:1 AS tool\nFROM acme/base:1\n"
                                   "COPY --from=acme/tool:1 /tmp/tool.txt /tmp/copied.txt\n"
                                   "COPY --from=tool /tmp/tool.txt /tmp/staged.txt\n")
    run = ok(bbc(root, "init", "--registry", prefix))
    text = (root / "bbc.yaml").read_text()
    app = text[text.index("  app:"):]
    assert '    uses:   # other images of the tree it reads: bbc passes their exact builds\n      acme/tool:1: tool\n' \
        in app, text + run.err
    try:
        ok(bbc(root, "build"))
        tool_id = docker_client.images.get(f"{prefix}/tool:0.1.0").id
        used = json.loads(labels_of(docker_client, f"{prefix}/app:0.1.0")["bbc.uses"])
        assert used == {"acme/tool:1": {"image": "tool", "id": tool_id}}
        assert cat(docker_client, f"{prefix}/app:0.1.0", "/tmp/copied.txt") == "tool-made"
        assert cat(docker_client, f"{prefix}/app:0.1.0", "/tmp/staged.txt") == "tool-made"
        # the tool changes: app rebuilds on its new build, read where the Dockerfile names acme/tool:1
        write(root / "tool/Dockerfile", "FROM acme/base:1\nRUN echo tool-made-2 > /tmp/tool.txt\n")
        assert "used image tool rebuilt" in ok(bbc(root, "plan")).out
        ok(bbc(root, "build"))
        assert cat(docker_client, f"{prefix}/app:0.1.0", "/tmp/copied.txt") == "tool-made-2"
        # the local tags the builds read the tool's builds by went with each run: the tool's old
        # build is named by nothing now (dangling, as any replaced build: `docker image prune`)
        rows = docker_client.api.images()
        assert [t for row in rows for t in row.get("RepoTags") or () if "bbc-build-" in t] == []
        assert [row.get("RepoTags") or [] for row in rows if row["Id"] == tool_id] in ([], [[]], [["<none>:<none>"]])
    finally:
        remove_images(docker_client, prefix)


@pytest.fixture()
def multi(tmp_path: Path, docker_client: Any, registry_addr: str) -> Iterator[tuple[Path, str]]:
    from tests.test_platforms import ROOT_DOCKERFILE, foreign_busybox

    problem = platforms.emulation_problem("linux/arm64")
    if problem:
        pytest.skip(problem)
    prefix = f"{registry_addr}/mpuses{uuid.uuid4().hex[:6]}"
    root = tmp_path / "repo"
    ctx = root / "base"
    write(ctx / "Dockerfile", ROOT_DOCKERFILE)
    shutil.copy2(shutil.which("busybox") or "/bin/busybox", ctx / "busybox-amd64")
    shutil.copy2(foreign_busybox("arm64"), ctx / "busybox-arm64")
    write(root / "builder/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN uname -m > /tmp/builder-ran-on\n")
    write(root / "app/Dockerfile", "ARG SOURCE_IMAGE\nARG BUILDER\nFROM --platform=$BUILDPLATFORM ${BUILDER} AS build\n"
                                   "ARG TARGETARCH\nRUN echo \"$TARGETARCH by $(cat /tmp/builder-ran-on)\" > /tmp/made\n"
                                   "FROM ${SOURCE_IMAGE}\nCOPY --from=build /tmp/made /made\n")
    here = platforms.native()
    write(root / "bbc.yaml", f"""\
registry: {prefix}
defaults: {{network: host}}
images:
  base: {{path: base, version: 1.0.0, platforms: [linux/amd64, linux/arm64]}}
  builder: {{path: builder, parent: base, version: 1.0.0, platform: {here}}}
  app: {{path: app, parent: base, version: 1.0.0, uses: {{BUILDER: builder}}}}
""")
    try:
        yield root, prefix
    finally:
        remove_images(docker_client, prefix)


def test_each_platform_s_build_reads_the_builder_built_for_this_machine(multi: tuple[Path, str],
                                                                         docker_client: Any) -> None:
    root, prefix = multi
    run = ok(bbc(root, "build", "-j", "2", "--format", "json", timeout=900))
    assert sorted(r["image"] for r in json.loads(run.out) if r["result"] == "built") == [
        "app@amd64", "app@arm64", "base@amd64", "base@arm64", "builder"]
    builder = docker_client.images.get(f"{prefix}/builder:1.0.0").id
    machine = {"linux/amd64": "x86_64", "linux/arm64": "aarch64"}[platforms.native()]
    for arch in ("amd64", "arm64"):
        ref = f"{prefix}/app:1.0.0-{arch}"
        assert json.loads(labels_of(docker_client, ref)["bbc.uses"])["BUILDER"]["id"] == builder
        assert cat(docker_client, ref, "/made") == f"{arch} by {machine}"
    # read on the target platforms instead, the builder would be missing for one: refused, located
    write(root / "app/Dockerfile", (root / "app/Dockerfile").read_text().replace("--platform=$BUILDPLATFORM ", ""))
    refused = bbc(root, "build")
    assert refused.code == 1 and "images.app.uses.BUILDER: 'builder' is not built for linux/arm64" in refused.err, \
        refused.err


@pytest.fixture()
def pooled(tmp_path: Path, docker_client: Any, second_engine: Engine, registry_addr: str) -> Iterator[tuple[Path, str]]:
    prefix = f"{registry_addr}/pooluses{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    busybox_context(root / "root")
    for name in ("x", "y"):  # started side by side: y goes to the second engine (x takes the first's room)
        write(root / f"{name}/Dockerfile", f"ARG SOURCE_IMAGE\nFROM ${{SOURCE_IMAGE}}\n"
                                           f"RUN sleep 3 && echo {name}-{prefix} > /tmp/{name}.txt\n")
    write(root / "app/Dockerfile", "ARG SOURCE_IMAGE\nARG X\nARG Y\nFROM ${X} AS x\nFROM ${Y} AS y\n"
                                   "FROM ${SOURCE_IMAGE}\nCOPY --from=x /tmp/x.txt /x.txt\nCOPY --from=y /tmp/y.txt /y.txt\n")
    write(root / "bbc.yaml", f"""\
registry: {prefix}
defaults: {{network: host}}
engines:
  - {os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")}
  - {{host: {second_engine.host}, jobs: 1}}
images:
  root: {{path: root, version: 1.0.0}}
  x: {{path: x, parent: root, version: 1.0.0}}
  y: {{path: y, parent: root, version: 1.0.0}}
  app: {{path: app, parent: root, version: 1.0.0, uses: {{X: x, Y: y}}}}
""")
    try:
        yield root, prefix
    finally:
        remove_images(docker_client, prefix)
        remove_images_on(second_engine.host, prefix)


def test_a_used_build_moves_between_engines_through_the_registry(pooled: tuple[Path, str], docker_client: Any,
                                                                  second_engine: Engine) -> None:
    root, prefix = pooled
    primary = os.environ["DOCKER_HOST"]
    run = ok(bbc(root, "build", "-j", "2", "--format", "json"))
    where = {r["image"]: r["engine"] for r in json.loads(run.out)}
    assert where["y"] == second_engine.host and where["app"] == primary == where["root"], run.out + run.err
    assert f"[app] used image y brought from {second_engine.host} to {primary} by the registry" in run.err, run.err
    import docker

    second = docker.DockerClient(base_url=second_engine.host)
    try:
        y_there = second.images.get(f"{prefix}/y:1.0.0").id
    finally:
        second.close()
    used = json.loads(labels_of(docker_client, f"{prefix}/app:1.0.0")["bbc.uses"])
    assert used["Y"]["id"] == y_there  # pulled here by digest: the same build, the same ID
    assert cat(docker_client, f"{prefix}/app:1.0.0", "/y.txt") == f"y-{prefix}"
    again = ok(bbc(root, "build"))
    assert again.out.strip() == "all 4 images up to date", again.out
