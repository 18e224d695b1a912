"""`bbc release` and `bbc status` against the real engine and a real registry we can stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbc.adapters.registry.client import Registry
from tests.cli import bbc, ok
from tests.helpers import remove_images, tiny_hierarchy
from tests.registry_server import RegistryServer

pytestmark = pytest.mark.docker


@pytest.fixture()
def hier(tmp_path: Path, server: RegistryServer, docker_client: Any) -> Iterator[tuple[Path, str]]:
    prefix = f"{server.addr}/r{uuid.uuid4().hex[:6]}"
    root = tmp_path / "repo"
    tiny_hierarchy(root, registry=prefix)
    yield root, prefix
    remove_local(docker_client, prefix)


def remove_local(client: Any, prefix: str) -> None:
    remove_images(client, prefix)



def digests(reg: Registry, repository: str, *, torn_candidates: bool = False) -> dict[str, str]:
    """tag -> manifest digest. With `torn_candidates`, a candidate tag whose manifest the
    registry lost (it was killed while writing that push) is left out; any other is an error."""
    out = {}
    for tag in reg.tags(repository):
        manifest = reg.manifest(repository, tag)
        if manifest is None and torn_candidates and tag.startswith("candidate-"):
            continue
        assert manifest is not None, f"{repository}:{tag} is listed but has no manifest"
        out[tag] = manifest.digest
    return out


def release_tags(tags: dict[str, str]) -> dict[str, str]:
    return {t: d for t, d in tags.items() if not t.startswith("candidate-")}


def test_release_pushes_then_promotes_and_is_idempotent(hier: tuple[Path, str], server: RegistryServer) -> None:
    root, prefix = hier
    run = ok(bbc(root, "release", "--no-test", "--format", "json"))
    results = {r["image"]: r for r in json.loads(run.out)}
    assert {r["result"] for r in results.values()} == {"released"}
    reg = Registry(server.addr)
    repo = prefix.split("/", 1)[1]
    tags = digests(reg, f"{repo}/mid")
    assert {"1.2.0", "1.2", "1", "latest"} <= set(tags)
    assert len({tags[t] for t in ("1.2.0", "1.2", "1", "latest")}) == 1
    assert tags["1.2.0"] == results["mid"]["digest"]
    labels = reg.config_labels(f"{repo}/mid", "1.2.0")
    assert labels["org.opencontainers.image.version"] == "1.2.0"
    again = json.loads(ok(bbc(root, "release", "--no-test", "--format", "json")).out)
    assert {r["result"] for r in again} == {"already released"}
    assert digests(reg, f"{repo}/mid") == tags
    status = {r["image"]: r for r in json.loads(ok(bbc(root, "status", "--format", "json")).out)}
    assert status["a1"]["local"] == "current" and status["a1"]["registry"] == "released"


def test_x_y_z_is_write_once(hier: tuple[Path, str], server: RegistryServer) -> None:
    root, prefix = hier
    ok(bbc(root, "release", "--no-test", "b1"))
    reg = Registry(server.addr)
    repo = prefix.split("/", 1)[1]
    before = digests(reg, f"{repo}/b1")
    (root / "images/app/b1/data.txt").write_text("different content, same version\n")
    run = bbc(root, "release", "--no-test", "b1")
    assert run.code == 1
    assert ("bbc: error: bbc.yaml:23: images.b1.version: 2.0.0 is already released in "
            f"{prefix}/b1 with different content") in run.err
    assert "`bbc bump b1 patch`" in run.err
    assert digests(reg, f"{repo}/b1") == before
    status = {r["image"]: r for r in json.loads(ok(bbc(root, "status", "--format", "json")).out)}
    assert status["b1"]["registry"] == "differs (bump the version)"


def test_floating_tags_follow_what_the_registry_holds(hier: tuple[Path, str], server: RegistryServer) -> None:
    root, prefix = hier
    reg = Registry(server.addr)
    repo = f"{prefix.split('/', 1)[1]}/b1"

    def release_as(version: str, content: str) -> str:
        text = (root / "bbc.yaml").read_text()
        current = text.split("b1:", 1)[1].split("version: ", 1)[1].split("\n", 1)[0]
        (root / "bbc.yaml").write_text(text.replace(f"version: {current}", f"version: {version}")
                                       if text.count(f"version: {current}") == 1 else
                                       text.replace(f"parent: base\n    version: {current}",
                                                    f"parent: base\n    version: {version}"))
        (root / "images/app/b1/data.txt").write_text(content)
        ok(bbc(root, "release", "--no-test", "b1"))
        m = reg.manifest(repo, version)
        assert m is not None
        return m.digest

    d120 = release_as("1.2.0", "a\n")
    d200 = release_as("2.0.0", "b\n")
    d121 = release_as("1.2.1", "c\n")  # a patch to the older line
    tags = digests(reg, repo)
    assert tags["1.2"] == d121 and tags["1"] == d121
    assert tags["2.0"] == d200 and tags["2"] == d200 and tags["latest"] == d200
    assert tags["1.2.0"] == d120


def test_all_or_nothing_when_the_registry_stops_mid_run(
    hier: tuple[Path, str], server: RegistryServer, docker_client: Any
) -> None:
    root, prefix = hier
    ok(bbc(root, "release", "--no-test"))
    reg = Registry(server.addr)
    repos = [f"{prefix.split('/', 1)[1]}/{n}" for n in ("base", "mid", "a1", "a2", "b1")]
    released = {r: release_tags(digests(reg, r)) for r in repos}
    ok(bbc(root, "bump", "base", "minor"))  # every image gets a new version
    ok(bbc(root, "build"))
    proc = subprocess.Popen([sys.executable, "-m", "bbc.cli", "release", "--no-test"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "pushed candidate" in line:
            server.stop()  # the registry dies after the first push
            break
    rest = proc.stdout.read()
    proc.stdout.close()
    assert proc.wait(timeout=120) == 1, "".join(seen) + rest
    assert "no release tag was moved" in rest
    server.start()
    for r in repos:  # every previous release tag still points where it did; no new X.Y.Z
        now = digests(reg, r, torn_candidates=True)  # the registry died mid-push of another candidate
        assert release_tags(now) == released[r]
    finished = json.loads(ok(bbc(root, "release", "--no-test", "--format", "json")).out)
    assert {r["image"]: r["version"] for r in finished} == {
        "base": "1.1.0", "mid": "1.2.1", "a1": "0.1.1", "a2": "0.1.1", "b1": "2.0.1"}
    assert digests(reg, repos[0])["latest"] == digests(reg, repos[0])["1.1.0"]


def test_a_fresh_machine_pulls_instead_of_rebuilding(
    hier: tuple[Path, str], server: RegistryServer, docker_client: Any
) -> None:
    root, prefix = hier
    ok(bbc(root, "release", "--no-test"))
    ids = {n: docker_client.images.get(f"{prefix}/{n}:latest").id for n in ("base", "mid", "a1")}
    remove_local(docker_client, prefix)
    run = ok(bbc(root, "build", "a1"))
    assert "[base] pulling 1.0.0" in run.out and "[a1] pulling 0.1.0" in run.out
    assert "building" not in run.out
    assert {n: docker_client.images.get(f"{prefix}/{n}:latest").id for n in ids} == ids


def test_status_says_stale_when_built_on_an_older_parent(hier: tuple[Path, str], docker_client: Any) -> None:
    root, prefix = hier
    ok(bbc(root, "build", "--no-pull"))
    (root / "images/root/base/extra.txt").write_text("patched\n")
    ok(bbc(root, "build", "base", "--no-pull"))
    status = {r["image"]: r for r in json.loads(ok(bbc(root, "status", "--offline", "--format", "json")).out)}
    assert status["base"]["local"] == "current"
    assert status["mid"]["local"] == "stale" and status["a1"]["local"] == "stale"


def test_build_metadata_versions_build_release_and_report(hier: tuple[Path, str], server: RegistryServer) -> None:
    root, prefix = hier
    config = root / "bbc.yaml"
    config.write_text(config.read_text().replace("version: 1.2.0", "version: 1.2.0+b7"))
    ok(bbc(root, "build"))
    status = {r["image"]: r for r in json.loads(ok(bbc(root, "status", "--format", "json")).out)}
    assert status["mid"]["local"] == "current" and status["mid"]["registry"] == "not released"
    released = {r["image"]: r for r in json.loads(ok(bbc(root, "release", "--no-test", "--format", "json")).out)}
    assert released["mid"]["result"] == "released"
    assert released["mid"]["tags"] == ["1.2.0_b7", "1.2", "1", "latest"]
    reg = Registry(server.addr)
    repo = prefix.split("/", 1)[1] + "/mid"
    tags = digests(reg, repo)
    assert tags["1.2.0_b7"] == tags["latest"] == released["mid"]["digest"]
    status = {r["image"]: r for r in json.loads(ok(bbc(root, "status", "--format", "json")).out)}
    assert status["mid"]["registry"] == "released"
    again = {r["image"]: r["result"] for r in json.loads(ok(bbc(root, "release", "--no-test", "--format", "json")).out)}
    assert set(again.values()) == {"already released"}


def test_plan_release_shows_every_step_and_why(hier: tuple[Path, str], server: RegistryServer) -> None:
    root, _ = hier
    ok(bbc(root, "build"))
    plan = json.loads(ok(bbc(root, "plan", "--release", "--no-test", "--format", "json")).out)
    steps = {s["id"]: s for s in plan["steps"]}
    assert [s["kind"] for s in plan["steps"]].count("push-candidate") == 5
    assert steps["build:mid"]["action"] == "up-to-date"
    assert steps["push-candidate:mid"]["needs"] == ["build:mid"]
    assert steps["promote"]["needs"] == [f"push-candidate:{n}" for n in ("base", "mid", "a1", "a2", "b1")]
    ok(bbc(root, "release", "--no-test"))
    # released: nothing to push; the promotion only confirms the floating tags
    plan = json.loads(ok(bbc(root, "plan", "--release", "--no-test", "--format", "json")).out)
    assert [s["kind"] for s in plan["steps"]].count("push-candidate") == 0
    table = ok(bbc(root, "plan", "--release")).out
    assert "promote" in table and "push-candidate" not in table
