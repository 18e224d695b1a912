"""`bbc rollout` across real project repos, with images pushed to the real registry."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbc.adapters.registry.client import Registry
from tests.cli import bbc, git, ok
from tests.commands.test_dependents import add_yaml, remove_built
from tests.helpers import tiny_hierarchy, write

pytestmark = pytest.mark.docker
BRANCH = "bbc/mid-1.2.1"




def project(path: Path, files: dict[str, str], *, origin: Path | None = None) -> Path:
    for rel, text in files.items():
        write(path / rel, text)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Dev")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    if origin is not None:
        subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
        git(path, "remote", "add", "origin", str(origin))
    return path


def push(client: Any, registry: str, name: str, tag: str) -> str:
    out = client.images.push(f"{registry}/{name}", tag=tag)
    assert "error" not in out.lower(), out
    host, _, prefix = registry.partition("/")
    manifest = Registry(host).manifest(f"{prefix}/{name}", tag)
    assert manifest is not None
    return manifest.digest


@pytest.fixture()
def setup(tmp_path: Path, docker_client: Any, registry_addr: str) -> Iterator[tuple[Path, str]]:
    registry = f"localhost:5000/t{uuid.uuid4().hex[:8]}"
    root = tmp_path / "hier"
    add_yaml(tiny_hierarchy(root, registry=registry), """\
projects:
  svc:
    repo: ../svc
    images: [mid]
    test: true
  tool:
    repo: ../tool
    file: docker/Dockerfile
    images: [mid, b1]
  dirty:
    repo: ../dirty
    images: [a1]
""")
    yield root, registry
    remove_built(docker_client, root, registry)


def test_rollout_two_projects_then_already_current(setup: tuple[Path, str], docker_client: Any,
                                                    tmp_path: Path) -> None:
    root, registry = setup
    ok(bbc(root, "build"))
    old_mid = push(docker_client, registry, "mid", "1.2.0")
    b1 = push(docker_client, registry, "b1", "2.0.0")
    svc_file = f"FROM {registry}/mid:1.2.0@{old_mid}\nRUN cat /tmp/chain\n"
    svc = project(tmp_path / "svc", {"Dockerfile": svc_file}, origin=tmp_path / "origins/svc.git")
    tool_file = (f"# tool image\nARG BASE={registry}/mid:1.2.0\nFROM ${{BASE}}\n"
                 f"COPY --from={registry}/b1:2.0.0@{b1} /srv/b1/data.txt /b1.txt\n")
    tool = project(tmp_path / "tool", {"docker/Dockerfile": tool_file, "README": "tool\n"},
                   origin=tmp_path / "origins/tool.git")
    dirty = project(tmp_path / "dirty", {"Dockerfile": f"FROM {registry}/a1:0.1.0\n"})
    (dirty / "Dockerfile").write_text(f"FROM {registry}/a1:0.1.0\nRUN echo my work in progress\n")

    # the release: mid 1.2.1 (a1 and a2 follow in bbc.yaml), built and pushed
    ok(bbc(root, "bump", "mid", "patch"))
    ok(bbc(root, "build"))
    new_mid = push(docker_client, registry, "mid", "1.2.1")

    run = ok(bbc(root, "rollout", "mid", "--format", "json"), code=1)
    data = {p["project"]: p for p in json.loads(run.out)}
    assert list(data) == ["svc", "tool", "dirty"]  # by the deepest image each uses
    s, t, d = data["svc"], data["tool"], data["dirty"]
    assert (s["status"], s["branch"], s["pushed"], s["test"]) == ("updated", BRANCH, False, "passed")
    assert s["images"] == [{"image": "mid", "repository": f"{registry}/mid", "old": "1.2.0", "new": "1.2.1",
                            "old_digest": old_mid, "digest": new_mid}]
    assert s["commit"] == git(svc, "rev-parse", BRANCH).strip()
    assert (t["status"], t["branch"], t["test"]) == ("updated", BRANCH, None)
    assert [(i["image"], i["old"], i["new"], i["old_digest"]) for i in t["images"]] == [
        ("mid", "1.2.0", "1.2.1", None), ("b1", "2.0.0", "2.0.0", b1)]
    assert (d["status"], d["message"], d["branch"]) == ("failed", "working tree has uncommitted changes", None)

    # the commit: one per project, on the branch; the user's checkout untouched
    assert git(svc, "show", f"{BRANCH}:Dockerfile") == f"FROM {registry}/mid:1.2.1@{new_mid}\nRUN cat /tmp/chain\n"
    assert git(svc, "rev-list", "--count", f"main..{BRANCH}").strip() == "1"
    assert git(svc, "log", "-1", "--format=%B", BRANCH).strip().splitlines() == [
        "bbc rollout: mid 1.2.1", "", f"- mid: 1.2.0 -> 1.2.1 ({new_mid})"]
    assert git(svc, "branch", "--show-current").strip() == "main"
    assert (svc / "Dockerfile").read_text() == svc_file
    assert git(svc, "status", "--porcelain") == "" and len(git(svc, "worktree", "list").splitlines()) == 1
    assert git(tool, "show", f"{BRANCH}:docker/Dockerfile") == tool_file.replace("mid:1.2.0", "mid:1.2.1")
    assert git(tool, "show", "--stat", "--format=", BRANCH).split()[0] == "docker/Dockerfile"
    assert "- b1: 2.0.0 -> 2.0.0" in git(tool, "log", "-1", "--format=%B", BRANCH)
    assert "RUN echo my work in progress" in (dirty / "Dockerfile").read_text()
    assert git(dirty, "branch", "--list", "bbc/*") == ""
    assert git(tmp_path / "origins/svc.git", "branch", "--list") == ""  # nothing pushed
    # the test build ran through the executor: labelled as a project build, logged
    assert docker_client.images.get(s["test_image"]).labels["bbc.rollout.project"] == "svc"
    assert "RUN cat /tmp/chain" in (root / ".bbc/logs/svc.rollout.log").read_text()
    docker_client.images.remove(s["test_image"], force=True)

    # again: nothing new to commit
    again = ok(bbc(root, "rollout", "mid"), code=1).out
    assert f"[svc] already current (branch {BRANCH} already has these pins)" in again
    assert f"[tool] already current (branch {BRANCH} already has these pins)" in again
    assert "[dirty] FAILED: working tree has uncommitted changes" in again
    assert git(svc, "rev-list", "--count", f"main..{BRANCH}").strip() == "1"

    # the dirty project cleaned up: now it says what is missing; --push pushes the branches
    git(dirty, "checkout", "--", ".")
    pushed = ok(bbc(root, "rollout", "mid", "--push", "--format", "json"), code=1)
    data = {p["project"]: p for p in json.loads(pushed.out)}
    assert data["dirty"]["message"] == "a1 0.1.1 is not in the registry; run bbc release first"
    assert data["svc"]["pushed"] and data["tool"]["pushed"]
    assert git(tmp_path / "origins/svc.git", "rev-parse", BRANCH).strip() == s["commit"]


def test_rollout_refuses_a_version_the_registry_does_not_have(setup: tuple[Path, str], docker_client: Any,
                                                              tmp_path: Path) -> None:
    root, registry = setup
    ok(bbc(root, "build", "mid"))
    digest = push(docker_client, registry, "mid", "1.2.0")
    svc = project(tmp_path / "svc", {"Dockerfile": f"FROM {registry}/mid:1.2.0@{digest}\n"})
    run = ok(bbc(root, "rollout", "mid", "--version", "1.3.0"), code=1)
    assert "[svc] FAILED: mid 1.3.0 is not in the registry; run bbc release first" in run.out
    assert "[tool] FAILED: bbc.yaml:" in run.out and "projects.tool.repo: folder ../tool does not exist" in run.out
    assert git(svc, "branch", "--list") == "* main\n"
    # a project that no longer builds on the new base: the branch is kept, not pushed, the log's tail shown
    (svc / "Dockerfile").write_text(f"FROM {registry}/mid:1.1.0\nRUN echo broken-on-purpose && false\n")
    git(svc, "commit", "-qam", "pin an older mid")
    failed = json.loads(ok(bbc(root, "rollout", "mid", "--test", "--format", "json"), code=1).out)[0]
    assert (failed["status"], failed["test"], failed["pushed"]) == ("failed", "failed", False)
    assert failed["message"].startswith("build on the new base failed: ") and "broken-on-purpose" in failed["message"]
    assert git(svc, "show", f"{failed['branch']}:Dockerfile") == (
        f"FROM {registry}/mid:1.2.0\nRUN echo broken-on-purpose && false\n")  # pinned as it was written: by tag
    git(svc, "reset", "-q", "--hard", "HEAD~1")
    # unchanged and released: already current on the checked-out branch itself
    run = ok(bbc(root, "rollout", "mid", "--version", "1.2.0"), code=1)
    assert "[svc] already current (Dockerfile already pins these versions)" in run.out
