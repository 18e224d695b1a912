"""`bbc upgrade`: a package pinned across image contexts, and an image bump that rebuilds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import bbc, git, ok
from tests.commands.test_dependents import remove_built
from tests.helpers import CHILD_DOCKERFILE, tiny_hierarchy, write

MID_REQS = "flask==3.0.0\nrequests==2.31.0\n"
A1_REQS = "# app pins\nRequests[socks] == 2.31.0  # keep in step with mid\n"




@pytest.fixture()
def hier(tmp_path: Path) -> Path:
    """The tiny hierarchy in a git repo, `requests` pinned in mid, a1 and b1 (not a2)."""
    root = tmp_path / "hier"
    config = tiny_hierarchy(root, registry=f"localhost:5000/t{uuid.uuid4().hex[:8]}")
    write(root / "images/intermediate/mid/requirements.txt", MID_REQS)
    write(root / "images/app/a1/requirements.txt", A1_REQS)
    write(root / "images/app/b1/Dockerfile", CHILD_DOCKERFILE.format(name="b1") + "ENV REQUESTS_VERSION=2.31.0\n")
    text = config.read_text().replace("    version: 1.2.0\n", "    version: 1.2.0  # the web stack\n")
    config.write_text("# the org hierarchy\n" + text)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Dev")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "hierarchy")
    return root


def snapshot(root: Path) -> dict[str, str]:
    return {p: (root / p).read_text() for p in (
        "bbc.yaml", "images/intermediate/mid/requirements.txt", "images/app/a1/requirements.txt",
        "images/app/b1/Dockerfile")}


def test_dry_run_shows_plan_and_diff_and_changes_nothing(hier: Path) -> None:
    before = snapshot(hier)
    out = ok(bbc(hier, "upgrade", "requests==2.32.0", "--dry-run")).out
    assert out.startswith(
        "pins of requests -> 2.32.0:\n"
        "  images/intermediate/mid/requirements.txt:2  2.31.0 -> 2.32.0  (mid, requirement)\n"
        "  images/app/a1/requirements.txt:2  2.31.0 -> 2.32.0  (a1, requirement)\n"
        "  images/app/b1/Dockerfile:5  2.31.0 -> 2.32.0  (b1, env)\n"
        "versions (bbc.yaml):\n"
        "  mid: 1.2.0 -> 1.2.1\n"
        "  a1: 0.1.0 -> 0.1.1\n"
        "  a2: 0.1.0 -> 0.1.1 (follows mid, cascade: patch)\n"
        "  b1: 2.0.0 -> 2.0.1\n"
        "will rebuild: mid, a1, a2, b1\n"
    )
    assert "-requests==2.31.0\n+requests==2.32.0\n" in out
    assert "-Requests[socks] == 2.31.0  # keep in step with mid\n+Requests[socks] == 2.32.0  # keep" in out
    assert "-    version: 1.2.0  # the web stack\n+    version: 1.2.1  # the web stack\n" in out
    assert out.endswith("dry run: nothing changed\n")
    assert snapshot(hier) == before
    assert git(hier, "status", "--porcelain") == ""


def test_commit_makes_one_commit_and_keeps_comments(hier: Path) -> None:
    head = git(hier, "rev-parse", "HEAD").strip()
    (hier / "notes.txt").write_text("unrelated work in progress\n")
    out = ok(bbc(hier, "upgrade", "requests==2.32.0", "--commit")).out
    assert "rewrote 3 pins in 3 files; bumped 4 images in bbc.yaml" in out
    assert git(hier, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert git(hier, "log", "-1", "--format=%B").strip().splitlines() == [
        "upgrade requests to 2.32.0: images mid, a1, b1", "",
        "- mid: 1.2.0 -> 1.2.1", "- a1: 0.1.0 -> 0.1.1", "- a2: 0.1.0 -> 0.1.1", "- b1: 2.0.0 -> 2.0.1"]
    assert sorted(git(hier, "show", "--name-only", "--format=", "HEAD").split()) == [
        "bbc.yaml", "images/app/a1/requirements.txt", "images/app/b1/Dockerfile",
        "images/intermediate/mid/requirements.txt"]
    assert git(hier, "status", "--porcelain") == "?? notes.txt\n"  # not swept into the commit
    config = (hier / "bbc.yaml").read_text()
    assert config.startswith("# the org hierarchy\n")
    assert "    version: 1.2.1  # the web stack\n" in config and "    version: 1.0.0\n" in config
    assert (hier / "images/app/a1/requirements.txt").read_text() == A1_REQS.replace("2.31.0", "2.32.0")
    assert (hier / "images/app/b1/Dockerfile").read_text().endswith("ENV REQUESTS_VERSION=2.32.0\n")
    again = ok(bbc(hier, "upgrade", "requests==2.32.0", "--commit")).out
    assert again == "requests is already 2.32.0 in all 3 pins (mid, a1, b1); nothing to do\n"


def test_images_limits_the_search_and_commit_refuses_edited_files(hier: Path) -> None:
    out = ok(bbc(hier, "upgrade", "requests==2.32.0", "--images", "a1", "--dry-run")).out
    assert "(a1, requirement)" in out and "(mid," not in out
    assert "will rebuild: a1\n" in out
    config = hier / "bbc.yaml"
    config.write_text(config.read_text() + "# my edit\n")
    before = snapshot(hier)
    run = ok(bbc(hier, "upgrade", "requests==2.32.0", "--commit"), code=1)
    assert "bbc: error: --commit: uncommitted changes in bbc.yaml; nothing was changed" in run.err
    assert snapshot(hier) == before
    run = ok(bbc(hier, "upgrade", "nosuchpkg==1.0"), code=1)
    assert "bbc: error: no pin of nosuchpkg in the requirements, constraints or Dockerfiles" in run.err
    run = ok(bbc(hier, "upgrade", "requests>=2"), code=1)
    assert "'requests>=2' is not PACKAGE==VERSION" in run.err


@pytest.fixture()
def built(hier: Path, docker_client: Any) -> Iterator[Path]:
    yield hier
    registry = (hier / "bbc.yaml").read_text().splitlines()[1].split()[1]
    remove_built(docker_client, hier, registry)


@pytest.mark.docker
def test_build_proves_the_affected_subgraph_then_commits(built: Path, docker_client: Any) -> None:
    root = built
    ok(bbc(root, "build"))
    head = git(root, "rev-parse", "HEAD").strip()
    out = ok(bbc(root, "upgrade", "requests==2.32.0", "--build", "--commit")).out
    rebuilt = [line.split("]")[0][1:] for line in out.splitlines() if "] built " in line]
    assert rebuilt == ["mid", "a1", "a2", "b1"]  # base is up to date
    assert "built: mid, a1, a2, b1\n" in out and "committed " in out
    assert git(root, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    registry = (root / "bbc.yaml").read_text().splitlines()[1].split()[1]
    cat = docker_client.containers.run(f"{registry}/a1:0.1.1", ["cat", "/srv/mid/requirements.txt"],
                                       remove=True, network_mode="none")
    assert cat.decode() == MID_REQS.replace("2.31.0", "2.32.0")

    # an image upgrade: bump + cascade, rebuild that subtree, one commit of bbc.yaml
    out = ok(bbc(root, "upgrade", "--image", "mid", "minor", "--commit")).out
    assert "  a1: 0.1.1 -> 0.1.2 (follows mid, cascade: patch)\n" in out
    assert [line.split("]")[0][1:] for line in out.splitlines() if "] built " in line] == ["mid", "a1", "a2"]
    assert git(root, "log", "-1", "--format=%s").strip() == "upgrade mid to 1.3.0"
    assert git(root, "show", "--name-only", "--format=", "HEAD").split() == ["bbc.yaml"]
    assert docker_client.images.get(f"{registry}/a2:0.1.2").labels["org.opencontainers.image.base.name"] == \
        f"{registry}/mid:1.3.0"


@pytest.mark.docker
def test_failed_build_commits_nothing_and_leaves_the_edits(built: Path) -> None:
    root = built
    dockerfile = root / "images/app/b1/Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + 'RUN test "$REQUESTS_VERSION" = 2.31.0\n')
    git(root, "commit", "-q", "-am", "b1 only works with requests 2.31")
    head = git(root, "rev-parse", "HEAD").strip()
    run = ok(bbc(root, "upgrade", "requests==2.32.0", "--build", "--commit"), code=1)
    assert "[b1] FAILED" in run.out
    assert "build failed: the edits stay in place (pins and bbc.yaml); nothing was committed" in run.out
    assert git(root, "rev-parse", "HEAD").strip() == head
    assert sorted(git(root, "status", "--porcelain", "--untracked-files=no").split()) == sorted([
        "M", "M", "M", "M", "bbc.yaml", "images/app/a1/requirements.txt", "images/app/b1/Dockerfile",
        "images/intermediate/mid/requirements.txt"])


@pytest.mark.docker
def test_image_upgrade_releases_and_rolls_out(built: Path, registry_addr: str, tmp_path: Path) -> None:
    root = built
    ok(bbc(root, "release"))
    registry = (root / "bbc.yaml").read_text().splitlines()[1].split()[1]
    svc = tmp_path / "svc"
    write(svc / "Dockerfile", f"ARG BASE={registry}/a1:0.1.0\nFROM ${{BASE}}\n")
    for args in (("init", "-q", "-b", "main"), ("config", "user.name", "Dev"), ("config", "user.email", "d@x"),
                 ("add", "-A"), ("commit", "-q", "-m", "svc")):
        git(svc, *args)
    config = root / "bbc.yaml"
    config.write_text(config.read_text() + "projects:\n  svc:\n    repo: ../svc\n    images: [a1]\n")
    git(root, "commit", "-q", "-am", "the svc project")
    out = ok(bbc(root, "upgrade", "--image", "mid", "patch", "--commit", "--release", "--rollout")).out
    assert "[mid] released 1.2.1" in out
    assert "[svc] updated: a1 0.1.0 -> 0.1.1; branch bbc/mid-1.2.1 at " in out
    assert git(svc, "show", "bbc/mid-1.2.1:Dockerfile") == f"ARG BASE={registry}/a1:0.1.1\nFROM ${{BASE}}\n"
