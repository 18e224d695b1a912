"""Test inheritance, sandwich recipes and JUnit counts: pure logic, no engine."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from bbc import config
from bbc.run import junit
from bbc.plan import sandwich, testing
from bbc.model.hierarchy import Hierarchy
from tests.helpers import write

CHILD = "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n"


def hierarchy(tmp_path: Path) -> Hierarchy:
    write(tmp_path / "images/root/base/Dockerfile", "FROM scratch\n")
    write(tmp_path / "images/root/base/Dockerfile.test", CHILD)
    write(tmp_path / "images/root/base/tests/check.sh", "true\n")
    for folder in ("intermediate/mid", "app/app", "app/plain", "app/own"):
        write(tmp_path / f"images/{folder}/Dockerfile", CHILD)
    write(tmp_path / "images/app/own/Dockerfile.test", CHILD)
    write(tmp_path / "bbc.yaml", """\
        registry: localhost:5000/acme
        images:
          base:
            path: images/root/base
            version: 1.0.0+build.1
            test:
              layer: Dockerfile.test
              command: /tests/check.sh
              mounts: {tests: /tests}
              timeout: 30
              expect: {user: non-root}
          mid:
            path: images/intermediate/mid
            parent: base
            version: 1.0.0
            test: {command: [true], network: host}
          app:
            path: images/app/app
            parent: mid
            version: 0.1.0
            test: {skip: [base], build_args: {PIP_ARGS: "[dev]"}, command: "pytest -q"}
          plain:
            path: images/app/plain
            parent: mid
            version: 0.1.0
          own:
            path: images/app/own
            parent: mid
            version: 0.1.0
            test: {layer: Dockerfile.test}
        """)
    return Hierarchy.of(config.load(tmp_path / "bbc.yaml"))


def test_tests_are_inherited_root_first_with_the_declarers_settings(tmp_path: Path) -> None:
    h = hierarchy(tmp_path)
    checks, skipped = testing.checks_for(h, "plain")
    assert [c.name for c in checks] == ["base", "mid"] and skipped == []
    base = checks[0]
    assert base.mounts[0].source == tmp_path / "images/root/base/tests" and base.mounts[0].target == "/tests"
    assert (base.timeout, base.network, checks[1].network) == (30, "none", "host")
    checks, skipped = testing.checks_for(h, "app")
    assert [c.name for c in checks] == ["mid", "app"] and skipped == ["base"]
    assert checks[1].command == ("/bin/sh", "-c", "pytest -q")


def test_recipes(tmp_path: Path) -> None:
    h = hierarchy(tmp_path)
    app = sandwich.recipe(h, "app")  # inherited layer from base, then app with PIP_ARGS
    assert app.base == "mid"
    assert [(p.variant, p.spec.path.name, p.spec.dockerfile, p.arg, p.suffix) for p in app.parts] == [
        ("test-layer", "base", "Dockerfile.test", "SOURCE_IMAGE", "-testlayer"),
        ("test", "app", "Dockerfile", "SOURCE_IMAGE", "-test"),
    ]
    assert app.parts[1].spec.build_args == {"PIP_ARGS": "[dev]"}
    assert sandwich.recipe(h, "own").parts[0].spec.path.name == "own"  # its own layer wins
    root = sandwich.recipe(h, "base")  # a root: the layer goes on its own release build
    assert root.base == "base" and [p.variant for p in root.parts] == ["test-layer"]
    assert root.parts[0].suffix == "-test"
    assert sandwich.test_ref(h, "base") == ("localhost:5000/acme/base", "1.0.0_build.1-test")


def test_root_users() -> None:
    assert all(testing.is_root_user(u) for u in ("", "0", "root", "0:0", "root:staff"))
    assert not any(testing.is_root_user(u) for u in ("1000", "app", "app:app", "10001:0"))


def test_junit_counts() -> None:
    ok = testing.CheckResult("base", False, testing.CheckStatus.PASSED, 0.5)
    bad = testing.CheckResult("app", True, testing.CheckStatus.FAILED, 1.0, "exit code 2", 2, "boom")
    skip = testing.CheckResult("mid", False, testing.CheckStatus.SKIPPED, message="skipped by app's test.skip")
    results = [
        testing.ImageResult("app", "0.1.0", testing.CheckStatus.FAILED, 2.0, (ok, bad, skip), "1 of 2 tests failed"),
        testing.ImageResult("web", "1.0.0", testing.CheckStatus.FAILED, 0.1, (), "test image build failed: no space\nlog"),
    ]
    top = junit.document(results)
    assert [top.get(k) for k in ("tests", "failures", "errors", "skipped")] == ["4", "1", "1", "1"]
    app, web = top.findall("testsuite")
    failure = app.find("testcase[@name='app (own)']/failure")
    assert failure is not None and failure.get("message") == "exit code 2" and failure.text == "boom"
    error = web.find("testcase[@name='build']/error")
    assert error is not None and error.get("message") == "test image build failed: no space"
    ET.fromstring(ET.tostring(top))  # well-formed
