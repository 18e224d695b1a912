"""`bbc build` against the real engine on a tiny busybox hierarchy."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import bbc, ok
from tests.helpers import container_ids, remove_images, tiny_hierarchy, write

pytestmark = pytest.mark.docker
NAMES = ("base", "mid", "a1", "a2", "b1")


@pytest.fixture()
def hier(tmp_path: Path, docker_client: Any) -> Iterator[tuple[Path, str]]:
    registry = f"localhost:5000/t{uuid.uuid4().hex[:8]}"
    tiny_hierarchy(tmp_path, registry=registry)
    yield tmp_path, registry
    remove_images(docker_client, registry)


def ids(client: Any, registry: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in NAMES:
        try:
            out[name] = client.images.get(f"{registry}/{name}:latest").id
        except Exception:
            out[name] = None
    return out



BUILDERS = pytest.mark.parametrize("builder", ["buildkit", "legacy"])


def builder_env(builder: str) -> dict[str, str]:
    """bbc builds with BuildKit; DOCKER_BUILDKIT=0 selects the legacy builder, as for `docker build`."""
    return {"DOCKER_BUILDKIT": "0"} if builder == "legacy" else {}


@BUILDERS
def test_builds_in_order_with_tags_and_labels(hier: tuple[Path, str], docker_client: Any, builder: str) -> None:
    root, registry = hier
    run = ok(bbc(root, "build", "-j", "1", env=builder_env(builder)))
    lines = [line for line in run.out.splitlines() if line.startswith("[")]
    built = [line.split("]")[0][1:] for line in lines if "] built " in line]
    assert built == ["base", "mid", "a1", "a2", "b1"]
    mid = docker_client.images.get(f"{registry}/mid:1.2.0")
    assert {f"{registry}/mid:{t}" for t in ("1.2.0", "1.2", "1", "latest")} <= set(mid.tags)
    base = docker_client.images.get(f"{registry}/base:1.0.0")
    a1 = docker_client.images.get(f"{registry}/a1:0.1.0")
    labels = a1.labels
    assert labels["org.opencontainers.image.version"] == "0.1.0"
    assert labels["org.opencontainers.image.base.name"] == f"{registry}/mid:1.2.0"
    assert labels["org.opencontainers.image.base.digest"] == mid.id
    assert labels["bbc.image"] == "a1" and len(labels["bbc.fingerprint"]) == 64
    assert mid.labels["bbc.parent.id"] == base.id
    # the child really was built on its parent: the chain file records every step
    out = docker_client.containers.run(a1.id, ["cat", "/tmp/chain"], remove=True, network_mode="none")
    assert out.decode().split() == ["mid", "a1"]
    assert "image" in run.out and "result" in run.out  # the summary table
    log = (root / ".bbc/logs/a1.log").read_text()
    if builder == "legacy":
        assert log.count("Step") >= 3 and "RUN echo a1 >> /tmp/chain" in log
    else:
        assert "] RUN echo a1 >> /tmp/chain" in log and "DONE" in log


def test_second_run_builds_nothing_and_touching_one_context_rebuilds_its_subtree(
    hier: tuple[Path, str], docker_client: Any
) -> None:
    root, registry = hier
    ok(bbc(root, "build", "-j", "2"))
    first = ids(docker_client, registry)
    again = ok(bbc(root, "build"))
    assert again.out.strip() == "all 5 images up to date"
    assert ids(docker_client, registry) == first
    (root / "images/intermediate/mid/data.txt").write_text("changed\n")
    plan = json.loads(ok(bbc(root, "plan", "--format", "json")).out)
    assert {s["image"]: s["action"] for s in plan["steps"]} == {
        "base": "up-to-date", "mid": "build", "a1": "build", "a2": "build", "b1": "up-to-date"}
    assert plan["steps"][1]["reasons"] == ["files changed: data.txt"]
    ok(bbc(root, "build"))
    after = ids(docker_client, registry)
    changed = {n for n in NAMES if after[n] != first[n]}
    assert changed == {"mid", "a1", "a2"}


def test_dockerignored_files_change_nothing(hier: tuple[Path, str], docker_client: Any) -> None:
    root, registry = hier
    write(root / "images/app/a2/.dockerignore", "*.log\n")
    ok(bbc(root, "build"))
    first = ids(docker_client, registry)
    (root / "images/app/a2/debug.log").write_text("noise\n")
    assert ok(bbc(root, "build")).out.strip() == "all 5 images up to date"
    assert ids(docker_client, registry) == first


@BUILDERS
def test_failing_child_leaves_siblings_built_and_descendants_skipped(
    hier: tuple[Path, str], docker_client: Any, builder: str
) -> None:
    root, registry = hier
    write(root / "images/intermediate/mid/Dockerfile",
          "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN echo compiling && exit 3\n")
    before = container_ids(docker_client)
    run = bbc(root, "build", "-j", "2", env=builder_env(builder))
    assert run.code == 1
    if builder == "legacy":
        assert "[mid] FAILED" in run.out and "returned a non-zero code: 3" in run.out
        assert "| compiling" in run.out  # the last lines of the log are shown
    else:
        assert "[mid] FAILED" in run.out and "exit code: 3" in run.out
        assert re.search(r"\| #\d+ compiling\n", run.out), run.out  # the last lines of the log are shown
    assert "[a1] skipped (parent mid failed)" in run.out
    built = ids(docker_client, registry)
    assert built["base"] and built["b1"]
    assert built["mid"] is None and built["a1"] is None and built["a2"] is None  # nothing half-tagged
    assert container_ids(docker_client) == before  # no leftover containers


def test_named_image_builds_what_it_needs_and_with_dependents(hier: tuple[Path, str], docker_client: Any) -> None:
    root, registry = hier
    ok(bbc(root, "build", "mid"))
    assert {n for n, i in ids(docker_client, registry).items() if i} == {"base", "mid"}
    ok(bbc(root, "build", "mid", "--with-dependents"))
    assert {n for n, i in ids(docker_client, registry).items() if i} == {"base", "mid", "a1", "a2"}


def test_dry_run_builds_nothing(hier: tuple[Path, str], docker_client: Any) -> None:
    root, registry = hier
    run = ok(bbc(root, "build", "--dry-run"))
    assert "5 to build, 0 up to date" in run.out
    assert set(ids(docker_client, registry).values()) == {None}


def test_changed_builds_changed_images_and_descendants(hier: tuple[Path, str], docker_client: Any) -> None:
    import git

    root, registry = hier
    repo = git.Repo.init(root)
    repo.git.add(A=True)
    repo.index.commit("init")
    repo.create_remote("origin", "https://ci:s3cret@git.example.com/acme/images.git")
    ok(bbc(root, "build"))
    first = ids(docker_client, registry)
    labels = docker_client.images.get(f"{registry}/a1:0.1.0").labels
    assert labels["org.opencontainers.image.revision"] == repo.head.commit.hexsha
    assert labels["org.opencontainers.image.source"] == "https://git.example.com/acme/images.git"  # no secret
    (root / "images/intermediate/mid/data.txt").write_text("edited\n")
    plan = json.loads(ok(bbc(root, "plan", "--changed", "--format", "json")).out)
    assert [s["image"] for s in plan["steps"] if s["selected"]] == ["mid", "a1", "a2"]
    assert plan["steps"][1]["reasons"][0] == "changed: images/intermediate/mid/data.txt"
    ok(bbc(root, "build", "--changed"))
    after = ids(docker_client, registry)
    assert {n for n in NAMES if after[n] != first[n]} == {"mid", "a1", "a2"}


def test_bad_config_builds_nothing(hier: tuple[Path, str], docker_client: Any) -> None:
    root, registry = hier
    text = (root / "bbc.yaml").read_text().replace("parent: mid", "parent: mdi", 1)
    (root / "bbc.yaml").write_text(text)
    run = bbc(root, "build")
    assert run.code == 1
    assert run.err.splitlines()[0] == "bbc: error: bbc.yaml:14: images.a1.parent: unknown image 'mdi' (did you mean 'mid'?)"
    assert set(ids(docker_client, registry).values()) == {None}


def test_no_engine_says_where_and_how(tmp_path: Path) -> None:
    tiny_hierarchy(tmp_path)
    run = bbc(tmp_path, "build", env={"DOCKER_HOST": f"unix://{tmp_path}/nothing.sock"})
    assert run.code == 1
    assert run.err.startswith(f"bbc: error: no Docker engine answers at unix://{tmp_path}/nothing.sock")
    assert "scripts/engine up" in run.err
    assert "Traceback" not in run.err


@pytest.mark.parametrize("command", [("build", "mdi"), ("plan", "mdi"), ("test", "mdi"), ("release", "mdi"),
                                     ("dependents", "mid", "--built-on", "<2.3")])
def test_bad_input_is_named_before_any_engine_is_asked(tmp_path: Path, command: tuple[str, ...]) -> None:
    tiny_hierarchy(tmp_path)
    run = bbc(tmp_path, *command, env={"DOCKER_HOST": f"unix://{tmp_path}/nothing.sock"})
    assert run.code == 1
    first = run.err.splitlines()[0]
    if command[0] == "dependents":
        assert first == "bbc: error: --built-on: '<2.3' is not a version range", run.err
    else:
        assert first == "bbc: error: unknown image 'mdi' (did you mean 'mid'?)", run.err
