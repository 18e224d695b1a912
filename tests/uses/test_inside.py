"""Ownership follows copies (issue 21), on a real engine: a runtime root assembled FROM scratch
out of its parent's files, and an app copying its serving stack from a used image. `bbc why`,
`bbc sbom` and `bbc scan` name the image that installed each package, and every fix command
scan prints is run as printed, and works."""

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

from tests.cli import bbc, ok
from tests.conftest import busybox_context
from tests.helpers import remove_images, write
from tests.test_bases import FAKE_APT, PREPARE_ROOTFS, STATUS, git_tree

pytestmark = pytest.mark.docker

# stands in for pip: a distribution per pinned requirement, with its METADATA and RECORD
INSTALL = """#!/bin/sh
set -e
site=/opt/venv/lib/python3.11/site-packages
grep '==' "$1" | while IFS='=' read -r name _ version; do
  mkdir -p "$site/$name" "$site/$name-$version.dist-info"
  echo "__version__ = '$version'" > "$site/$name/__init__.py"
  printf 'Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n' "$name" "$version" > "$site/$name-$version.dist-info/METADATA"
  printf '%s/__init__.py,sha256=%s,20\\n%s-%s.dist-info/METADATA,,\\n' "$name" "$(sha256sum "$site/$name/__init__.py" | cut -c1-64)" "$name" "$version" > "$site/$name-$version.dist-info/RECORD"
done
"""
INSTALLS = """\
ARG SOURCE_IMAGE
FROM ${SOURCE_IMAGE}
USER 0
COPY requirements.txt install.sh /opt/bbc/
RUN sh /opt/bbc/install.sh /opt/bbc/requirements.txt
USER 1000
"""
ASSEMBLED = """\
ARG SOURCE_IMAGE
FROM ${SOURCE_IMAGE} AS build
FROM scratch
COPY --from=build / /
USER 1000
"""
APP = """\
ARG SOURCE_IMAGE
ARG SERVING_IMAGE
FROM ${SERVING_IMAGE} AS serving
FROM ${SOURCE_IMAGE}
COPY --from=serving /opt/venv/lib/python3.11/site-packages/ /opt/venv/lib/python3.11/site-packages/
"""


@pytest.fixture()
def tree(tmp_path: Path, docker_client: Any, registry_addr: str) -> Iterator[tuple[Path, str]]:
    prefix = f"{registry_addr}/inside{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    context = busybox_context(root / "images/os", user="1000")
    write(context / "apt-get", FAKE_APT)  # reports libssl3's update; the prepare step decides
    write(context / "prepare.sh", PREPARE_ROOTFS.replace("../../../archive", "../../archive"))
    with (context / "Dockerfile").open("a") as f:
        f.write("COPY --chmod=755 apt-get /usr/bin/apt-get\nADD rootfs.tar.gz /\n")
    write(root / "archive/status", STATUS.format(ssl="3.0.11-1~deb12u1"))
    for name, pins in (("ml", "numpy==1.0.0\n"), ("web", "flask==3.1.3\n")):
        write(root / f"images/{name}/Dockerfile", INSTALLS)
        write(root / f"images/{name}/install.sh", INSTALL)
        write(root / f"images/{name}/requirements.txt", pins)
    write(root / "images/rt/Dockerfile", ASSEMBLED)
    write(root / "images/app/Dockerfile", APP)
    write(root / ".gitignore", "rootfs.tar.gz\n")
    write(root / "bbc.yaml", f"""\
registry: {prefix}
defaults: {{network: host}}
images:
  os:
    path: images/os
    version: 1.0.0
    owner: platform
    prepare: {{command: sh ./prepare.sh, inputs: [prepare.sh], outputs: [rootfs.tar.gz], refresh: true}}
  ml: {{path: images/ml, parent: os, version: 1.0.0, owner: ml-team}}
  web: {{path: images/web, parent: os, version: 1.0.0, owner: web-team}}
  rt: {{path: images/rt, parent: ml, version: 1.0.0}}
  app:
    path: images/app
    parent: rt
    uses: {{SERVING_IMAGE: web}}
    version: 1.0.0
""")
    git_tree(root)
    try:
        yield root, prefix
    finally:
        remove_images(docker_client, prefix)


def owners(root: Path, image: str) -> dict[str, tuple[str, str | None]]:
    """package -> (the image that installed it, the image that copied it in), from `bbc sbom`."""
    out = {}
    for c in json.loads(ok(bbc(root, "sbom", image)).out)["components"]:
        props = {p["name"]: p["value"] for p in c["properties"]}
        out[c["name"]] = (props["bbc:image"], props.get("bbc:copied-by"))
    return out


def test_packages_copied_from_a_used_or_parent_build_are_owned_where_installed(tree: tuple[Path, str]) -> None:
    root, _ = tree
    ok(bbc(root, "build"))
    assert owners(root, "ml")["numpy"] == ("ml", None)
    assert owners(root, "rt") == {"numpy": ("ml", "rt"), "libssl3": ("os", "rt"), "tzdata": ("os", "rt")}
    assert owners(root, "app") == {"numpy": ("ml", "rt"), "libssl3": ("os", "rt"), "tzdata": ("os", "rt"),
                                   "flask": ("web", "app")}
    why = json.loads(ok(bbc(root, "why", "numpy", "--format", "json")).out)["images"]
    assert [(r["image"], r["introduced_by"], r["copied_by"]) for r in why] == [
        ("ml", "ml", None), ("rt", "ml", "rt"), ("app", "ml", "rt")]
    assert "ml (copied by rt)" in ok(bbc(root, "why", "numpy", "--image", "app")).out


def test_every_fix_scan_prints_works_when_run_as_printed(tree: tuple[Path, str], tmp_path: Path) -> None:
    root, prefix = tree
    ok(bbc(root, "build"))
    trivy = {"SchemaVersion": 2, "Results": [{"Target": "app", "Vulnerabilities": [
        {"VulnerabilityID": "CVE-2099-0101", "PkgName": "numpy", "InstalledVersion": "1.0.0", "FixedVersion": "1.0.1",
         "Severity": "HIGH"},
        {"VulnerabilityID": "CVE-2099-0102", "PkgName": "libssl3", "InstalledVersion": "3.0.11-1~deb12u1",
         "FixedVersion": "3.0.11-1~deb12u2", "Severity": "CRITICAL"},
        {"VulnerabilityID": "CVE-2099-0103", "PkgName": "flask", "InstalledVersion": "3.1.3", "FixedVersion": "3.1.4",
         "Severity": "HIGH"}]}]}
    report = tmp_path / "trivy.json"
    report.write_text(json.dumps(trivy))
    data = json.loads(bbc(root, "scan", "app", "--report", str(report), "--format", "json").out)
    rows = {r["package"]: r for r in data["findings"]}
    assert {p: (r["image"], r["owner"]) for p, r in rows.items()} == {
        "numpy": ("ml", "ml-team"), "libssl3": ("os", "platform"), "flask": ("web", "web-team")}
    assert rows["libssl3"]["descendants"] == ["ml", "web", "rt", "app"]
    printed = bbc(root, "scan", "app", "--report", str(report))
    assert printed.code == 1
    fixes = [line.removeprefix("fix: ") for line in printed.out.splitlines() if line.startswith("fix: ")]
    assert fixes == ["bbc refresh --os --images os  # takes libssl3 3.0.11-1~deb12u2 from the archive",
                     "bbc upgrade numpy==1.0.1 --images ml", "bbc upgrade flask==3.1.4 --images web"]

    # each as printed, in a shell, with `bbc` on the PATH: the archive has the fix now
    write(root / "archive/status", STATUS.format(ssl="3.0.11-1~deb12u2"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for fix in fixes:
        run = subprocess.run(["sh", "-c", fix], cwd=root, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"{fix}:\n{run.stdout}{run.stderr}"
    assert (root / "images/ml/requirements.txt").read_text() == "numpy==1.0.1\n"
    assert (root / "images/web/requirements.txt").read_text() == "flask==3.1.4\n"
    ok(bbc(root, "build"))
    now = {p: json.loads(ok(bbc(root, "why", p, "--image", "app", "--format", "json")).out)["images"][0]
           for p in ("numpy", "libssl3", "flask")}
    assert {p: (r["version"], r["introduced_by"]) for p, r in now.items()} == {
        "numpy": ("1.0.1", "ml"), "libssl3": ("3.0.11-1~deb12u2", "os"), "flask": ("3.1.4", "web")}
