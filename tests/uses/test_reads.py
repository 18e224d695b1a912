"""Every image a build reads, not only FROM (issue 21): the reader, and on a real engine and
registry an upstream image read by `COPY --from` and `RUN --mount=from` whose tag moves —
fingerprinted, listed by `outdated`, pinned by `pin`, refreshed by `refresh` exactly like a
FROM base; and a read naming an image of the hierarchy by its tag is drift for `bbc check`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbc.model import dockerfile
from tests.cli import bbc, ok
from tests.conftest import busybox_context
from tests.helpers import remove_images, write
from tests.test_bases import git_tree, publish_upstream

DIGEST = "sha256:" + "a" * 64
TEXT = """\
ARG TOOL=reg.example/up/tool:1
ARG SERVING_IMAGE
FROM ${SERVING_IMAGE} AS serving
FROM --platform=$BUILDPLATFORM reg.example/up/builder:2 AS build
COPY --from=reg.example/up/other:3 /x /y
FROM scratch
COPY --from=${TOOL} /f.txt /tool.txt
RUN --mount=type=bind,from=reg.example/up/m:4,target=/m \\
    --mount=type=cache,target=/c true
COPY --from=serving /a /b
COPY --from=1 /c /d
COPY --from=acme/web:1 /a /b
"""


def test_every_read_is_found_expanded_and_told_from_stages() -> None:
    found = [(r.line, r.via, r.raw, r.image, r.from_stage) for r in dockerfile.reads(TEXT)]
    assert found == [
        (3, "FROM", "${SERVING_IMAGE}", "", None),
        (4, "FROM", "reg.example/up/builder:2", "reg.example/up/builder:2", None),
        (5, "COPY --from", "reg.example/up/other:3", "reg.example/up/other:3", None),
        (6, "FROM", "scratch", "scratch", None),
        (7, "COPY --from", "${TOOL}", "reg.example/up/tool:1", None),
        (8, "RUN --mount", "reg.example/up/m:4", "reg.example/up/m:4", None),
        (10, "COPY --from", "serving", "serving", 0),
        (11, "COPY --from", "1", "1", 1),
        (12, "COPY --from", "acme/web:1", "acme/web:1", None)]
    external = dockerfile.external_reads(TEXT, used=("SERVING_IMAGE", "acme/web:1"))
    assert [(b.line, b.via, b.image, b.via_arg) for b in external] == [
        (4, "FROM", "reg.example/up/builder:2", None), (5, "COPY --from", "reg.example/up/other:3", None),
        (7, "COPY --from", "reg.example/up/tool:1", "TOOL"), (8, "RUN --mount", "reg.example/up/m:4", None)]
    assert dockerfile.on_build_platform(dockerfile.reads_key(dockerfile.reads(TEXT), "reg.example/up/other:3"))


def test_pin_rewrites_only_the_reference_in_copy_and_run_lines_and_arg_defaults() -> None:
    text = TEXT
    for base in dockerfile.external_reads(TEXT, used=("SERVING_IMAGE", "acme/web:1")):
        text = dockerfile.pin_text(text, base, DIGEST)
    assert text.splitlines()[0] == f"ARG TOOL=reg.example/up/tool:1@{DIGEST}"
    assert text.splitlines()[4] == f"COPY --from=reg.example/up/other:3@{DIGEST} /x /y"
    assert text.splitlines()[6] == "COPY --from=${TOOL} /f.txt /tool.txt"
    assert text.splitlines()[7] == f"RUN --mount=type=bind,from=reg.example/up/m:4@{DIGEST},target=/m \\"
    moved = TEXT.replace("COPY --from=reg.example/up/other:3", "COPY --from=reg.example/up/other:9")
    base = next(b for b in dockerfile.external_reads(TEXT) if b.line == 5)
    with pytest.raises(ValueError, match="line 5 is no longer COPY --from=reg.example/up/other:3"):
        dockerfile.pin_text(moved, base, DIGEST)


def test_a_used_image_written_out_is_replaced_by_its_build() -> None:
    out = dockerfile.with_written(TEXT + "FROM acme/web:1 AS again\n", "acme/web:1", "BBC_USED_IMAGE_0",
                                  "localhost:5000/acme/web:bbc-build-0123")
    assert out.startswith("ARG BBC_USED_IMAGE_0\nARG TOOL=")
    assert "COPY --from=localhost:5000/acme/web:bbc-build-0123 /a /b\n" in out
    assert "FROM ${BBC_USED_IMAGE_0} AS again\n" in out and "acme/web:1" not in out


# -- on the engine -------------------------------------------------------------------------------

@pytest.fixture()
def tree(tmp_path: Path, docker_client: Any, registry_addr: str) -> Iterator[tuple[Path, str]]:
    prefix = f"{registry_addr}/reads{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    busybox_context(root / "images/root/base")
    write(root / "images/app/svc/Dockerfile", f"""\
ARG SOURCE_IMAGE
FROM ${{SOURCE_IMAGE}}
# a tool read from an upstream image, and a file read through a mount of another
COPY --from={prefix}/up/tool:1 /etc/upstream /etc/tool-saw
RUN --mount=type=bind,from={prefix}/up/data:1,target=/m cp /m/etc/upstream /tmp/data-saw
""")
    write(root / "bbc.yaml", f"""\
registry: {prefix}/bbc
defaults: {{network: host}}
images:
  base: {{path: images/root/base, version: 1.0.0}}
  svc: {{path: images/app/svc, parent: base, version: 0.1.0}}
""")
    try:
        yield root, prefix
    finally:
        remove_images(docker_client, prefix)


def cat(client: Any, image: str, path: str) -> str:
    return client.containers.run(image, ["cat", path], remove=True, network_mode="none").decode().strip()


@pytest.mark.docker
def test_copy_from_and_mount_reads_are_bases_like_any_from(tree: tuple[Path, str], docker_client: Any,
                                                           tmp_path: Path) -> None:
    root, prefix = tree
    tool, data = f"{prefix}/up/tool:1", f"{prefix}/up/data:1"
    first = publish_upstream(docker_client, tool, "t1", tmp_path)
    publish_upstream(docker_client, data, "d1", tmp_path)
    ok(bbc(root, "build"))
    assert cat(docker_client, f"{prefix}/bbc/svc:0.1.0", "/etc/tool-saw") == "t1"
    assert "up to date" in ok(bbc(root, "plan")).out
    listed = ok(bbc(root, "outdated", "--packages", "off")).out
    assert "images/app/svc/Dockerfile:4" in listed and "images/app/svc/Dockerfile:5" in listed
    assert listed.count("current") == 2

    # upstream moves the tool's tag: a change like any edit, the build reads exactly that digest
    second = publish_upstream(docker_client, tool, "t2", tmp_path)
    plan = ok(bbc(root, "plan")).out
    assert f"base {tool} moved ({first[:19]}… -> {second[:19]}…)" in plan, plan
    assert "outdated" in bbc(root, "outdated", "--packages", "off").out
    assert bbc(root, "outdated", "--packages", "off").code == 1
    ok(bbc(root, "build"))
    assert cat(docker_client, f"{prefix}/bbc/svc:0.1.0", "/etc/tool-saw") == "t2"

    # pin: the COPY --from and the mount's from= get their digests, nothing else changes
    check = bbc(root, "pin", "--check")
    assert check.code == 1 and f"images/app/svc/Dockerfile:4: base {tool} is not pinned" in check.out
    ok(bbc(root, "pin"))
    text = (root / "images/app/svc/Dockerfile").read_text()
    assert f"COPY --from={tool}@{second} /etc/upstream /etc/tool-saw" in text
    assert f"--mount=type=bind,from={data}@sha256:" in text
    assert "every external base is pinned" in ok(bbc(root, "pin", "--check")).out
    assert "up to date" in ok(bbc(root, "plan")).out  # the digest it was built with

    # refresh: the pinned read moved upstream -> re-pinned, bumped, built, committed
    git_tree(root)
    third = publish_upstream(docker_client, tool, "t3", tmp_path)
    run = ok(bbc(root, "refresh", "--commit", "--packages", "off"))
    assert f"COPY --from={tool}@{third}" in (root / "images/app/svc/Dockerfile").read_text(), run.out
    assert "version: 0.1.1" in (root / "bbc.yaml").read_text()
    assert cat(docker_client, f"{prefix}/bbc/svc:0.1.1", "/etc/tool-saw") == "t3"


def test_check_says_use_uses_for_a_hierarchy_image_read_by_its_tag(tree: tuple[Path, str]) -> None:
    root, prefix = tree
    write(root / "images/app/tool/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n")
    with (root / "bbc.yaml").open("a") as f:
        f.write("  tool: {path: images/app/tool, parent: base, version: 1.0.0}\n")
    write(root / "images/app/svc/Dockerfile", f"ARG SOURCE_IMAGE\nFROM ${{SOURCE_IMAGE}}\n"
                                              f"COPY --from={prefix}/bbc/tool:1.0.0 /bin/busybox /b\n")
    run = ok(bbc(root, "check"))
    assert (f"note: images/app/svc/Dockerfile:3: COPY --from={prefix}/bbc/tool:1.0.0 names image tool of this "
            "hierarchy by its tag: svc reads whatever that tag holds, not bbc's build, and a change to tool does "
            "not rebuild it; use `uses:` (`uses: {TOOL_IMAGE: tool}` in bbc.yaml:5: images.svc") in run.out, run.out
