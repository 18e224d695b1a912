"""`bbc test` and `bbc build --test` against the real engine, on tiny busybox hierarchies.

Every hierarchy gets a unique registry prefix and a unique file in its root's context, so
its fingerprints are its own: nothing is reused from another test, and cleanup removes
only what this test built.
"""

from __future__ import annotations

import json
import textwrap
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from click.testing import CliRunner, Result

from bbc.cli.app import cli
from tests.conftest import busybox_context
from tests.helpers import container_ids, ctrl_c, write

pytestmark = pytest.mark.docker
LABEL = "bbc.test-container"

LAYER = """\
ARG SOURCE_IMAGE
FROM ${SOURCE_IMAGE}
USER 0
RUN mkdir -p /usr/local/bin && printf '#!/bin/sh\\necho tool-ok\\n' > /usr/local/bin/testtool \\
    && chmod 755 /usr/local/bin/testtool
USER 1000
"""
CHILD = "ARG SOURCE_IMAGE\nFROM ${{SOURCE_IMAGE}}\nCOPY data.txt /srv/{name}/data.txt\nRUN echo {name} >> /tmp/chain\n"
PIP_APP = CHILD + 'ARG PIP_ARGS=\nRUN echo "install .${{PIP_ARGS}}" > /tmp/pipargs\n'


@pytest.fixture()
def make(tmp_path: Path, docker_client: Any) -> Iterator[Callable[..., tuple[Path, str]]]:
    """make(images_yaml, roots=..., children={name: (folder, dockerfile)}) -> (root, registry)."""
    registry = f"localhost:5000/tt{uuid.uuid4().hex[:8]}"

    def _make(images: str, *, roots: tuple[str, ...] = ("base",),
              children: dict[str, tuple[str, str]] | None = None, files: dict[str, str] | None = None) -> tuple[Path, str]:
        for root in roots:
            ctx = busybox_context(tmp_path / f"images/root/{root}")
            (ctx / "unique.txt").write_text(uuid.uuid4().hex)  # a fingerprint of our own
        for name, (folder, dockerfile) in (children or {}).items():
            write(tmp_path / f"images/{folder}/Dockerfile", dockerfile.format(name=name))
            write(tmp_path / f"images/{folder}/data.txt", f"{name}\n")
        for rel, text in (files or {}).items():
            write(tmp_path / rel, text)
        write(tmp_path / "bbc.yaml", f"registry: {registry}\ndefaults:\n  network: host\nimages:\n"
              + textwrap.indent(textwrap.dedent(images), "  "))
        return tmp_path, registry

    yield _make
    for tag in tags_under(docker_client, registry):
        try:
            docker_client.images.remove(tag, force=True)
        except docker.errors.NotFound:
            pass  # went with an earlier tag of the same image


def tags_under(client: Any, registry: str) -> set[str]:
    # the low-level list: images.list() inspects each image and races with other test runs
    return {t for row in client.api.images() for t in row.get("RepoTags") or () if t.startswith(registry + "/")}


def bbc(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-c", str(root / "bbc.yaml"), *args], catch_exceptions=False)


def containers(client: Any) -> set[str]:
    return container_ids(client, LABEL)


def cat(client: Any, image: str, path: str) -> str:
    out = client.containers.run(image, ["cat", path], remove=True, network_mode="none")
    return str(out.decode())


def has(client: Any, image: str, path: str) -> bool:
    out = client.containers.run(image, ["sh", "-c", f"test -e {path} && echo yes || echo no"], remove=True,
                                network_mode="none")
    return bool(out.decode().strip() == "yes")


SANDWICH = """\
base:
  path: images/root/base
  version: 1.0.0
  test:
    layer: Dockerfile.test
    command: echo base-check-ran; test -w /tmp
    expect: {user: non-root, files: [/bin/busybox], absent: [/usr/local/bin/testtool]}
mid:
  path: images/intermediate/mid
  parent: base
  version: 1.2.0
  test:
    command: [test, -f, /srv/mid/data.txt]
app:
  path: images/app/app
  parent: mid
  version: 0.1.0
  test:
    build_args: {PIP_ARGS: "[dev]"}
    command: testtool && grep -qF 'install .[dev]' /tmp/pipargs && test "$(cat /tmp/chain)" = "$(printf 'mid\\napp')"
"""


def sandwich(make: Callable[..., tuple[Path, str]]) -> tuple[Path, str]:
    return make(SANDWICH, children={"mid": ("intermediate/mid", CHILD), "app": ("app/app", PIP_APP)},
                files={"images/root/base/Dockerfile.test": LAYER})


def test_test_layer_reaches_the_test_image_only_and_a_second_run_builds_nothing(
    make: Callable[..., tuple[Path, str]], docker_client: Any
) -> None:
    root, registry = sandwich(make)
    before = containers(docker_client)
    run = bbc(root, "test", "app")
    assert run.exit_code == 0, run.output
    assert "[app] building test layer Dockerfile.test from base" in run.output
    assert "[app] tests passed in " in run.output
    summary = [line.split() for line in run.stdout.splitlines() if line.startswith("app ")]
    assert summary and summary[-1][:5] == ["app", "base,", "mid,", "own", "passed"]
    test_image = docker_client.images.get(f"{registry}/app:0.1.0-test")
    layer = docker_client.images.get(f"{registry}/app:0.1.0-testlayer")
    release = docker_client.images.get(f"{registry}/app:0.1.0")  # built first, as bbc build does
    mid = docker_client.images.get(f"{registry}/mid:1.2.0")
    # the sandwich: mid's release build -> test layer -> app's own Dockerfile with PIP_ARGS=[dev]
    assert layer.labels["bbc.parent.id"] == mid.id and layer.labels["bbc.test"] == "test-layer"
    assert test_image.labels["bbc.parent.id"] == layer.id and test_image.labels["bbc.test"] == "test"
    assert test_image.labels["bbc.fingerprint"] not in (release.labels["bbc.fingerprint"], mid.labels["bbc.fingerprint"])
    assert has(docker_client, test_image.id, "/usr/local/bin/testtool")
    assert not has(docker_client, release.id, "/usr/local/bin/testtool")
    assert cat(docker_client, test_image.id, "/tmp/pipargs").strip() == "install .[dev]"
    assert cat(docker_client, release.id, "/tmp/pipargs").strip() == "install ."
    # the same app Dockerfile produced both: same steps on top of their parents
    assert cat(docker_client, test_image.id, "/tmp/chain").split() == cat(docker_client, release.id, "/tmp/chain").split()
    assert not [t for t in test_image.tags + layer.tags if not t.endswith(("-test", "-testlayer"))]
    # the root-level test ran on the grandchild, which never declared it
    log = (root / ".bbc/logs/app.test.log").read_text()
    assert "base-check-ran" in log
    assert containers(docker_client) == before

    # nothing changed: the pass is remembered; no test image is even looked at
    again = bbc(root, "test", "app", "--junit-xml", str(root / "junit.xml"))
    assert again.exit_code == 0, again.output
    assert "building" not in again.output
    assert "[app] tests passed before: same image, same tests" in again.output
    assert containers(docker_client) == before
    # --rerun runs the tests again, reusing both test images
    again = bbc(root, "test", "app", "--rerun", "--junit-xml", str(root / "junit.xml"))
    assert again.exit_code == 0, again.output
    assert "building" not in again.output
    assert "[app] reusing test layer Dockerfile.test from base" in again.output
    assert "[app] reusing app with test build args PIP_ARGS=[dev]" in again.output
    assert "[app] tests passed in " in again.output
    assert docker_client.images.get(f"{registry}/app:0.1.0-test").id == test_image.id
    assert docker_client.images.get(f"{registry}/app:0.1.0-testlayer").id == layer.id
    suites = ET.parse(root / "junit.xml").getroot()
    assert (suites.get("tests"), suites.get("failures"), suites.get("errors")) == ("3", "0", "0")
    (suite,) = suites.findall("testsuite")
    assert suite.get("name") == "app"
    assert [c.get("name") for c in suite.findall("testcase")] == ["base", "mid", "app (own)"]
    assert containers(docker_client) == before


def test_second_run_makes_no_build_call(make: Callable[..., tuple[Path, str]], capsys: pytest.CaptureFixture[str]) -> None:
    from bbc import config
    from bbc.commands import test as test_cmd
    from bbc.adapters.docker.engine import connect
    from bbc.model.hierarchy import Hierarchy
    from bbc.plan.steps import Selection
    from bbc.run.options import RunOptions

    root, _ = sandwich(make)
    h = Hierarchy.of(config.load(root / "bbc.yaml"))
    assert test_cmd.test(h, connect(), Selection(("app",))) == 0
    engine = connect()
    builds: list[Any] = []
    real_build = engine.build
    engine.build = lambda request, on_line: builds.append(request) or real_build(request, on_line)  # type: ignore[method-assign]
    assert test_cmd.test(h, engine, Selection(("app",)), RunOptions(rerun=True)) == 0
    assert builds == []
    assert "[app] tests passed in " in capsys.readouterr().out
    # without --rerun the recorded pass is reused: no build, no container
    runs: list[Any] = []
    engine.run = lambda *a, **k: runs.append(a) or None  # type: ignore[method-assign]
    assert test_cmd.test(h, engine, Selection(("app",)), RunOptions(fmt="json")) == 0
    out = json.loads(capsys.readouterr().out)
    assert (builds, runs) == ([], [])
    assert [(r["image"], r["result"], r["reused"]) for r in out] == [("app", "passed", True)]


def test_a_changed_test_runs_again(make: Callable[..., tuple[Path, str]]) -> None:
    root, _ = sandwich(make)
    assert bbc(root, "test", "app").exit_code == 0
    # an inherited test changes (not the images): app's tests run again, nothing is rebuilt
    config = root / "bbc.yaml"
    config.write_text(config.read_text().replace("[test, -f, /srv/mid/data.txt]", "[test, -d, /srv/mid]"))
    run = bbc(root, "test", "app")
    assert run.exit_code == 0, run.output
    assert "[app] tests passed in " in run.output
    assert "passed before" not in run.output and "building" not in run.output
    assert "[app] tests passed before" in bbc(root, "test", "app").output


FAILING = """\
base:
  path: images/root/base
  version: 1.0.0
  test:
    command: test ! -e /srv/skipper/data.txt
mid:
  path: images/intermediate/mid
  parent: base
  version: 1.0.0
bad:
  path: images/app/bad
  parent: mid
  version: 0.1.0
  test:
    command: echo some-output-before-failing; exit 3
hang:
  path: images/app/hang
  parent: mid
  version: 0.1.0
  test:
    command: [sleep, "600"]
    timeout: 3
skipper:
  path: images/app/skipper
  parent: base
  version: 0.1.0
  test:
    skip: [base]
    command: [test, -f, /srv/skipper/data.txt]
"""


def failing(make: Callable[..., tuple[Path, str]]) -> tuple[Path, str]:
    return make(FAILING, children={"mid": ("intermediate/mid", CHILD), "bad": ("app/bad", CHILD),
                                   "hang": ("app/hang", CHILD), "skipper": ("app/skipper", CHILD)})


def test_failures_and_timeouts_are_named_and_leave_no_container(
    make: Callable[..., tuple[Path, str]], docker_client: Any
) -> None:
    root, _ = failing(make)
    before = containers(docker_client)
    start = time.monotonic()
    run = bbc(root, "test", "-j", "2", "--junit-xml", str(root / "out/junit.xml"))
    assert time.monotonic() - start < 120
    assert run.exit_code == 1, run.output
    assert "[bad] FAILED after" in run.output and "bad (own): exit code 3" in run.output
    assert "| some-output-before-failing" in run.output
    assert "[hang] FAILED after" in run.output and "timed out after 3s" in run.output
    assert "[skipper] tests passed" in run.output
    rows = {line.split()[0]: line for line in run.stdout.splitlines() if line.split()[:1]}
    assert "own (skips base)" in rows["skipper"] and "passed" in rows["skipper"]
    assert rows["mid"].split()[1:3] == ["base", "passed"]  # inherited without declaring anything
    assert "failed: bad: 1 of 2 tests failed" in run.stdout
    assert containers(docker_client) == before
    suites = {s.get("name"): s for s in ET.parse(root / "out/junit.xml").getroot().findall("testsuite")}
    assert {n: (s.get("tests"), s.get("failures"), s.get("skipped")) for n, s in suites.items()} == {
        "base": ("1", "0", "0"), "mid": ("1", "0", "0"), "bad": ("2", "1", "0"),
        "hang": ("2", "1", "0"), "skipper": ("2", "0", "1"),
    }
    failure = suites["bad"].find("testcase[@name='bad (own)']/failure")
    assert failure is not None and failure.get("message") == "exit code 3"
    assert "some-output-before-failing" in (failure.text or "")

    as_json = bbc(root, "test", "bad", "--format", "json")
    assert as_json.exit_code == 1
    (entry,) = json.loads(as_json.stdout)
    assert entry["result"] == "failed" and entry["tests"][1]["exit_code"] == 3

    kept = bbc(root, "test", "bad", "--keep")
    assert kept.exit_code == 1 and "kept the containers of failed tests" in kept.output
    left = containers(docker_client) - before
    assert len(left) == 1
    for cid in left:
        docker_client.containers.get(cid).remove(force=True)


def test_ctrl_c_removes_the_running_test_container(make: Callable[..., tuple[Path, str]], docker_client: Any) -> None:
    root, _ = failing(make)
    # the hang's own 3 s timeout would race the signal on a loaded machine: Ctrl-C must come first
    config = root / "bbc.yaml"
    config.write_text(config.read_text().replace("timeout: 3", "timeout: 120"))
    assert bbc(root, "build", "hang").exit_code == 0
    before = containers(docker_client)

    def hanging() -> bool:
        # the hanging test's own container: the inherited checks before it come and go
        return any("sleep 600" in row.get("Command", "")
                   for row in docker_client.api.containers(all=True, filters={"label": LABEL}))

    code, out = ctrl_c(["test", "hang"], root, hanging, "the hanging test container to start", settle=0.5, wait=60)
    assert code == 130, out
    assert containers(docker_client) == before


def test_build_test_refuses_tags_to_a_failing_image_and_skips_its_children(
    make: Callable[..., tuple[Path, str]], docker_client: Any
) -> None:
    root, registry = make(
        """\
        base:
          path: images/root/base
          version: 1.0.0
          test:
            expect: {user: non-root}
        mid:
          path: images/intermediate/mid
          parent: base
          version: 1.2.0
          test:
            command: echo mid-is-broken; exit 1
        app:
          path: images/app/app
          parent: mid
          version: 0.1.0
        """,
        children={"mid": ("intermediate/mid", CHILD), "app": ("app/app", CHILD)},
    )
    run = bbc(root, "build", "--test")
    assert run.exit_code == 1, run.output
    assert "[base] tests passed" in run.output
    assert "[mid] FAILED after" in run.output and "mid (own): exit code 1" in run.output
    assert "[app] skipped (parent mid failed its tests)" in run.output
    tags = tags_under(docker_client, registry)
    assert f"{registry}/base:1.0.0" in tags
    assert not {t for t in tags if t.startswith((f"{registry}/mid:", f"{registry}/app:"))} - {f"{registry}/mid:1.2.0-test"}
    assert f"{registry}/mid:1.2.0" not in tags


def test_expect_checks_need_no_shell(make: Callable[..., tuple[Path, str]], tmp_path: Path) -> None:
    scratch = "FROM scratch\nCOPY hello /hello\n"
    root, _ = make(
        """\
        lonely:
          path: images/root/lonely
          version: 1.0.0
          test:
            expect: {user: non-root, files: [/hello], absent: [/bin/sh]}
        rooty:
          path: images/root/rooty
          version: 1.0.0
          test:
            expect: {user: non-root, files: [/hello, /etc/ssl/certs/ca-certificates.crt]}
        """,
        roots=(),
        files={"images/root/lonely/Dockerfile": scratch + "USER 1000\n", "images/root/lonely/hello": uuid.uuid4().hex,
               "images/root/rooty/Dockerfile": scratch, "images/root/rooty/hello": uuid.uuid4().hex},
    )
    run = bbc(root, "test")
    assert run.exit_code == 1, run.output
    assert "[lonely] tests passed" in run.output
    assert "rooty (own): runs as root (User is unset), expected non-root; " \
           "/etc/ssl/certs/ca-certificates.crt is missing" in run.output


def test_build_args_alone(make: Callable[..., tuple[Path, str]], docker_client: Any) -> None:
    root, registry = make(
        """\
        base:
          path: images/root/base
          version: 1.0.0
        app:
          path: images/app/app
          parent: base
          version: 0.1.0
          test:
            build_args: {PIP_ARGS: "[dev]"}
            command: grep -qF 'install .[dev]' /tmp/pipargs
        """,
        children={"app": ("app/app", PIP_APP)},
    )
    run = bbc(root, "test")
    assert run.exit_code == 0, run.output
    assert "[app] building app with test build args PIP_ARGS=[dev]" in run.output
    assert "no tests" in next(line for line in run.stdout.splitlines() if line.startswith("base "))
    assert cat(docker_client, f"{registry}/app:0.1.0-test", "/tmp/pipargs").strip() == "install .[dev]"
    assert cat(docker_client, f"{registry}/app:0.1.0", "/tmp/pipargs").strip() == "install ."
