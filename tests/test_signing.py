"""Signing without a registry (issue 23): keys, deterministic signatures, the Sigstore bundle as the
reference verifier (npm @sigstore/verify) reads it, cosign's simple signing payload as its spec and
openssl read it, the SLSA provenance, and bbc.yaml's `signing:`."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bbc.errors import ConfigError, SigningError
from bbc.release.signing import bundle, cosign, keys, provenance, statement
from bbc.release.signing.signer import KeyFileSigner
from tests.conftest import IN_CI
from tests.helpers import write

ROOT = Path(__file__).resolve().parent.parent
DIGEST = "sha256:" + "ab" * 32


def signer(tmp_path: Path, name: str = "bbc") -> KeyFileSigner:
    key, _ = keys.generate(tmp_path / "keys", name)
    return keys.load_signer(str(key), tmp_path)


def sigstore_verify(bundle_path: Path, key_path: Path) -> subprocess.CompletedProcess[str]:
    """The Sigstore reference verifier, offline with the public key (thresholds 0)."""
    modules = ROOT / ".venv/node/node_modules"
    if not (modules / "@sigstore/verify").is_dir():
        msg = "@sigstore/verify is not installed (scripts/bootstrap installs it in .venv/node)"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return subprocess.run(["node", str(ROOT / "tests/data/sigstore_verify.cjs"), str(bundle_path), str(key_path)],
                          capture_output=True, text=True, env={**os.environ, "NODE_PATH": str(modules)}, timeout=120)


def test_generate_writes_a_private_key_only_its_owner_reads_and_never_replaces_it(tmp_path: Path) -> None:
    key, pub = keys.generate(tmp_path / "k", "release")
    assert (key.name, pub.name) == ("release.key", "release.pub")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, in the clear without a password
    assert keys.load_public_keys([pub])[0].hint == keys.load_signer(str(key), tmp_path).hint
    before = key.read_bytes()
    with pytest.raises(SigningError, match="exists; not replacing a key"):
        keys.generate(tmp_path / "k", "release")
    assert key.read_bytes() == before


def test_a_password_encrypts_the_key_and_opens_it_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.PASSWORD_ENV, "correct horse")
    key, _ = keys.generate(tmp_path, "enc")
    assert key.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert keys.load_signer(str(key), tmp_path).sign(b"x")
    monkeypatch.setenv(keys.PASSWORD_ENV, "wrong")
    with pytest.raises(SigningError, match="wrong password"):
        keys.load_signer("enc.key", tmp_path)
    monkeypatch.delenv(keys.PASSWORD_ENV)
    with pytest.raises(SigningError, match="cannot open the private key") as info:
        keys.load_signer("enc.key", tmp_path)
    assert info.value.tip == f"set {keys.PASSWORD_ENV}"


def test_a_key_from_the_environment_as_ci_secrets_are_passed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key, _ = keys.generate(tmp_path, "ci")
    monkeypatch.setenv("RELEASE_KEY", key.read_text())
    assert keys.load_signer("env:RELEASE_KEY", tmp_path).hint == keys.load_signer(str(key), tmp_path).hint
    with pytest.raises(SigningError, match=r"\$UNSET_KEY is not set"):
        keys.load_signer("env:UNSET_KEY", tmp_path)
    write(tmp_path / "rsa.pem", "not a key\n")
    with pytest.raises(SigningError, match="not a PEM private key"):
        keys.load_signer("rsa.pem", tmp_path)


def test_signatures_are_deterministic_so_a_second_release_writes_the_same_bytes(tmp_path: Path) -> None:
    one = signer(tmp_path)
    data = statement.statement("base", DIGEST, statement.SLSA_PROVENANCE, {"a": "b"})
    assert one.sign(data) == one.sign(data)
    assert bundle.sign(data, one) == bundle.sign(data, one)
    assert one.public_key().verifies(one.sign(data), data)
    assert not one.public_key().verifies(one.sign(data), data + b" ")


def test_the_reference_verifier_accepts_the_bundle_and_rejects_a_tampered_payload(tmp_path: Path) -> None:
    one = signer(tmp_path)
    data = statement.statement("base", DIGEST, statement.SLSA_PROVENANCE, {"parent": "sha256:1"})
    signed = bundle.sign(data, one)
    document = json.loads(signed)
    assert document["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert document["verificationMaterial"] == {"publicKey": {"hint": one.hint}, "tlogEntries": []}
    assert document["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"
    (tmp_path / "ok.json").write_bytes(signed)
    pub = tmp_path / "keys/bbc.pub"
    run = sigstore_verify(tmp_path / "ok.json", pub)
    assert run.returncode == 0 and run.stdout.strip() == "verified", run.stdout + run.stderr

    payload = base64.b64decode(document["dsseEnvelope"]["payload"]).replace(b"sha256:1", b"sha256:2")
    document["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    (tmp_path / "tampered.json").write_text(json.dumps(document))
    run = sigstore_verify(tmp_path / "tampered.json", pub)
    assert run.returncode == 1 and "SIGNATURE_ERROR" in run.stdout, run.stdout + run.stderr
    with pytest.raises(SigningError, match="does not verify"):
        bundle.open_bundle((tmp_path / "tampered.json").read_bytes(), [one.public_key()], "tampered")

    other = signer(tmp_path, "other")
    run = sigstore_verify(tmp_path / "ok.json", tmp_path / "keys/other.pub")
    assert run.returncode == 1, run.stdout
    with pytest.raises(SigningError, match="signed by another key, or tampered"):
        bundle.open_bundle(signed, [other.public_key()], "ok")
    assert bundle.open_bundle(signed, [other.public_key(), one.public_key()], "ok").key.hint == one.hint


def test_cosign_simple_signing_payload_and_signature_follow_the_spec(tmp_path: Path) -> None:
    one = signer(tmp_path)
    blob, layer = cosign.sign("127.0.0.1:5000/acme/base", DIGEST, one)
    # SIGNATURE_SPEC: the containers-signature JSON, type "cosign container image signature"
    assert json.loads(blob) == {"critical": {"identity": {"docker-reference": "127.0.0.1:5000/acme/base"},
                                             "image": {"docker-manifest-digest": DIGEST},
                                             "type": "cosign container image signature"}, "optional": None}
    assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    assert cosign.tag(DIGEST) == f"sha256-{'ab' * 32}.sig"
    # the signature is over the payload's bytes: openssl, knowing nothing of bbc, agrees
    (tmp_path / "payload").write_bytes(blob)
    (tmp_path / "sig").write_bytes(base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"]))
    run = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(tmp_path / "keys/bbc.pub"), "-signature",
                          str(tmp_path / "sig"), str(tmp_path / "payload")], capture_output=True, text=True)
    assert run.returncode == 0 and "Verified OK" in run.stdout, run.stdout + run.stderr
    assert cosign.check(blob, layer, DIGEST, [one.public_key()]) is not None
    assert cosign.check(blob, layer, "sha256:" + "cd" * 32, [one.public_key()]) is None  # names another manifest
    config, raw = cosign.manifest([layer])
    manifest = json.loads(raw)
    assert manifest["layers"] == [layer] and manifest["config"]["size"] == len(config)


def facts(**changes: object) -> provenance.ProvenanceInput:
    base = dict(image="app@arm64", version="1.2.0", config_path="bbc.yaml", config_entry_digest="sha256:" + "1" * 64,
                dockerfile="images/app/Dockerfile", dockerfile_digest="sha256:" + "2" * 64,
                source=provenance.Source("https://git.example/acme/images.git", "a" * 40, dirty=True),
                bbc_version="0.1.0", engine_version="27.5.1", platform="linux/arm64",
                started=datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc),
                finished=datetime(2026, 5, 1, 12, 3, 30, tzinfo=timezone.utc),
                build_args={"PYTHON": "3.12"}, secrets=("pypi_token",),
                dependencies=(provenance.Dependency("parent", "r.example/acme/base:1.0.0", "sha256:" + "3" * 64),
                              provenance.Dependency("uses", "r.example/acme/tools:2.0.0", "sha256:" + "4" * 64),
                              provenance.Dependency("base", "debian:bookworm", "sha256:" + "5" * 64),
                              provenance.Dependency("prepare-input", "images/app/requirements.txt",
                                                    "sha256:" + "6" * 64)))
    base.update(changes)
    return provenance.ProvenanceInput(**base)  # type: ignore[arg-type]


def test_provenance_is_slsa_v1_of_the_manifest_with_every_input_by_digest() -> None:
    data = json.loads(provenance.provenance_statement("app@arm64", DIGEST, facts()))
    assert data["_type"] == "https://in-toto.io/Statement/v1"
    assert data["subject"] == [{"name": "app@arm64", "digest": {"sha256": "ab" * 32}}]
    assert data["predicateType"] == "https://slsa.dev/provenance/v1"
    definition, run = data["predicate"]["buildDefinition"], data["predicate"]["runDetails"]
    assert definition["externalParameters"] == {
        "image": "app@arm64", "version": "1.2.0", "platform": "linux/arm64",
        "config": {"path": "bbc.yaml", "digest": "sha256:" + "1" * 64},
        "dockerfile": {"path": "images/app/Dockerfile", "digest": "sha256:" + "2" * 64},
        "buildArgs": {"PYTHON": "3.12"}, "secrets": ["pypi_token"],
        "source": {"uri": "https://git.example/acme/images.git", "commit": "a" * 40, "dirty": True}}
    roles = [(d["annotations"]["bbc.role"], d["digest"]) for d in definition["resolvedDependencies"]]
    assert roles == [("source", {"gitCommit": "a" * 40}), ("config", {"sha256": "1" * 64}),
                     ("dockerfile", {"sha256": "2" * 64}), ("parent", {"sha256": "3" * 64}),
                     ("uses", {"sha256": "4" * 64}), ("base", {"sha256": "5" * 64}),
                     ("prepare-input", {"sha256": "6" * 64})]
    assert run["builder"]["version"] == {"bbc": "0.1.0", "engine": "27.5.1"}
    assert run["metadata"] == {"startedOn": "2026-05-01T12:00:00Z", "finishedOn": "2026-05-01T12:03:30Z"}
    assert provenance.dependencies_of(data["predicate"], "parent") == [("r.example/acme/base:1.0.0", "sha256:" + "3" * 64)]
    # a pure function: the same facts, the same bytes
    assert provenance.provenance_statement("app@arm64", DIGEST, facts()) == provenance.provenance_statement(
        "app@arm64", DIGEST, facts())


def test_the_sbom_predicate_keeps_the_document_as_written() -> None:
    document = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": []}).encode()
    data = json.loads(statement.sbom_statement("base", DIGEST, document))
    assert data["predicateType"] == "https://cyclonedx.org/bom"
    assert data["predicate"] == json.loads(document)  # `version: 1` stays an integer
    with pytest.raises(SigningError, match="not a CycloneDX JSON document"):
        statement.sbom_statement("base", DIGEST, b'{"spdxVersion": "SPDX-2.3"}')


def test_bbc_yaml_signing_is_parsed_and_its_mistakes_located(tmp_path: Path) -> None:
    from bbc import config

    write(tmp_path / "images/base/Dockerfile", "FROM scratch\n")
    write(tmp_path / "keys/bbc.pub", "x\n")
    head = "registry: localhost:5000/t\nimages:\n  base:\n    path: images/base\n    version: 1.0.0\n"
    good = write(tmp_path / "bbc.yaml", head + "signing:\n  key: env:BBC_KEY\n  public_keys: [keys/bbc.pub]\n")
    spec = config.load(good).signing
    assert (spec.key, spec.public_keys) == ("env:BBC_KEY", (tmp_path / "keys/bbc.pub",))
    write(tmp_path / "bbc.yaml", head + "signing:\n  key: env:1BAD\n  public_key: x\n  public_keys: [nope.pub]\n")
    with pytest.raises(ConfigError) as info:
        config.load(tmp_path / "bbc.yaml")
    assert info.value.problems == [
        "bbc.yaml:7: signing.key: 'env:1BAD': env: takes an environment variable name, e.g. env:BBC_SIGNING_KEY",
        "bbc.yaml:8: signing.public_key: unknown key (did you mean 'public_keys'?); allowed: key, public_keys",
        "bbc.yaml:9: signing.public_keys.0: nope.pub: no such file (`bbc keys generate DIR` writes DIR/bbc.pub)"]
