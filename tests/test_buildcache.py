"""Build cache from the registry (issue 24): a changed image built on an empty engine (a second
private dockerd) takes the steps before its change from its last release's inline cache; with
`--no-cache` every step runs again. Plus the pure parts: which tags are asked, which platform's
manifest of an index is taken."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbc.adapters.registry.names import DOCKER_MANIFEST, OCI_INDEX, Manifest
from bbc.plan import buildcache
from tests.cli import bbc, ok
from tests.conftest import Engine
from tests.helpers import remove_images, remove_images_on, tiny_hierarchy, write

# Each RUN leaves a value no second run reproduces: an equal value is the cached layer.
APP_DOCKERFILE = """\
ARG SOURCE_IMAGE
FROM ${SOURCE_IMAGE}
RUN cat /proc/sys/kernel/random/uuid > /tmp/stamp-1
RUN cat /proc/sys/kernel/random/uuid > /tmp/stamp-2
RUN echo three > /tmp/three
COPY app.txt /tmp/app.txt
"""
_STEP = re.compile(r"^#(\d+) (\[\d+/\d+\] .*)$")
_END = re.compile(r"^#(\d+) (CACHED|DONE [\d.]+s)$")


def build_steps(log: str) -> dict[str, str]:
    """A BuildKit build log's Dockerfile steps (`[2/5] RUN ...`) -> CACHED or DONE."""
    names: dict[str, str] = {}
    out: dict[str, str] = {}
    for line in log.splitlines():
        step, end = _STEP.match(line), _END.match(line)
        if step:
            names[step.group(1)] = step.group(2)
        elif end and end.group(1) in names:
            out[names[end.group(1)]] = end.group(2).split()[0]
    return out


@pytest.fixture()
def released_tree(tmp_path: Path, docker_client: Any, registry_addr: str,
                  second_engine: Engine) -> Iterator[tuple[Path, str]]:
    """base -> app, released (1.0.0) from the project's engine; app's last COPY then edited and
    its version bumped."""
    prefix = f"{registry_addr}/cache{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    tiny_hierarchy(root, registry=prefix)
    config = root / "bbc.yaml"
    config.write_text(config.read_text().split("  mid:\n")[0] + "  app:\n    path: images/app/app\n"
                      "    parent: base\n    version: 1.0.0\n")
    # the tree's own ENV: no RUN of it is answered by the engine's cache of another test's tree
    write(root / "images/app/app/Dockerfile",
          APP_DOCKERFILE.replace("FROM ${SOURCE_IMAGE}\n", f"FROM ${{SOURCE_IMAGE}}\nENV BBC_TEST_TREE={prefix}\n"))
    write(root / "images/app/app/app.txt", "one\n")
    try:
        yield root, prefix
    finally:
        remove_images(docker_client, prefix)
        remove_images_on(second_engine.host, prefix, prune_builds=True)


def file_in(host: str, image: str, path: str) -> str:
    import docker

    client = docker.DockerClient(base_url=host)
    try:
        return bytes(client.containers.run(image, ["cat", path], network_mode="none", remove=True)).decode()
    finally:
        client.close()


@pytest.mark.docker
def test_a_changed_image_on_an_empty_engine_takes_its_release_as_cache(
        released_tree: tuple[Path, str], second_engine: Engine, docker_client: Any) -> None:
    import os

    root, prefix = released_tree
    ok(bbc(root, "release", "--no-test"))
    released = {n: file_in(os.environ["DOCKER_HOST"], f"{prefix}/app:1.0.0", f"/tmp/{n}") for n in ("stamp-1", "stamp-2")}
    (root / "images/app/app/app.txt").write_text("two\n")
    ok(bbc(root, "bump", "app", "patch"))
    fresh = {"DOCKER_HOST": second_engine.host}

    run = ok(bbc(root, "build", "app", env=fresh))
    assert "[base] pulled 1.0.0" in run.out, run.out  # the registry's build of the unchanged parent
    assert "[app] built 1.0.1" in run.out, run.out
    log = (root / ".bbc/logs/app.log").read_text()
    assert re.search(rf"importing cache manifest from {re.escape(prefix)}/app@sha256:[0-9a-f]{{64}}", log), log
    steps = {s.partition("] ")[2]: how for s, how in build_steps(log).items() if "] FROM " not in s}
    assert steps == {"RUN cat /proc/sys/kernel/random/uuid > /tmp/stamp-1": "CACHED",
                     "RUN cat /proc/sys/kernel/random/uuid > /tmp/stamp-2": "CACHED",
                     "RUN echo three > /tmp/three": "CACHED", "COPY app.txt /tmp/app.txt": "DONE"}, log
    built = f"{prefix}/app:1.0.1"
    assert {n: file_in(second_engine.host, built, f"/tmp/{n}") for n in released} == released
    assert file_in(second_engine.host, built, "/tmp/app.txt") == "two\n"

    # --no-cache: every step again (the engine's own cache of the build just made included)
    again = ok(bbc(root, "build", "app", "--force", "--no-cache", env=fresh))
    assert "[app] built 1.0.1" in again.out, again.out
    log = (root / ".bbc/logs/app.log").read_text()
    assert "importing cache manifest" not in log, log
    assert set(build_steps(log).values()) == {"DONE"}, log
    assert file_in(second_engine.host, built, "/tmp/stamp-1") != released["stamp-1"]


@pytest.mark.docker
def test_a_build_takes_the_newest_candidate_as_cache_when_nothing_is_released(
        released_tree: tuple[Path, str], second_engine: Engine) -> None:
    # issue 24: "its last release or candidate": an earlier pipeline pushed candidates only
    import os

    from bbc.adapters.registry.client import Registry

    root, prefix = released_tree
    run = ok(bbc(root, "release", "--no-test", "--candidates"))
    host, _, namespace = prefix.partition("/")
    reg = Registry(host)
    pushed = re.search(r"\[app\] pushed candidate (candidate-[0-9a-f]{16})", run.out)
    assert pushed, run.out
    candidate = reg.manifest(f"{namespace}/app", pushed.group(1))
    latest = reg.manifest(f"{namespace}/app", "candidate-latest")
    assert candidate is not None and latest is not None and latest.digest == candidate.digest
    assert not {"1.0.0", "latest"} & set(reg.tags(f"{namespace}/app"))  # nothing released
    stamp = file_in(os.environ["DOCKER_HOST"], f"{prefix}/app:1.0.0", "/tmp/stamp-1")

    (root / "images/app/app/app.txt").write_text("two\n")
    ok(bbc(root, "build", "app", env={"DOCKER_HOST": second_engine.host}))
    log = (root / ".bbc/logs/app.log").read_text()
    assert f"importing cache manifest from {prefix}/app@{candidate.digest}" in log, log
    steps = {s.partition("] ")[2]: how for s, how in build_steps(log).items() if "] FROM " not in s}
    assert steps["RUN cat /proc/sys/kernel/random/uuid > /tmp/stamp-1"] == "CACHED", log
    assert steps["COPY app.txt /tmp/app.txt"] == "DONE", log
    assert file_in(second_engine.host, f"{prefix}/app:1.0.0", "/tmp/stamp-1") == stamp

    # the next candidate moves candidate-latest; pushing it again writes nothing more
    again = ok(bbc(root, "release", "--no-test", "--candidates", "app", env={"DOCKER_HOST": second_engine.host}))
    newer = re.search(r"\[app\] pushed candidate (candidate-[0-9a-f]{16})", again.out)
    assert newer and newer.group(1) != pushed.group(1), again.out
    moved = reg.manifest(f"{namespace}/app", "candidate-latest")
    assert moved is not None and moved.digest == reg.manifest(f"{namespace}/app", newer.group(1)).digest  # type: ignore[union-attr]


def test_the_newest_candidate_and_the_nearest_release_are_both_sources() -> None:
    cand, rel = (Manifest("sha256:" + c * 64, DOCKER_MANIFEST, b"{}") for c in "9" + "1")
    reg = _Registry({"1.0": rel, "latest": rel, "candidate-latest": cand, "candidate-0123": cand})
    sources = buildcache.Sources(reg, lambda n: f"acme/{n}", lambda n: f"reg.example/acme/{n}")  # type: ignore[arg-type]
    assert sources.of("app", "1.0.1", None) == (f"reg.example/acme/app@{cand.digest}",
                                                f"reg.example/acme/app@{rel.digest}")
    only = buildcache.Sources(_Registry({"candidate-latest": cand}), str, str)  # type: ignore[arg-type]
    assert only.of("app", "1.0.0", None) == (f"app@{cand.digest}",)
    # one platform's build reads its own platform's newest candidate
    arm = _Registry({"candidate-latest-arm64": rel, "candidate-latest": cand})
    assert buildcache.Sources(arm, str, str).of("app@arm64", "1.0.0", "linux/arm64") == (  # type: ignore[arg-type]
        f"app@arm64@{rel.digest}",)


def test_the_tags_asked_nearest_first() -> None:
    assert buildcache.release_tags("1.4.2") == ["1.4.2", "1.4", "1", "latest"]
    assert buildcache.release_tags("2.0.0-rc.1") == ["2.0.0-rc.1", "2.0", "2", "latest"]
    assert buildcache.release_tags("1.0.0+b7") == ["1.0.0_b7", "1.0", "1", "latest"]


def test_one_platform_of_an_index_is_taken_by_its_digest() -> None:
    amd, arm = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    index = Manifest("sha256:" + "c" * 64, OCI_INDEX, json.dumps({"manifests": [
        {"digest": amd, "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": arm, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}]}).encode())
    assert buildcache.platform_digest(index, "linux/arm64") == arm
    assert buildcache.platform_digest(index, "linux/amd64") == amd
    assert buildcache.platform_digest(index, "linux/s390x") is None
    single = Manifest("sha256:" + "d" * 64, DOCKER_MANIFEST, b"{}")
    assert buildcache.platform_digest(single, "linux/arm64") == single.digest


class _Registry:
    """Tags -> manifests; counts what it was asked; fails when told to."""

    host = "reg.example"

    def __init__(self, tags: dict[str, Manifest], fail: bool = False) -> None:
        self.by_tag = tags
        self.fail = fail
        self.asked: list[str] = []

    def tags(self, repository: str) -> list[str]:
        from bbc.errors import RegistryError

        self.asked.append(f"tags {repository}")
        if self.fail:
            raise RegistryError("registry reg.example: connection refused")
        return sorted(self.by_tag)

    def manifest(self, repository: str, reference: str) -> Manifest | None:
        self.asked.append(f"manifest {repository}:{reference}")
        return self.by_tag.get(reference)


def test_the_nearest_release_is_the_source_and_a_failing_registry_is_asked_once() -> None:
    one = Manifest("sha256:" + "1" * 64, DOCKER_MANIFEST, b"{}")
    reg = _Registry({"1.0.0": one, "1.0": one, "1": one, "latest": one, "candidate-0123": one})
    sources = buildcache.Sources(reg, lambda n: f"acme/{n}", lambda n: f"reg.example/acme/{n}")  # type: ignore[arg-type]
    assert sources.of("app", "1.0.1", None) == (f"reg.example/acme/app@{one.digest}",)
    assert reg.asked == ["tags acme/app", "manifest acme/app:1.0"]  # 1.0.1 is not there: not asked
    assert buildcache.Sources(_Registry({}), str, str).of("app", "1.0.0", None) == ()  # type: ignore[arg-type]
    down = _Registry({}, fail=True)
    failing = buildcache.Sources(down, str, str)  # type: ignore[arg-type]
    assert failing.of("a", "1.0.0", None) == () and failing.of("b", "1.0.0", None) == ()
    assert down.asked == ["tags a"]


@pytest.mark.docker
def test_the_legacy_builder_pulls_its_release_and_builds_from_it(
        released_tree: tuple[Path, str], second_engine: Engine) -> None:
    """DOCKER_BUILDKIT=0 on both sides: the legacy builder's cache_from matches only images it
    made, held locally, so the release is pulled onto the empty engine first."""
    import os

    root, prefix = released_tree
    legacy = {"DOCKER_BUILDKIT": "0"}
    ok(bbc(root, "release", "--no-test", env=legacy))
    stamp = file_in(os.environ["DOCKER_HOST"], f"{prefix}/app:1.0.0", "/tmp/stamp-1")
    (root / "images/app/app/app.txt").write_text("two\n")
    ok(bbc(root, "bump", "app", "patch"))
    ok(bbc(root, "build", "app", env={**legacy, "DOCKER_HOST": second_engine.host}))
    log = (root / ".bbc/logs/app.log").read_text()
    assert re.search(rf"build cache {re.escape(prefix)}/app@sha256:[0-9a-f]{{64}}: pulled", log), log
    assert log.count("Using cache") == 4, log  # the ENV and the three RUNs; the COPY of the edited file ran
    assert file_in(second_engine.host, f"{prefix}/app:1.0.1", "/tmp/stamp-1") == stamp
