"""`bbc init` and `bbc check`'s drift report, run as a user runs them; the adopted tree built on
a real engine and compared with a hand-written bbc.yaml for it."""

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


def chain(root: Path) -> None:
    write(root / "a/Dockerfile", "FROM debian:12\n")
    write(root / "b/Dockerfile", "ARG BASE_IMAGE=acme/a:1\nFROM ${BASE_IMAGE}\n")
    write(root / "c/Dockerfile", "ARG BASE_IMAGE=acme/a:1\nFROM ${BASE_IMAGE}\n")


def test_init_writes_a_file_check_accepts_and_never_overwrites_one(tmp_path: Path) -> None:
    chain(tmp_path)
    printed = ok(bbc(tmp_path, "init", "--print"))
    assert not (tmp_path / "bbc.yaml").exists()  # --print writes nothing
    assert "registry: acme\n" in printed.out and "parent_arg: BASE_IMAGE" in printed.out
    run = ok(bbc(tmp_path, "init"))
    assert run.out == f"wrote {Path('bbc.yaml')}: 3 images (1 root), 1 decision to check (comments starting with '?')\n"
    text = (tmp_path / "bbc.yaml").read_text()
    assert text == printed.out
    assert "# ? no --registry given: the namespace the tree's FROM lines name each other in\nregistry: acme\n" in text
    assert ok(bbc(tmp_path, "check")).out.startswith("bbc.yaml: ok (3 images, 1 roots)\n")

    (tmp_path / "bbc.yaml").write_text(text + "# my own edit\n")
    refused = bbc(tmp_path, "init")
    assert refused.code == 1 and "bbc.yaml exists; bbc init never overwrites it" in refused.err
    assert (tmp_path / "bbc.yaml").read_text().endswith("# my own edit\n")  # nothing lost
    ok(bbc(tmp_path, "init", "--force", "--registry", "localhost:5000/acme"))
    assert (tmp_path / "bbc.yaml.bak").read_text().endswith("# my own edit\n")
    assert "registry: localhost:5000/acme\n" in (tmp_path / "bbc.yaml").read_text()


def test_a_cycle_writes_nothing_and_says_where(tmp_path: Path) -> None:
    write(tmp_path / "a/Dockerfile", "FROM acme/b\n")
    write(tmp_path / "b/Dockerfile", "FROM acme/a\n")
    run = bbc(tmp_path, "init")
    assert run.code == 1
    assert "the Dockerfiles build on each other in a cycle: a -> b -> a (a/Dockerfile:1 names b; " \
           "b/Dockerfile:1 names a)" in run.err
    assert "nothing was written" in run.err and not (tmp_path / "bbc.yaml").exists()


def test_check_reports_drift_with_file_and_line(tmp_path: Path) -> None:
    chain(tmp_path)
    ok(bbc(tmp_path, "init"))
    # c's FROM default now names b, while bbc.yaml still says a
    write(tmp_path / "c/Dockerfile", "ARG BASE_IMAGE=acme/b:2\nFROM ${BASE_IMAGE}\n")
    write(tmp_path / "extra/Dockerfile", "FROM acme/a\n")
    run = bbc(tmp_path, "check")
    assert run.code == 1
    lines = (tmp_path / "bbc.yaml").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.strip() == "parent: a" and n > lines.index("  c:"))
    assert (f"conflict: c/Dockerfile:2: FROM ${{BASE_IMAGE}} defaults to acme/b:2, which is image b, but "
            f"bbc.yaml:{line}: images.c.parent is a: bbc builds c on a; make the two agree") in run.out.splitlines()
    assert "note: extra/Dockerfile: a Dockerfile no image covers (`bbc init --print` shows how it would be read)" \
        in run.out.splitlines()
    # agreeing again: notes only, exit 0
    write(tmp_path / "c/Dockerfile", "ARG BASE_IMAGE=acme/a:1\nFROM ${BASE_IMAGE}\n")
    assert "conflict" not in ok(bbc(tmp_path, "check")).out
    # a root whose FROM names an image of the tree is a note, not a conflict
    write(tmp_path / "a/Dockerfile", "FROM acme/b\n")
    assert any(line.startswith("note: a/Dockerfile:1: a is a root, but FROM acme/b names acme/b, image b")
               for line in ok(bbc(tmp_path, "check")).out.splitlines())
    # an image whose folder vanished: refused, located
    for f in (tmp_path / "b").iterdir():
        f.unlink()
    (tmp_path / "b").rmdir()
    gone = bbc(tmp_path, "check")
    assert gone.code == 1 and "images.b.path: folder 'b' does not exist" in gone.err


@pytest.fixture()
def adopted(tmp_path: Path, docker_client: Any, registry_addr: str) -> Iterator[tuple[Path, str]]:
    owner = f"adopt{uuid.uuid4().hex[:6]}"
    root = tmp_path / "tree"
    busybox_context(root / "images/base")
    write(root / "images/mid/Dockerfile", f"""\
        ARG REGISTRY=localhost:5000
        ARG OWNER={owner}
        ARG BASE_IMAGE=$REGISTRY/$OWNER/base:0.1.0
        FROM $BASE_IMAGE
        RUN echo "mid $RANDOM$RANDOM" > /tmp/mid
        """)
    write(root / "images/app/Dockerfile", f"""\
        FROM {owner}/mid:1.0.0 AS build
        RUN cp /tmp/mid /tmp/saw
        FROM {owner}/mid:1.0.0
        COPY --from=build /tmp/saw /tmp/app-saw
        LABEL org.opencontainers.image.version=0.3.0
        """)
    write(root / "images/app/Dockerfile.test", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN echo layer > /tmp/layer\n")
    write(root / "hand.yaml", f"""\
        registry: localhost:5000/{owner}
        images:
          base: {{path: images/base, version: 0.1.0}}
          mid: {{path: images/mid, parent: base, parent_arg: BASE_IMAGE, version: 0.1.0}}
          app:
            path: images/app
            parent: mid
            parent_ref: {owner}/mid:1.0.0
            version: 0.3.0
            test:
              layer: Dockerfile.test
              command: ["sh", "-c", "test -f /tmp/layer && cmp /tmp/mid /tmp/app-saw"]
        """)
    try:
        yield root, owner
    finally:
        remove_images(docker_client, f"localhost:5000/{owner}")


def fingerprints(root: Path, *config: str) -> dict[str, str]:
    plan = json.loads(ok(bbc(root, *config, "plan", "--format", "json")).out)
    return {s["image"]: s["fingerprint"] for s in plan["steps"] if s["kind"] == "build"}


@pytest.mark.docker
def test_init_then_build_gives_the_images_a_hand_written_file_gives(adopted: tuple[Path, str],
                                                                    docker_client: Any) -> None:
    root, owner = adopted
    ok(bbc(root, "init", "--registry", f"localhost:5000/{owner}"))
    written = (root / "bbc.yaml").read_text()
    assert "?" not in "".join(line for line in written.splitlines() if not line.startswith("# Comments"))
    ok(bbc(root, "check"))
    assert fingerprints(root) == fingerprints(root, "-c", "hand.yaml")

    ok(bbc(root, "build"))
    assert "all 3 images up to date" in ok(bbc(root, "-c", "hand.yaml", "build")).out
    # the app was built on bbc's exact build of mid: `owner/mid:1.0.0` exists nowhere
    def cat(image: str, path: str) -> str:
        return docker_client.containers.run(image, ["cat", path], remove=True, network_mode="none").decode()

    mid = cat(f"localhost:5000/{owner}/mid:0.1.0", "/tmp/mid")
    assert mid.startswith("mid ") and cat(f"localhost:5000/{owner}/app:0.3.0", "/tmp/app-saw") == mid
    # the sandwich: app's Dockerfile on the test layer on mid, the same FROM replaced
    assert "app    own    passed" in ok(bbc(root, "-c", "hand.yaml", "test", "app")).out
    test_image = f"localhost:5000/{owner}/app:0.3.0-test"
    assert cat(test_image, "/tmp/layer") == "layer\n" and cat(test_image, "/tmp/app-saw") == mid
