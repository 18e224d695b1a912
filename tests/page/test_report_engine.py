"""`bbc report` on a small busybox hierarchy that is really built, tested and released on the
project's engine and a registry of the test's own, so every state the page shows is real: up to
date and released, must rebuild (a file edited), tests failed, built but not released (a bumped
version), findings routed to an owner, a project pinning an older version, signatures checked."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bbc.adapters.registry.client import Registry
from tests.cli import bbc, ok
from tests.conftest import busybox_context
from tests.helpers import remove_images, write
from tests.registry_server import RegistryServer

pytestmark = pytest.mark.docker

CHILD = "ARG SOURCE_IMAGE\nFROM ${{SOURCE_IMAGE}}\nCOPY data.txt /srv/{name}.txt\n"
DPKG = "Package: libfoo\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n\n"


@dataclass(frozen=True)
class Tree:
    root: Path
    registry: RegistryServer
    prefix: str
    scan: Path


def _write(root: Path, prefix: str) -> None:
    busybox_context(root / "images/base")
    for name in ("mid", "a1", "a2", "b1"):
        write(root / f"images/{name}/Dockerfile", CHILD.format(name=name))
        write(root / f"images/{name}/data.txt", f"{name}\n")
    # mid installs a Debian package (a dpkg status entry): scan findings on it are mid's
    (root / "images/mid/Dockerfile").write_text(CHILD.format(name="mid") + "COPY status /var/lib/dpkg/status\n")
    write(root / "images/mid/status", DPKG)
    write(root / "bbc.yaml", f"""\
        registry: {prefix}
        defaults: {{network: host}}
        signing: {{public_keys: [keys/bbc.pub]}}
        images:
          base:
            path: images/base
            version: 1.0.0
            owner: platform@acme.example
            test: {{command: ["/bin/sh", "-c", "test -x /bin/busybox"]}}
          mid: {{path: images/mid, parent: base, version: 1.2.0, owner: mid-team@acme.example}}
          a1:
            path: images/a1
            parent: mid
            version: 0.1.0
            test: {{command: ["/bin/sh", "-c", "echo broken; exit 3"]}}
          a2: {{path: images/a2, parent: mid, version: 0.1.0}}
          b1: {{path: images/b1, parent: base, version: 2.0.0}}
        projects:
          shop: {{repo: projects/shop, file: Dockerfile, images: [mid]}}
          legacy: {{repo: projects/legacy, file: Dockerfile, images: [b1]}}
        """)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Iterator[Tree]:
    base = tmp_path_factory.mktemp("report")
    server = RegistryServer(base / "registry")
    server.start()
    prefix = f"{server.addr}/p{uuid.uuid4().hex[:6]}"
    root = base / "repo"
    _write(root, prefix)
    try:
        ok(bbc(root, "keys", "generate", "keys"))
        ok(bbc(root, "release", "base", "mid", "a2", "b1"))  # tested, pushed, promoted
        ok(bbc(root, "build", "a1"))
        ok(bbc(root, "test", "a1"), 1)  # its own test fails: remembered as failed
        digest = Registry(server.addr).manifest(prefix.partition("/")[2] + "/mid", "1.2.0")
        assert digest is not None
        write(root / "projects/shop/Dockerfile", f"FROM {prefix}/mid:1.2.0@{digest.digest}\n")
        write(root / "projects/legacy/Dockerfile", f"FROM {prefix}/b1:2.0.0\nCOPY . /app\n")
        ok(bbc(root, "bump", "b1", "minor"))  # 2.1.0: built below, never released
        ok(bbc(root, "build", "b1"))
        (root / "images/a2/data.txt").write_text("a2, edited\n")  # a2 must rebuild
        scan = write(root / "trivy.json", json.dumps({"ArtifactName": f"{prefix}/a1:0.1.0", "Results": [
            {"Vulnerabilities": [
                {"VulnerabilityID": "CVE-2026-0001", "PkgName": "libfoo", "InstalledVersion": "1.0-1",
                 "FixedVersion": "1.0-2", "Severity": "HIGH"},
                {"VulnerabilityID": "CVE-2026-0002", "PkgName": "libbar", "InstalledVersion": "3",
                 "Severity": "CRITICAL"}]}]}))
        yield Tree(root, server, prefix, scan)
    finally:
        server.stop()
        remove_images(docker_client, prefix)


def report(tree: Tree, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ok(bbc(tree.root, "report", "--format", "json", "--packages", "off",
                                             *args)).out)
    return data


def by_unit(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["unit"]: i for i in data["images"]}


def test_every_state_is_what_the_engine_and_registry_hold(tree: Tree) -> None:
    images = by_unit(report(tree, "--scan", str(tree.scan)))
    assert {u: i["states"] for u, i in images.items()} == {
        "base": ["up to date"],
        "mid": ["findings: high"],
        "a1": ["tests failed"],
        "a2": ["must rebuild"],
        "b1": ["up to date"],
    }
    assert images["a2"]["why"] == ["files changed: data.txt"]
    # a2's X.Y.Z holds the build before the edit: what bbc status says too
    assert {u: i["release"]["state"] for u, i in images.items()} == {
        "base": "released", "mid": "released", "a1": "not released", "a2": "differs (bump the version)",
        "b1": "not released"}
    assert images["mid"]["release"]["digest"].startswith("sha256:") and images["mid"]["release"]["created"]
    assert images["a1"]["tests"]["status"] == "failed"
    assert images["base"]["tests"]["status"] == "passed" and images["base"]["tests"]["when"]
    assert images["b1"]["tests"]["status"] == "passed on an earlier build"  # 2.0.0 passed; 2.1.0 never ran
    # sizes from the engine: mid adds its data file and the status file to base's busybox
    assert images["base"]["own_size"] == images["base"]["size"] > 1_000_000
    assert images["mid"]["own_size"] == images["mid"]["size"] - images["base"]["size"]
    assert 0 < images["mid"]["own_size"] < 1000
    assert images["mid"]["owner"] == "mid-team@acme.example"
    # signing is configured, bbc release does not sign yet: verify says so, per released image
    assert images["base"]["signature"]["status"] == "failed"
    assert "unsigned" in images["base"]["signature"]["detail"]
    assert images["b1"]["signature"]["status"] == "unknown"  # 2.1.0 is not in the registry


def test_findings_are_routed_to_the_image_that_installed_the_package(tree: Tree) -> None:
    data = report(tree, "--scan", str(tree.scan))
    assert [(f["id"], f["image"], f["owner"]) for f in data["findings"]] == [
        ("CVE-2026-0002", None, None),  # critical, but libbar is not in the image: no owner
        ("CVE-2026-0001", "mid", "mid-team@acme.example")]
    routed = data["findings"][1]
    assert routed["scanned"] == "a1" and routed["fix"] == "bbc build mid --force"
    assert set(routed["blast"]) == {"a1", "a2", "project shop"}
    assert data["scans"] == [{"file": str(tree.scan), "image": "a1", "format": "trivy", "findings": 2}]


def test_projects_the_furthest_behind_first_with_what_their_pin_stands_on(tree: Tree) -> None:
    projects = report(tree)["projects"]
    assert [(p["project"], p["image"], p["version"], p["current"], p["behind"]) for p in projects] == [
        ("legacy", "b1", "2.0.0", "2.1.0", "minor"),
        ("shop", "mid", "1.2.0", "1.2.0", "current")]
    assert [(lv["image"], lv["version"]) for lv in projects[1]["ancestry"]] == [("base", "1.0.0"), ("mid", "1.2.0")]
    assert projects[0]["where"] == "Dockerfile:1"


def test_offline_asks_no_registry_and_says_what_is_unknown(tree: Tree) -> None:
    tree.registry.stop()
    try:
        data = report(tree, "--offline")
        online = report(tree)  # the registry is down: said per image, nothing crashes
    finally:
        tree.registry.start()
    images = by_unit(data)
    assert {i["release"]["state"] for i in images.values()} == {"unknown"}
    assert images["a2"]["states"] == ["must rebuild"] and images["a1"]["states"] == ["tests failed"]
    assert data["offline"] is True and "not asked" in data["unknown"][0]
    assert {i["release"]["state"] for i in online["images"]} == {"unknown"}
    assert "failed" in by_unit(online)["base"]["release"]["detail"]


def test_the_page_and_the_json_hold_the_same_states(tree: Tree) -> None:
    page = tree.root / "report.html"
    ok(bbc(tree.root, "report", "--html", "-o", str(page), "--packages", "off", "--scan", str(tree.scan)))
    text = page.read_text()
    states = {u: i["state"] for u, i in by_unit(report(tree, "--scan", str(tree.scan))).items()}
    for unit, state in states.items():
        assert f'data-unit="{unit}" data-state="{state}"' in text
        assert f'<tr id="image-{unit}" data-unit="{unit}">' in text
    assert "CVE-2026-0001" in text and "mid-team@acme.example" in text


def test_the_page_in_chromium_shows_every_node_and_row_with_the_network_off(tree: Tree, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from tests.browser import chromium, fetched, open_page

    page = tmp_path / "report.html"
    ok(bbc(tree.root, "report", "--html", "-o", str(page), "--packages", "off", "--scan", str(tree.scan)))
    states = {u: i["state"] for u, i in by_unit(report(tree, "--scan", str(tree.scan))).items()}
    with chromium() as driver:
        open_page(driver, page)
        assert driver.title.startswith("bbc report")
        for unit, state in states.items():
            node = driver.find_element(By.ID, f"node-{unit}")
            assert node.is_displayed() and node.get_attribute("data-state") == state
            assert unit in node.text
            assert driver.find_element(By.ID, f"image-{unit}").is_displayed()
        # a box links to its row
        driver.find_element(By.CSS_SELECTOR, '[id="node-a1"] a').click()
        assert driver.execute_script("return location.hash") == "#image-a1"
        assert fetched(driver) == []  # nothing but the file itself
        assert "CVE-2026-0001" in driver.find_element(By.ID, "findings").text
        if os.environ.get("BBC_SCREENSHOTS"):  # docs/: `BBC_SCREENSHOTS=docs pytest -k chromium`
            driver.set_window_size(1400, 1500)
            open_page(driver, page)
            driver.save_screenshot(str(Path(os.environ["BBC_SCREENSHOTS"]) / "report-busybox.png"))


def test_bad_input_is_refused_in_one_located_line_and_nothing_is_written(tree: Tree, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    run = bbc(tree.root, "report", "--html")
    assert run.code == 1 and "--html needs -o FILE" in run.err
    run = bbc(tree.root, "report", "--html", "-o", str(page), "--scan", f"nope={tree.scan}")
    assert run.code == 1 and "unknown image 'nope'" in run.err
    osv = write(tmp_path / "osv.json", json.dumps([{"id": "OSV-1", "affected": [{"package": {"name": "libfoo"}}]}]))
    run = bbc(tree.root, "report", "--html", "-o", str(page), "--scan", str(osv))
    assert run.code == 1 and "names no image of the hierarchy" in run.err and f"--scan IMAGE={osv}" in run.err
    assert not page.exists()
    data = report(tree, "--offline", "--scan", f"mid={osv}")  # named: routed like any other
    assert [(f["id"], f["image"]) for f in data["findings"]] == [("OSV-1", "mid")]
