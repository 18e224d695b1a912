"""Signed releases and `bbc verify` against a real engine and registry (issue 23).

`bbc release` signs what it releases (bbc.yaml `signing:`); the tests verify with `bbc verify`
and the Sigstore reference verifier, then break things the ways an attacker or an accident
would (a tag moved, a wrong key, a tampered bundle, a forged provenance). `sign_image` signs by
hand with `sign_manifest`, the call the release makes, for the forgeries."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from bbc.inside import sbom
from bbc.adapters.registry.client import Registry
from bbc.release.signing import attach, bundle, keys, referrers
from bbc.release.signing.provenance import Dependency, ProvenanceInput, Source
from bbc.release.signing.signer import KeyFileSigner
from bbc.release.signing.statement import SLSA_PROVENANCE
from tests.cli import bbc, ok
from tests.helpers import remove_images, tiny_hierarchy
from tests.registry_server import RegistryServer
from tests.test_platforms import emulated, two_platform_hierarchy  # noqa: F401 (a fixture)
from tests.test_signing import sigstore_verify

pytestmark = pytest.mark.docker
WRITES = ("PUT", "POST", "PATCH", "DELETE")


class Counting(Registry):
    """The registry client, counting every request it sends."""

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.sent: list[tuple[str, str]] = []

    def _send(self, method: str, url: str, *args: Any) -> Any:  # type: ignore[override]
        self.sent.append((method, url))
        return super()._send(method, url, *args)

    def writes(self) -> list[tuple[str, str]]:
        return [s for s in self.sent if s[0] in WRITES]


@dataclass(frozen=True)
class Released:
    root: Path
    prefix: str  # host/namespace
    server: RegistryServer
    signer: KeyFileSigner
    pub: Path

    @property
    def namespace(self) -> str:
        return self.prefix.partition("/")[2]


def facts(unit: str, version: str, platform: str, deps: tuple[Dependency, ...]) -> ProvenanceInput:
    moment = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    return ProvenanceInput(image=unit, version=version, config_path="bbc.yaml", config_entry_digest="sha256:" + "1" * 64,
                           dockerfile="Dockerfile", dockerfile_digest="sha256:" + "2" * 64,
                           source=Source("test", None), bbc_version="0.1.0", engine_version="test",
                           started=moment, finished=moment, platform=platform, dependencies=deps)


def sign_image(reg: Registry, rel: Released, name: str, version: str, parent: tuple[str, str] | None = None,
               signer: KeyFileSigner | None = None, uses: tuple[str, str] | None = None) -> list[attach.Signed]:
    """What the release will do for one released image: sign each platform's manifest (with its
    provenance and SBOM) and the index, if there is one."""
    repository = f"{rel.namespace}/{name}"
    top = reg.manifest(repository, version)
    assert top is not None
    deps: tuple[Dependency, ...] = ()
    if parent is not None:
        found = reg.manifest(f"{rel.namespace}/{parent[0]}", parent[1])
        assert found is not None
        deps = (Dependency("parent", f"{rel.prefix}/{parent[0]}:{parent[1]}", found.digest),)
    if uses is not None:
        used = reg.manifest(f"{rel.namespace}/{uses[0]}", uses[1])
        assert used is not None
        deps += (Dependency("uses", f"{rel.prefix}/{uses[0]}:{uses[1]}", used.digest),)
    index = top.media_type == "application/vnd.oci.image.index.v1+json"
    entries = ([(reg.manifest(repository, e["digest"]), e["platform"]) for e in top.json()["manifests"]]
               if index else [(top, None)])
    out = []
    for manifest, platform in entries:
        assert manifest is not None
        unit = f"{name}@{platform['architecture']}" if platform else name
        out.append(attach.sign_manifest(
            reg, repository, manifest, signer or rel.signer, name=unit, docker_reference=f"{rel.prefix}/{name}",
            provenance=facts(unit, version, f"linux/{platform['architecture']}" if platform else "", deps),
            sbom=sbom.path(rel.root, unit).read_bytes()))
    if index:
        out.append(attach.sign_manifest(reg, repository, top, signer or rel.signer, name=name,
                                        docker_reference=f"{rel.prefix}/{name}",
                                        provenance=facts(name, version, "", deps)))
    return out


def verify(rel: Released, ref: str, *keys_: Path) -> tuple[int, dict[str, Any]]:
    args = [a for k in (keys_ or (rel.pub,)) for a in ("--key", str(k))]
    run = bbc(rel.root, "verify", f"{rel.prefix}/{ref}", *args, "--format", "json")
    assert run.code in (0, 1), run.out + run.err
    return run.code, json.loads(run.out)


def failed(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["check"], c["detail"]) for c in report["checks"] if not c["ok"]]


SIGNING = """
signing:
  key: keys/bbc.key
  public_keys: [keys/bbc.pub]
"""


@contextmanager
def signed_release(tmp: Path, docker_client: Any, *more_keys: str) -> Iterator[Released]:
    """tiny_hierarchy (base -> mid -> a1, a2; base -> b1) released signed by `bbc release` to a
    registry of its own, with keys/bbc (and `more_keys`, not trusted) beside it; after: the
    registry stopped, the images removed."""
    server = RegistryServer(tmp / "registry")
    server.start()
    prefix = f"{server.addr}/s{uuid.uuid4().hex[:6]}"
    root = tmp / "repo"
    key, pub = keys.generate(root / "keys")
    for name in more_keys:
        keys.generate(root / "keys", name)
    tiny_hierarchy(root, registry=prefix, extra=SIGNING)
    try:
        run = ok(bbc(root, "release", "--no-test", timeout=900))
        assert run.out.count("signed sha256:") == 5, run.out  # each image, before any tag moved
        assert run.out.index("[a1] signed") < run.out.index("[base] released"), run.out
        yield Released(root, prefix, server, keys.load_signer(str(key), tmp), pub)
    finally:
        server.stop()
        remove_images(docker_client, prefix)


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Iterator[Released]:
    with signed_release(tmp_path_factory.mktemp("signed"), docker_client) as rel:
        yield rel


def test_a_signed_release_verifies_and_signing_again_writes_nothing(released: Released) -> None:
    code, report = verify(released, "a1:0.1.0")
    assert code == 0, failed(report)
    assert report["verified"] is True
    assert {c["check"] for c in report["checks"]} == {"signature", "provenance", "sbom", "image", "parent"}
    parent = next(c for c in report["checks"] if c["check"] == "parent")
    assert "is the parent the image was built on" in parent["detail"]
    assert verify(released, "base:1.0.0")[0] == 0  # a root: no parent to compare

    counting = Counting(released.server.addr)
    again = sign_image(counting, released, "a1", "0.1.0", ("mid", "1.2.0"))
    assert counting.writes() == [] and not any(s.written for s in again)
    assert again[0].kept == ("https://cyclonedx.org/bom", SLSA_PROVENANCE)
    # distribution 2.8 has no referrers API: the bundles are listed at the referrers tag schema's tag
    reg = Registry(released.server.addr)
    digest = again[0].digest
    index = reg.manifest(f"{released.namespace}/a1", referrers.tag(digest))
    assert index is not None and {e["annotations"]["dev.sigstore.bundle.predicateType"]
                                  for e in index.json()["manifests"] if e["artifactType"] == bundle.MEDIA_TYPE
                                  } == {SLSA_PROVENANCE, "https://cyclonedx.org/bom"}


def test_verify_fails_with_a_key_it_does_not_trust(released: Released, tmp_path: Path) -> None:
    _, other = keys.generate(tmp_path, "other")
    code, report = verify(released, "a1:0.1.0", other)
    assert code == 1 and report["verified"] is False
    reasons = failed(report)
    assert reasons[0][0] == "signature" and "wrong key?" in reasons[0][1]
    assert {what for what, _ in reasons} >= {"signature", "attestation", "provenance", "sbom"}
    run = bbc(released.root, "verify", f"{released.prefix}/a1:0.1.0", "--key", str(other))
    assert run.code == 1 and run.out.splitlines()[-1].startswith(f"NOT verified: {released.prefix}/a1:0.1.0")


def test_verify_fails_when_the_tag_is_moved_to_a_manifest_pushed_by_hand(
        released: Released, docker_client: Any, busybox_image: str) -> None:
    repository = f"{released.prefix}/a2"
    docker_client.images.get(busybox_image).tag(repository, "0.1.0")
    for line in docker_client.images.push(repository, "0.1.0", stream=True, decode=True):
        assert "error" not in line, line
    code, report = verify(released, "a2:0.1.0")
    assert code == 1
    assert failed(report)[0] == ("signature", f"no signature at sha256-{report['digest'][7:]}.sig: the manifest is "
                                              "unsigned (was the tag moved to a manifest bbc did not release?)")
    # signed, but with nothing attested: still refused
    reg = Registry(released.server.addr)
    moved = reg.manifest(f"{released.namespace}/a2", "0.1.0")
    assert moved is not None
    attach.sign_manifest(reg, f"{released.namespace}/a2", moved, released.signer, name="a2",
                         docker_reference=repository)
    code, report = verify(released, "a2:0.1.0")
    assert code == 1 and failed(report) == [("provenance", "missing provenance"), ("sbom", "missing SBOM attestation")]


def test_verify_fails_for_a_tampered_bundle_and_so_does_the_reference_verifier(
        released: Released, tmp_path: Path) -> None:
    reg = Registry(released.server.addr)
    repository = f"{released.namespace}/b1"
    digest = reg.manifest(repository, "2.0.0").digest  # type: ignore[union-attr]
    listed = referrers.listed(reg, repository, digest)
    entry = next(e for e in listed if e["annotations"]["dev.sigstore.bundle.predicateType"] == SLSA_PROVENANCE)
    _, data = referrers.content(reg, repository, entry)
    (tmp_path / "good.json").write_bytes(data)
    assert sigstore_verify(tmp_path / "good.json", released.pub).returncode == 0
    # an attacker rewrites the provenance (another parent) and puts it in place of the signed one
    document = json.loads(data)
    original = base64.b64decode(document["dsseEnvelope"]["payload"])
    payload = original.replace(b"/base:1.0.0", b"/evil:1.0.0")
    assert payload != original
    document["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    tampered = json.dumps(document).encode()
    (tmp_path / "bad.json").write_bytes(tampered)
    run = sigstore_verify(tmp_path / "bad.json", released.pub)
    assert run.returncode == 1 and "SIGNATURE_ERROR" in run.stdout, run.stdout
    subject = referrers.Subject(digest, "application/vnd.oci.image.manifest.v1+json", 0)
    artifact = referrers.Artifact(bundle.MEDIA_TYPE, tampered, "evil.sigstore.json", entry["annotations"])
    raw = referrers.manifest(artifact, subject)
    reg.put_blob(repository, tampered)
    forged = reg.put_manifest(repository, referrers._digest(raw), referrers.OCI_MANIFEST, raw)[0]
    index = {"schemaVersion": 2, "mediaType": referrers.OCI_INDEX,
             "manifests": [e for e in listed if e is not entry] + [{**entry, "digest": forged, "size": len(raw)}]}
    reg.put_manifest(repository, referrers.tag(digest), referrers.OCI_INDEX, json.dumps(index).encode())
    code, report = verify(released, "b1:2.0.0")
    assert code == 1
    reasons = failed(report)
    assert reasons[0][0] == "attestation" and "the signature does not verify" in reasons[0][1]
    assert ("provenance", "missing provenance") in reasons


def test_verify_fails_when_the_provenance_names_another_parent(released: Released, tmp_path: Path) -> None:
    reg = Registry(released.server.addr)
    # mid was built on base; a provenance claiming b1 as its parent, signed by another trusted key, is caught
    key, pub = keys.generate(tmp_path, "second")
    sign_image(reg, released, "mid", "1.2.0", ("b1", "2.0.0"), signer=keys.load_signer(str(key), tmp_path))
    code, report = verify(released, "mid:1.2.0")
    assert code == 1 and [w for w, _ in failed(report)] == ["attestation"] * 2  # by a key not trusted: refused
    code, report = verify(released, "mid:1.2.0", released.pub, pub)
    assert code == 1
    [(what, detail)] = failed(report)
    assert what == "parent" and "but the image was built on" in detail


def test_verify_fails_when_the_provenance_names_a_used_image_the_build_did_not_read(
        released: Released, tmp_path: Path) -> None:
    reg = Registry(released.server.addr)
    # a1 read no other image (its bbc.uses label is empty); a provenance saying it used b1 is caught
    key, pub = keys.generate(tmp_path, "third")
    sign_image(reg, released, "a1", "0.1.0", ("mid", "1.2.0"), signer=keys.load_signer(str(key), tmp_path),
               uses=("b1", "2.0.0"))
    code, report = verify(released, "a1:0.1.0", released.pub, pub)
    assert code == 1
    [(what, detail)] = failed(report)
    assert what == "uses" and "is not a build the image was made with (its label names none)" in detail, detail


def test_a_multi_platform_release_is_signed_index_and_platforms_alike(
        tmp_path: Path, server: RegistryServer, docker_client: Any, emulated: None) -> None:
    prefix = f"{server.addr}/mp{uuid.uuid4().hex[:6]}"
    root = tmp_path / "repo"
    key, pub = keys.generate(root / "keys")
    two_platform_hierarchy(root, prefix)
    with open(root / "bbc.yaml", "a") as f:
        f.write(SIGNING)
    try:
        run = ok(bbc(root, "release", "--no-test", timeout=900))
        # two platforms and the index of each image, signed before a tag moved
        assert run.out.count(" signed sha256:") == 6 and run.out.index("[app] signed") < run.out.index("released")
        rel = Released(root, prefix, server, keys.load_signer(str(key), tmp_path), pub)
        code, report = verify(rel, "app:0.1.0")
        assert code == 0, failed(report)
        platforms = {c["platform"] for c in report["checks"]}
        assert platforms == {None, "linux/amd64", "linux/arm64"}
        # each platform's provenance names the parent's index; its image for the same platform is the one built on
        parents = [c for c in report["checks"] if c["check"] == "parent"]
        assert len(parents) == 2 and all(c["ok"] for c in parents)
        reg = Counting(server.addr)
        assert not any(s.written for s in sign_image(reg, rel, "app", "0.1.0", ("base", "1.0.0")))
        assert reg.writes() == []
        # one platform's image, named by its digest, verifies on its own
        app = f"{rel.namespace}/app"
        arm = next(e for e in reg.manifest(app, "0.1.0").json()["manifests"]  # type: ignore[union-attr]
                   if e["platform"]["architecture"] == "arm64")
        assert verify(rel, f"app@{arm['digest']}")[0] == 0
        # and the reference verifier accepts each bundle of it
        for entry in referrers.listed(reg, app, arm["digest"]):
            if entry.get("artifactType") == bundle.MEDIA_TYPE:
                (tmp_path / "b.json").write_bytes(referrers.content(reg, app, entry)[1])
                assert sigstore_verify(tmp_path / "b.json", pub).returncode == 0
    finally:
        remove_images(docker_client, prefix)


def test_the_sbom_is_published_as_a_referrer_beside_the_bundles_once(released: Released) -> None:
    reg = Counting(released.server.addr)
    repository = f"{released.namespace}/base"
    image = reg.manifest(repository, "1.0.0")
    assert image is not None
    listed = {e["digest"]: e.get("artifactType") for e in referrers.listed(reg, repository, image.digest)}
    # the release published it: the SBOM itself, and its signed attestation and the provenance beside it
    assert sorted(listed.values()) == sorted([referrers.CYCLONEDX_TYPE, bundle.MEDIA_TYPE, bundle.MEDIA_TYPE])
    published = next(d for d, t in listed.items() if t == referrers.CYCLONEDX_TYPE)
    document = sbom.path(released.root, "base").read_bytes()
    assert referrers.content(reg, repository, {"digest": published})[1] == document
    subject = referrers.Subject(image.digest, image.media_type, len(image.raw))
    reg.sent.clear()
    again = referrers.publish_sbom(reg, repository, subject, document, "base.cdx.json")
    assert (again.digest, again.written, reg.writes()) == (published, False, [])
    assert not any(t.endswith(".sbom") for t in reg.tags(repository))  # the old tag schema of its own is gone
