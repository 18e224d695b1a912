"""What is inside (issue 13) on a tiny hierarchy against the real engine and a real registry:
SBOMs with owners, `bbc why` of a package a child upgrades, scanner reports routed to owners,
and the policy gates (a private key written in one RUN and deleted in the next)."""

from __future__ import annotations

import json
import textwrap
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbc.adapters.registry.client import Registry
from tests.cli import bbc, ok
from tests.conftest import busybox_context
from tests.helpers import remove_images, write
from tests.registry_server import RegistryServer

pytestmark = pytest.mark.docker

SITE = "/opt/venv/lib/python3.11/site-packages"
STATUS = """\
Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u9

Package: ca-certificates
Status: install ok installed
Architecture: all
Version: 20230311

Package: gone-pkg
Status: deinstall ok config-files
Version: 1.0
"""
# a private key marker put together at run time, so this file itself holds no key
KEY = "-----BEGIN " + "OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA\\n-----END " + "OPENSSH PRIVATE KEY-----"


def dist(name: str, version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test\n"


def make(root: Path, registry: str) -> None:
    """base (busybox; dpkg status, distroless status.d, apk db) -> mid (numpy 1.26, requests,
    python3 added to dpkg status) -> app (upgrades numpy to 2.0, adds its own file);
    base -> leaky (a private key written in one RUN and deleted in the next)."""
    ctx = busybox_context(root / "images/base")
    write(ctx / "status", STATUS)
    write(ctx / "tzdata", "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n")
    write(ctx / "installed", "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\n\n")
    with open(ctx / "Dockerfile", "a") as f:
        f.write("COPY status /var/lib/dpkg/status\nCOPY tzdata /var/lib/dpkg/status.d/tzdata\n"
                "COPY installed /lib/apk/db/installed\n"
                "LABEL org.opencontainers.image.vendor=Acme\n")
    write(root / "images/mid/site/numpy-1.26.0.dist-info/METADATA", dist("numpy", "1.26.0"))
    write(root / "images/mid/site/requests-2.31.0.dist-info/METADATA", dist("requests", "2.31.0"))
    write(root / "images/mid/Dockerfile", f"""\
        ARG SOURCE_IMAGE
        FROM ${{SOURCE_IMAGE}}
        COPY site/ {SITE}/
        USER 0
        RUN printf '\\nPackage: python3\\nStatus: install ok installed\\nVersion: 3.11.2-1+b1\\n' >> /var/lib/dpkg/status
        USER 1000
        """)
    write(root / "images/app/numpy-2.0.0.dist-info/METADATA", dist("numpy", "2.0.0"))
    write(root / "images/app/app.py", "print('hello')\n")
    write(root / "images/app/Dockerfile", f"""\
        ARG SOURCE_IMAGE
        FROM ${{SOURCE_IMAGE}}
        USER 0
        RUN rm -rf {SITE}/numpy-1.26.0.dist-info
        COPY numpy-2.0.0.dist-info/ {SITE}/numpy-2.0.0.dist-info/
        COPY app.py /srv/app.py
        USER 1000
        """)
    write(root / "images/leaky/Dockerfile", f"""\
        ARG SOURCE_IMAGE
        FROM ${{SOURCE_IMAGE}}
        RUN printf '{KEY}\\n' > /tmp/id_ed25519
        RUN rm /tmp/id_ed25519
        """)
    write(root / "images/sloppy/Dockerfile", """\
        ARG SOURCE_IMAGE
        FROM ${SOURCE_IMAGE}
        USER 0
        RUN mkdir -p /var/lib/apt/lists/partial /root/.cache/pip/http /var/cache/apt/archives && \\
            echo x > /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease && \\
            echo x > /root/.cache/pip/http/0a1b && echo x > /var/cache/apt/archives/curl_8.0_amd64.deb && \\
            echo x > /var/cache/apt/pkgcache.bin
        RUN rm /var/cache/apt/pkgcache.bin
        """)
    write(root / "bbc.yaml", textwrap.dedent(f"""\
        registry: {registry}
        defaults:
          network: host
        images:
          base:
            path: images/base
            version: 1.0.0
            owner: platform-team@example.com
          mid:
            path: images/mid
            parent: base
            version: 1.0.0
            owner: ml-team
          app:
            path: images/app
            parent: mid
            version: 1.0.0
            owner: iris-squad
          leaky:
            path: images/leaky
            parent: base
            version: 1.0.0
          sloppy:
            path: images/sloppy
            parent: base
            version: 1.0.0
        projects:
          shop:
            repo: ../shop
            images: [mid]
        policy:
          no_secrets: true
          non_root: true
          no_package_caches: true
          required_labels: [org.opencontainers.image.vendor]
        """))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Iterator[RegistryServer]:
    srv = RegistryServer(tmp_path_factory.mktemp("registry"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory, server: RegistryServer, docker_client: Any) -> Iterator[tuple[Path, str]]:
    prefix = f"{server.addr}/s{uuid.uuid4().hex[:6]}"
    root = tmp_path_factory.mktemp("sbom") / "repo"
    make(root, prefix)
    build = ok(bbc(root, "build", "-j", "2"))
    yield root, prefix
    remove_images(docker_client, prefix)
    assert build  # keep the build's output alive for debugging in a failing test's locals


def components(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    out = {}
    for c in doc["components"]:
        props = {p["name"]: p["value"] for p in c.get("properties", [])}
        out[c["name"]] = {"version": c["version"], "purl": c["purl"], **props}
    return out


def test_build_writes_an_sbom_naming_the_image_and_layer_that_introduced_each_package(tree: tuple[Path, str]) -> None:
    root, prefix = tree
    written = root / ".bbc/sbom/app.cdx.json"
    assert written.is_file(), "the build writes each image's SBOM"
    doc = json.loads(ok(bbc(root, "sbom", "app")).out)
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    assert doc["metadata"]["component"]["type"] == "container"
    got = components(doc)
    assert got == components(json.loads(written.read_text()))
    assert got["ca-certificates"]["bbc:image"] == "base"
    assert got["ca-certificates"]["purl"] == "pkg:deb/debian/ca-certificates@20230311?arch=all"
    assert got["tzdata"]["bbc:image"] == "base"  # distroless status.d
    assert got["tzdata"]["bbc:path"] == "/var/lib/dpkg/status.d/tzdata"
    assert got["musl"]["bbc:image"] == "base" and got["musl"]["purl"].startswith("pkg:apk/alpine/musl@1.2.4-r2")
    assert got["python3"]["bbc:image"] == "mid"  # added to the status file a child rewrote
    assert got["libc6"]["bbc:image"] == "base"  # same version in the rewritten status: still base's
    assert got["requests"]["bbc:image"] == "mid" and got["requests"]["purl"] == "pkg:pypi/requests@2.31.0"
    assert got["numpy"] == {**got["numpy"], "version": "2.0.0", "bbc:image": "app"}
    assert "gone-pkg" not in got  # deinstalled: not in the image
    # the layer named is the app's own layer holding the new numpy
    layer = int(got["numpy"]["bbc:layer-index"])
    assert "COPY numpy-2.0.0.dist-info/" in got["numpy"]["bbc:step"]
    assert got["numpy"]["bbc:layer"].startswith("sha256:") and layer >= 5
    assert {c["bbc:image"] for c in got.values()} == {"base", "mid", "app"}
    # the document is schema-valid CycloneDX 1.6
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(doc)) is None
    table = ok(bbc(root, "sbom", "app", "--format", "table")).out
    assert any(line.split()[:4] == ["numpy", "2.0.0", "pypi", "app"] for line in table.splitlines())


def test_why_names_who_introduced_and_who_changed_a_version(tree: tuple[Path, str]) -> None:
    root, _ = tree
    rows = json.loads(ok(bbc(root, "why", "NumPy", "--format", "json")).out)["images"]
    by_image = {r["image"]: r for r in rows}
    assert set(by_image) == {"mid", "app"}
    assert by_image["mid"]["version"] == "1.26.0" and by_image["mid"]["introduced_by"] == "mid"
    assert by_image["app"]["version"] == "2.0.0" and by_image["app"]["introduced_by"] == "app"
    assert by_image["app"]["replaces"] == "1.26.0"
    table = ok(bbc(root, "why", "numpy")).out
    assert "app (1.26.0 -> 2.0.0)" in table
    ca = json.loads(ok(bbc(root, "why", "ca-certificates", "--image", "app", "--format", "json")).out)["images"]
    assert [(r["image"], r["introduced_by"]) for r in ca] == [("app", "base")]
    missing = bbc(root, "why", "left-pad")
    assert missing.code == 1 and "no built image carries left-pad" in missing.err


def test_scan_routes_findings_to_owners_with_blast_radius_and_exit_codes(tree: tuple[Path, str], tmp_path: Path) -> None:
    root, _ = tree
    trivy = {"SchemaVersion": 2, "Results": [{"Target": "app", "Vulnerabilities": [
        {"VulnerabilityID": "CVE-2099-0001", "PkgName": "numpy", "InstalledVersion": "2.0.0",
         "FixedVersion": "2.0.1", "Severity": "HIGH"},
        {"VulnerabilityID": "CVE-2099-0002", "PkgName": "ca-certificates", "InstalledVersion": "20230311",
         "FixedVersion": "20240203", "Severity": "LOW"},
        {"VulnerabilityID": "CVE-2099-0003", "PkgName": "not-here", "InstalledVersion": "1", "Severity": "CRITICAL"},
    ]}]}
    report = tmp_path / "trivy.json"
    report.write_text(json.dumps(trivy))
    run = bbc(root, "scan", "app", "--report", str(report), "--format", "json")
    assert run.code == 1, run.out + run.err
    out = json.loads(run.out)
    assert out["format"] == "trivy" and out["failing"] == 1
    rows = {r["id"]: r for r in out["findings"]}
    numpy = rows["CVE-2099-0001"]
    assert (numpy["image"], numpy["owner"], numpy["fix"]) == ("app", "iris-squad", "bbc upgrade numpy==2.0.1 --images app")
    ca = rows["CVE-2099-0002"]
    assert (ca["image"], ca["owner"]) == ("base", "platform-team@example.com")
    assert ca["descendants"] == ["mid", "app", "leaky", "sloppy"] and ca["projects"] == ["shop"]
    assert ca["fix"] == "bbc build base --force  # takes ca-certificates 20240203 from the archive"
    assert rows["CVE-2099-0003"]["image"] is None  # not in the image: no owner, does not fail
    table = bbc(root, "scan", "app", "--report", str(report))
    assert table.code == 1 and "fix: bbc upgrade numpy==2.0.1 --images app" in table.out
    assert ok(bbc(root, "scan", "app", "--report", str(report), "--fail-on", "critical")).code == 0
    assert bbc(root, "scan", "app", "--report", str(report), "--fail-on", "low").code == 1

    grype = {"matches": [{"vulnerability": {"id": "GHSA-xxxx", "severity": "Critical", "fix": {"versions": ["2.32.0"]}},
                          "artifact": {"name": "requests", "version": "2.31.0", "type": "python"}}]}
    report.write_text(json.dumps(grype))
    out = json.loads(bbc(root, "scan", "app", "--report", str(report), "--format", "json").out)
    (row,) = out["findings"]
    assert out["format"] == "grype" and row["image"] == "mid" and row["owner"] == "ml-team"
    assert row["descendants"] == ["app"] and row["projects"] == ["shop"]
    assert row["fix"] == "bbc upgrade requests==2.32.0 --images mid"

    osv = {"results": [{"source": {"path": "/", "type": "docker"}, "packages": [{
        "package": {"name": "numpy", "version": "2.0.0", "ecosystem": "PyPI"},
        "vulnerabilities": [{"id": "PYSEC-2099-1", "affected": [{"package": {"name": "numpy", "ecosystem": "PyPI"},
                             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0.2"}]}]}]}],
        "groups": [{"ids": ["PYSEC-2099-1"], "max_severity": "5.3"}]}]}]}
    report.write_text(json.dumps(osv))
    run = bbc(root, "scan", "app", "--report", str(report), "--format", "json")
    assert run.code == 0  # medium, under the default --fail-on high
    (row,) = json.loads(run.out)["findings"]
    assert (row["severity"], row["image"], row["fixed"]) == ("medium", "app", "2.0.2")
    assert bbc(root, "scan", "app", "--report", str(report), "--fail-on", "medium").code == 1


def test_a_deleted_private_key_is_a_build_warning_and_refused_at_release(tree: tuple[Path, str],
                                                                         server: RegistryServer,
                                                                         docker_client: Any) -> None:
    root, prefix = tree
    log = ok(bbc(root, "build", "leaky", "--force"))
    warned = [line for line in (log.out + log.err).splitlines() if "policy.no_secrets" in line]
    assert len(warned) == 1, log.out + log.err
    assert "[leaky] warning: leaky: policy.no_secrets: layer " in warned[0]
    assert "printf" in warned[0] and "/tmp/id_ed25519: private key, deleted in a later layer" in warned[0]
    run = bbc(root, "release", "--no-test", "leaky", "--format", "json")
    assert run.code == 1, run.out + run.err
    rows = {r["image"]: r for r in json.loads(run.out)}
    assert rows["leaky"]["result"] == "refused" and "/tmp/id_ed25519" in rows["leaky"]["message"]
    assert rows["base"]["result"] == "not released"
    assert "nothing was pushed" in run.err
    reg = Registry(server.addr)
    repo = prefix.split("/", 1)[1]
    assert reg.tags(f"{repo}/leaky") == [] and reg.tags(f"{repo}/base") == []
    # the clean branch releases, each image with its SBOM beside it (this registry, Debian's
    # distribution 2.8, keeps no referrers; the artifact's subject still names the image)
    run = ok(bbc(root, "release", "--no-test", "app", "--format", "json"))
    rows = {r["image"]: r for r in json.loads(run.out)}
    assert rows["app"]["result"] == "released" and "1.0.0" in reg.tags(f"{repo}/app")
    digest = rows["app"]["digest"]
    sbom = rows["app"]["sbom"]
    # a referrer of the image, listed in the referrers tag schema's index (sha256-<hex>)
    assert sbom["referrer"] and sbom["tag"] == digest.replace(":", "-") and sbom["tag"] in reg.tags(f"{repo}/app")
    assert "[app] SBOM published as a referrer of the image" in run.err
    index = reg.manifest(f"{repo}/app", sbom["tag"])
    assert index is not None and [e["digest"] for e in index.json()["manifests"]] == [sbom["digest"]]
    artifact = reg.manifest(f"{repo}/app", sbom["digest"])
    assert artifact is not None
    doc = artifact.json()
    assert doc["artifactType"] == "application/vnd.cyclonedx+json" and doc["subject"]["digest"] == digest
    blob = doc["layers"][0]["digest"]
    with urllib.request.urlopen(f"http://{server.addr}/v2/{repo}/app/blobs/{blob}") as answer:
        published = json.loads(answer.read())
    assert components(published)["numpy"]["bbc:image"] == "app"
    assert published["metadata"]["component"]["name"] == f"{prefix}/app"
    again = json.loads(ok(bbc(root, "release", "--no-test", "app", "--format", "json")).out)
    assert {r["image"]: r["sbom"]["digest"] for r in again} == {r["image"]: r["sbom"]["digest"] for r in rows.values()}
    # a build pulled from the registry (a fresh CI machine) gets its SBOM written too
    for tag in docker_client.images.get(f"{prefix}/app:1.0.0").tags:
        docker_client.images.remove(tag, force=True)
    (root / ".bbc/sbom/app.cdx.json").unlink()
    pulled = ok(bbc(root, "build", "app"))
    assert "pulled" in pulled.out, pulled.out
    assert components(json.loads((root / ".bbc/sbom/app.cdx.json").read_text()))["numpy"]["bbc:image"] == "app"


def test_root_user_and_package_caches_are_build_warnings_naming_image_layer_and_file(tree: tuple[Path, str]) -> None:
    root, _ = tree
    log = ok(bbc(root, "build", "sloppy", "--force"))
    warned = [line for line in (log.out + log.err).splitlines() if "policy." in line]
    assert len(warned) == 2, log.out + log.err
    assert warned[0] == ("[sloppy] warning: sloppy: policy.non_root: image config: runs as 0; "
                         "add `USER <non-root>` to images/sloppy/Dockerfile")
    caches = warned[1]
    assert caches.startswith("[sloppy] warning: sloppy: policy.no_package_caches: layer 6 (RUN /bin/sh -c mkdir -p ")
    for kept in ("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "/root/.cache/pip/http/0a1b",
                 "/var/cache/apt/archives/curl_8.0_amd64.deb"):
        assert kept in caches
    assert "pkgcache.bin" not in caches  # deleted by the next layer: not kept
    assert "(clean up in the same RUN in images/sloppy/Dockerfile)" in caches
