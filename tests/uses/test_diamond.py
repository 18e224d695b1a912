"""A three-image diamond on a real engine, registry and git (issue 21): app uses x and y, which
share a root. Built once each, in order; the used builds passed by ID and recorded; released
all or nothing; a change to a used image rebuilds and retests its user; pull, cascade,
dependents, ancestry, status, ci, upgrade and rollout all follow the uses edges."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbc.adapters.registry.client import Registry
from tests.cli import bbc, git, ok
from tests.conftest import busybox_context
from tests.helpers import remove_images, write
from tests.test_bases import git_tree

pytestmark = pytest.mark.docker

APP = """\
ARG SOURCE_IMAGE
ARG X
ARG Y
FROM ${X} AS x
FROM ${Y} AS y
FROM ${SOURCE_IMAGE}
COPY --from=x /tmp/x.txt /srv/x.txt
COPY --from=y /tmp/y.txt /srv/y.txt
"""


def config(prefix: str, app_test: str = "cat /srv/x.txt /srv/y.txt /tmp/test-tools") -> str:
    return f"""\
registry: {prefix}
defaults: {{network: host}}
images:
  root:
    path: root
    version: 1.0.0
    test: {{command: [sh, -c, "test -x /bin/busybox"]}}
  x:
    path: x
    parent: root
    version: 1.0.0
    test: {{command: [grep, -q, x, /tmp/x.txt]}}
  y: {{path: y, parent: root, version: 1.0.0}}
  app:
    path: app
    parent: root
    uses: {{X: x, Y: y}}
    version: 1.0.0
    test:
      layer: Dockerfile.test
      command: [sh, -c, "{app_test}"]
  kid: {{path: kid, parent: app, version: 1.0.0}}
projects:
  svc: {{repo: ../svc, images: [app]}}
"""


@pytest.fixture()
def diamond(tmp_path: Path, docker_client: Any, registry_addr: str) -> Iterator[tuple[Path, str]]:
    prefix = f"{registry_addr}/diamond{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    busybox_context(root / "root")
    for name in ("x", "y"):
        write(root / f"{name}/Dockerfile", f"ARG SOURCE_IMAGE\nFROM ${{SOURCE_IMAGE}}\nRUN echo {name}1 > /tmp/{name}.txt\n")
    write(root / "x/requirements.txt", "markupsafe==3.0.1\n")
    write(root / "app/Dockerfile", APP)
    write(root / "app/Dockerfile.test", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN echo tools > /tmp/test-tools\n")
    # a child of the user: it inherits app's labels, never the builds app used
    write(root / "kid/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN cat /srv/x.txt\n")
    write(root / "bbc.yaml", config(prefix))
    try:
        yield root, prefix
    finally:
        remove_images(docker_client, prefix)


def events(out: str) -> list[tuple[str, str]]:
    """(image, what) of every `[image] built|building|pulled ...` line, in order."""
    return re.findall(r"^\[([a-z0-9@.-]+)\] (building|built|pulled)\b", out, re.M)


def labels_of(client: Any, ref: str) -> dict[str, str]:
    return dict(client.images.get(ref).labels)


def cat(client: Any, image: str, path: str) -> str:
    return client.containers.run(image, ["cat", path], remove=True, network_mode="none").decode().strip()


def released(prefix: str, name: str) -> list[str]:
    host, _, path = prefix.partition("/")
    return sorted(t for t in Registry(host).tags(f"{path}/{name}") if not t.startswith(("candidate-", "sha256-")))


def test_the_diamond_is_built_once_each_in_order_and_released_all_or_nothing(
        diamond: tuple[Path, str], docker_client: Any) -> None:
    root, prefix = diamond
    plan = ok(bbc(root, "plan", "--test")).out
    assert re.search(r"run-test:app +run +tests: root, app; not inherited from used images: x, y;", plan), plan
    data = json.loads(ok(bbc(root, "plan", "--format", "json")).out)
    build = {s["image"]: s for s in data["steps"] if s["kind"] == "build"}
    assert build["app"]["needs"] == ["build:root", "build:x", "build:y"] and build["app"]["uses"] == {"X": "x", "Y": "y"}

    run = ok(bbc(root, "build", "-j", "2"))
    done = events(run.out)
    assert sorted(i for i, what in done if what == "built") == ["app", "kid", "root", "x", "y"]  # once each
    assert done.index(("app", "building")) > max(done.index(("x", "built")), done.index(("y", "built")))
    app = labels_of(docker_client, f"{prefix}/app:1.0.0")
    ids = {n: docker_client.images.get(f"{prefix}/{n}:1.0.0").id for n in ("root", "x", "y")}
    assert json.loads(app["bbc.uses"]) == {"X": {"image": "x", "id": ids["x"]}, "Y": {"image": "y", "id": ids["y"]}}
    assert app["bbc.parent.id"] == ids["root"]
    assert cat(docker_client, f"{prefix}/app:1.0.0", "/srv/x.txt") == "x1"
    assert labels_of(docker_client, f"{prefix}/kid:1.0.0")["bbc.uses"] == ""  # app's, not inherited
    assert ok(bbc(root, "build")).out.strip() == "all 5 images up to date"

    # the test image gets the used builds too; app's test fails: nothing is released
    write(root / "bbc.yaml", config(prefix, app_test="cat /srv/z.txt"))
    failed = bbc(root, "release", "-j", "2")
    assert failed.code == 1, failed.out + failed.err
    assert all(released(prefix, n) == [] for n in ("root", "x", "y", "app", "kid")), failed.out
    write(root / "bbc.yaml", config(prefix))
    ok(bbc(root, "release", "-j", "2"))
    assert all(released(prefix, n) == ["1", "1.0", "1.0.0", "latest"] for n in ("root", "x", "y", "app", "kid"))

    # what the built image is on and with, read back from its labels
    ancestry = json.loads(ok(bbc(root, "ancestry", f"{prefix}/app:1.0.0", "--format", "json")).out)
    assert [(lv["image"], lv["via"]) for lv in ancestry] == [
        ("app", None), ("root", "parent of app"), ("x", "used by app (X)"), ("y", "used by app (Y)")]
    page = json.loads(ok(bbc(root, "report", "--offline", "--format", "json")).out)  # the report page's edges
    assert [(e["kind"], e["source"], e["target"]) for e in page["edges"] if e["target"] == "app"] == [
        ("parent", "root", "app"), ("uses", "x", "app"), ("uses", "y", "app")]
    built_on = json.loads(ok(bbc(root, "dependents", "y", "--built-on", "<2.0.0", "--format", "json")).out)
    assert {r["image"] for r in built_on if r["current"]} == {"app", "kid"}


def test_a_change_to_a_used_image_rebuilds_and_retests_its_user(diamond: tuple[Path, str],
                                                                docker_client: Any) -> None:
    root, prefix = diamond
    ok(bbc(root, "test", "-j", "2"))
    git_tree(root)
    write(root / "x/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN echo x2 > /tmp/x.txt\n")
    plan = json.loads(ok(bbc(root, "plan", "--changed", "--format", "json")).out)
    assert {s["image"]: s["action"] for s in plan["steps"] if s["kind"] == "build"} == {
        "root": "up-to-date", "x": "build", "y": "up-to-date", "app": "build", "kid": "build"}
    reasons = next(s["reasons"] for s in plan["steps"] if s["id"] == "build:app")
    assert "used image x rebuilt" in reasons
    ok(bbc(root, "build", "x"))
    status = {r["image"]: r["local"] for r in json.loads(ok(bbc(root, "status", "--offline", "--format", "json")).out)}
    assert status == {"root": "current", "x": "current", "y": "current", "app": "stale", "kid": "stale"}
    run = ok(bbc(root, "test", "--changed", "--format", "json"))
    tested = {r["image"]: r for r in json.loads(run.out)}
    assert set(tested) == {"x", "app", "kid"} and not tested["app"]["reused"], run.out
    assert [c["name"] for c in tested["app"]["tests"]] == ["root", "app"]  # x's own test is not inherited
    assert cat(docker_client, f"{prefix}/app:1.0.0", "/srv/x.txt") == "x2"

    # the cascade: x's patch bumps app (its cascade rule), and the bump says why
    run = ok(bbc(root, "bump", "x", "patch"))
    assert run.out.splitlines()[:3] == ["x: 1.0.0 -> 1.0.1", "app: 1.0.0 -> 1.0.1 (follows x, cascade: patch)",
                                        "kid: 1.0.0 -> 1.0.1 (follows app, cascade: patch)"]
    dry = ok(bbc(root, "upgrade", "markupsafe==3.0.2", "--images", "x", "--dry-run")).out
    assert "will rebuild: x, app, kid" in dry and "app: 1.0.1 -> 1.0.2 (follows x, cascade: patch)" in dry, dry


def test_pull_and_rollout_follow_the_used_builds(diamond: tuple[Path, str], docker_client: Any,
                                                 tmp_path: Path) -> None:
    from tests.commands.test_rollout import project

    root, prefix = diamond
    with (root / "y/Dockerfile").open("a") as f:
        f.write("RUN date +%s%N > /tmp/y-built-at\n")  # another build of y is another image
    ok(bbc(root, "release", "-j", "2"))
    first = {n: docker_client.images.get(f"{prefix}/{n}:1.0.0").id for n in ("root", "x", "y", "app", "kid")}
    remove_images(docker_client, prefix)
    run = ok(bbc(root, "build"))
    assert sorted(i for i, what in events(run.out) if what == "pulled") == ["app", "kid", "root", "x", "y"], run.out
    assert {n: docker_client.images.get(f"{prefix}/{n}:1.0.0").id for n in first} == first

    # y built again here (same fingerprint, another build): the registry's app was made with the
    # other y, so it is built, not pulled
    for name in ("app", "y"):
        docker_client.images.remove(first[name], force=True)
    docker_client.api.prune_builds()  # this engine only: the private one of these tests
    # --no-cache: the registry's release of y would otherwise be the cache of this build (issue 24)
    ok(bbc(root, "build", "y", "--no-pull", "--no-cache"))
    run = ok(bbc(root, "build", "app"))
    assert "[app] the registry's build is made with other builds of the images it uses; building instead" in run.out
    app = json.loads(labels_of(docker_client, f"{prefix}/app:1.0.0")["bbc.uses"])
    assert app["Y"]["id"] == docker_client.images.get(f"{prefix}/y:1.0.0").id != first["y"]

    # rollout: a project on app follows a release of x
    digest = Registry(prefix.partition("/")[0]).manifest(f"{prefix.partition('/')[2]}/app", "1.0.0")
    assert digest is not None
    svc = project(tmp_path / "svc", {"Dockerfile": f"FROM {prefix}/app:1.0.0@{digest.digest}\n"})
    ok(bbc(root, "bump", "x", "minor"))
    ok(bbc(root, "release", "-j", "2"))
    out = json.loads(ok(bbc(root, "rollout", "x", "--format", "json")).out)
    assert [(p["project"], p["status"]) for p in out] == [("svc", "updated")]
    assert [(i["image"], i["old"], i["new"]) for i in out[0]["images"]] == [("app", "1.0.0", "1.0.1")]
    assert f"{prefix}/app:1.0.1@sha256:" in git(svc, "show", f"{out[0]['branch']}:Dockerfile")


def test_ci_jobs_need_the_used_images_jobs(diamond: tuple[Path, str]) -> None:
    import yaml

    root, _ = diamond
    doc = yaml.safe_load(ok(bbc(root, "ci", "gitlab")).out)
    assert doc["build-app"]["needs"] == ["build-root", "build-x", "build-y"]
    assert sorted(doc["release"]["needs"]) == ["build-app", "build-kid", "build-root", "build-x", "build-y"]
    assert doc["build-kid"]["needs"] == ["build-app"]
