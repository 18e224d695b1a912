"""`bbc release` with signing against a real engine and registry (issue 23): what a re-release
writes (nothing), a signing failure (no tag moved), the gates (a child refused a pulled parent
that does not verify, a rollout refused the same way, an unsigned external base under
trusted_bases) and build secrets (used by the build, absent from the image and its history)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bbc import config
from bbc.adapters.docker.engine import DockerEngine
from bbc.adapters.registry.client import Registry
from bbc.commands import release as release_cmd
from bbc.errors import SigningError
from bbc.plan.steps import Selection
from bbc.release.signing import keys
from bbc.run.options import RunOptions
from tests.cli import bbc, git, ok
from tests.commands.test_rollout import project
from tests.commands.test_verify import SIGNING, Counting, Released, signed_release
from tests.commands.test_dependents import add_yaml
from tests.helpers import busybox_context, remove_images, tiny_hierarchy, write
from tests.registry_server import RegistryServer

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Iterator[Released]:
    """tiny_hierarchy released signed once; tests change only their own copies of what they touch."""
    with signed_release(tmp_path_factory.mktemp("signedrel"), docker_client, "other") as rel:
        yield rel


def test_a_release_run_again_writes_nothing(signed: Released) -> None:
    hierarchy = config.load_hierarchy(signed.root / "bbc.yaml")
    reg = Counting(signed.server.addr)
    code = release_cmd.release(hierarchy, DockerEngine(), Selection(), RunOptions(), test=False, registry=reg)
    assert code == 0
    assert reg.writes() == []
    # and it did look: every manifest's signature and attestations were read back
    assert sum(1 for method, url in reg.sent if url.endswith(".sig")) >= 5


def test_a_signing_failure_moves_no_tag(tmp_path: Path, server: RegistryServer, docker_client: Any) -> None:
    class Broken:
        """A signer whose key service fails mid-release."""

        def __init__(self, real: Any) -> None:
            self.real = real
            self.hint = real.hint

        def public_key(self) -> Any:
            return self.real.public_key()

        def sign(self, data: bytes) -> bytes:
            raise SigningError("the key service is down")

    prefix = f"{server.addr}/f{uuid.uuid4().hex[:6]}"
    root = tmp_path / "repo"
    key, _ = keys.generate(root / "keys")
    tiny_hierarchy(root, registry=prefix, extra=SIGNING)
    hierarchy = config.load_hierarchy(root / "bbc.yaml")
    try:
        signer = Broken(keys.load_signer(str(key), root))
        code = release_cmd.release(hierarchy, DockerEngine(), Selection(("b1",)), replace(RunOptions(), signer=signer),
                                   test=False)
        assert code == 1
        reg = Registry(server.addr)
        namespace = prefix.partition("/")[2]
        for name in ("base", "b1"):
            tags = reg.tags(f"{namespace}/{name}")
            assert tags and all(t.startswith("candidate-") for t in tags), tags  # pushed, never released
    finally:
        remove_images(docker_client, prefix)


def _fresh_copy(signed: Released, tmp_path: Path, docker_client: Any, policy: str) -> Path:
    """The released tree on a machine that has none of its builds: the local images removed
    (they are in the registry), bbc.yaml with `policy`."""
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(signed.root, root, ignore=shutil.ignore_patterns(".bbc"))
    add_yaml(root / "bbc.yaml", policy)
    remove_images(docker_client, signed.prefix)
    return root


def test_a_child_is_refused_a_pulled_parent_whose_signature_fails(signed: Released, tmp_path: Path,
                                                                  docker_client: Any) -> None:
    # the registry's builds are signed with keys/bbc.key; this tree trusts only keys/other.pub
    root = _fresh_copy(signed, tmp_path, docker_client, "policy:\n  signed_parents: error\n")
    write(root / "bbc.yaml", (root / "bbc.yaml").read_text().replace("[keys/bbc.pub]", "[keys/other.pub]"))
    run = bbc(root, "build", "a1", timeout=600)
    assert run.code == 1, run.out + run.err
    text = run.out + run.err
    assert "bbc.yaml:" in text and "policy.signed_parents: base: the registry's build" in text, text
    assert "does not verify: signature: no signature at" in text and "wrong key?" in text, text
    assert docker_client.api.images(name=f"{signed.prefix}/a1") == []  # nothing built on it
    # trusting the release key, the same tree pulls the parents by the digests that verified and builds
    write(root / "bbc.yaml", (root / "bbc.yaml").read_text().replace("[keys/other.pub]", "[keys/bbc.pub]"))
    run = ok(bbc(root, "build", "a1", timeout=600))
    assert "[base] the registry's build 1.0.0 (sha256:" in run.out and "verifies (policy.signed_parents)" in run.out
    assert docker_client.api.images(name=f"{signed.prefix}/a1")


def test_a_rollout_is_refused_a_release_that_does_not_verify(signed: Released, tmp_path: Path) -> None:
    reg = Registry(signed.server.addr)
    mid = reg.manifest(f"{signed.namespace}/mid", "1.2.0")
    assert mid is not None
    svc = project(tmp_path / "svc", {"Dockerfile": f"FROM {signed.prefix}/mid:1.2.0@{mid.digest}\nRUN true\n"})
    root = tmp_path / "hier"
    import shutil

    shutil.copytree(signed.root, root, ignore=shutil.ignore_patterns(".bbc"))
    add_yaml(root / "bbc.yaml", f"projects:\n  svc:\n    repo: {svc}\n    images: [mid]\n"
                                "policy:\n  signed_parents: error\n")
    write(root / "bbc.yaml", (root / "bbc.yaml").read_text().replace("[keys/bbc.pub]", "[keys/other.pub]"))
    run = bbc(root, "rollout", "--version", "1.2.0", "mid", "--format", "json")
    assert run.code == 1, run.out + run.err
    assert "policy.signed_parents: mid 1.2.0 (sha256:" in run.out and "not pinned" in run.out, run.out
    assert git(svc, "branch", "--list", "bbc/*").strip() == ""  # nothing pinned, no branch


def test_an_external_base_under_trusted_bases_must_be_signed(signed: Released, tmp_path: Path,
                                                             docker_client: Any) -> None:
    # upstream/os is an image pushed by hand (not signed): an image built FROM it is refused
    upstream = f"{signed.prefix}/upstream/os"
    base = docker_client.images.get(f"{signed.prefix}/base:1.0.0")
    base.tag(upstream, "1")
    docker_client.images.push(upstream, "1")
    root = tmp_path / "tb"
    write(root / "images/app/Dockerfile", f"FROM {upstream}:1\nRUN true\n")
    keys.generate(root / "keys")
    write(root / "bbc.yaml", f"""\
registry: {signed.prefix}/tb
images:
  app:
    path: images/app
    version: 1.0.0
policy:
  trusted_bases:
    {signed.prefix}/upstream/: [keys/bbc.pub]
""")
    run = bbc(root, "build")
    assert run.code == 1, run.out + run.err
    assert f"images/app/Dockerfile:1: base {upstream}:1 (sha256:" in run.out, run.out
    assert "not signed by a key policy.trusted_bases trusts" in run.out and "no signature at" in run.out, run.out
    assert docker_client.api.images(name=f"{signed.prefix}/tb/app") == []


def test_a_build_secret_is_used_and_absent_from_the_image_and_its_history(
        tmp_path: Path, docker_client: Any, server: RegistryServer) -> None:
    import hashlib

    root = tmp_path / "sec"
    prefix = f"{server.addr}/sec{uuid.uuid4().hex[:6]}"
    busybox_context(root / "images/base")
    token = f"glpat-{uuid.uuid4().hex}"  # a GitLab token's shape: the no_secrets gate knows it
    write(root / "images/app/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n"
          # the build proves it read the secret (its hash), and keeps nothing of it
          # (BuildKit's cache key leaves the secret's value out: a step of its own per test run)
          f"RUN --mount=type=secret,id=token,uid=1000 sha256sum /run/secrets/token | cut -c1-64 > /tmp/seen "
          f"# {uuid.uuid4().hex}\n")
    write(root / "netrc", "machine pypi.example login bbc password hunter2\n")
    write(root / "bbc.yaml", f"""\
registry: {prefix}
images:
  base: {{path: images/base, version: 1.0.0}}
  app:
    path: images/app
    parent: base
    version: 1.0.0
    secrets: {{token: env:BBC_TEST_TOKEN, netrc: netrc}}
policy:
  no_secrets: true
""")
    try:
        run = bbc(root, "build", env={"BBC_TEST_TOKEN": token})
        ok(run)
        image = f"{prefix}/app:1.0.0"
        seen = docker_client.containers.run(image, ["cat", "/tmp/seen"], remove=True).decode().strip()
        assert seen == hashlib.sha256(token.encode()).hexdigest()
        listing = docker_client.containers.run(image, ["sh", "-c", "ls -A /run/secrets 2>&1; true"], remove=True)
        assert b"token" not in listing
        history = repr(docker_client.api.history(image)) + repr(docker_client.api.inspect_image(image))
        assert token not in history and "hunter2" not in history
        saved = b"".join(docker_client.api.get_image(image))
        assert token.encode() not in saved
        assert token not in run.out + run.err  # never logged either
        # the no_secrets gate (image config, history, every own layer) finds nothing to refuse
        run = ok(bbc(root, "release", "--no-test", env={"BBC_TEST_TOKEN": token}))
        assert "[app] released 1.0.0" in run.out
        # a missing variable is located at the secret, and nothing is built
        run = bbc(root, "build", "--force", "app")
        assert run.code == 1 and "bbc.yaml:8: images.app.secrets.token: $BBC_TEST_TOKEN is not set" in run.out, run.out
    finally:
        remove_images(docker_client, prefix)


def test_the_provenance_says_what_the_release_was_built_from(signed: Released) -> None:
    import hashlib

    import yaml

    from bbc.release.signing import bundle, referrers
    from bbc.release.signing.provenance import dependencies_of
    from bbc.release.signing.statement import SLSA_PROVENANCE, canonical

    reg = Registry(signed.server.addr)
    a1 = reg.manifest(f"{signed.namespace}/a1", "0.1.0")
    mid = reg.manifest(f"{signed.namespace}/mid", "1.2.0")
    assert a1 is not None and mid is not None
    key = keys.load_public_keys([signed.root / "keys/bbc.pub"])
    found = []
    for entry in referrers.listed(reg, f"{signed.namespace}/a1", a1.digest):
        if entry.get("artifactType") == bundle.MEDIA_TYPE:
            opened = bundle.open_bundle(referrers.content(reg, f"{signed.namespace}/a1", entry)[1], key, "a1")
            if opened.predicate_type == SLSA_PROVENANCE:
                found.append(opened.statement["predicate"])
    [predicate] = found
    params = predicate["buildDefinition"]["externalParameters"]
    entry = yaml.safe_load((signed.root / "bbc.yaml").read_text())["images"]["a1"]
    dockerfile = (signed.root / "images/app/a1/Dockerfile").read_bytes()
    assert params["config"] == {"path": "bbc.yaml", "digest": "sha256:" + hashlib.sha256(canonical(entry)).hexdigest()}
    assert params["dockerfile"] == {"path": "images/app/a1/Dockerfile",
                                    "digest": "sha256:" + hashlib.sha256(dockerfile).hexdigest()}
    assert (params["image"], params["version"], params["source"]["dirty"]) == ("a1", "0.1.0", False)
    # the parent by its released digest (what `bbc verify` compares with the image's labels)
    assert dependencies_of(predicate, "parent") == [(f"{signed.prefix}/mid:1.2.0", mid.digest)]
    details = predicate["runDetails"]
    from bbc import __version__

    assert details["builder"]["version"] == {"bbc": __version__, "engine": details["builder"]["version"]["engine"]}
    assert details["builder"]["version"]["engine"].startswith("Docker Engine ")
    assert details["metadata"]["startedOn"] <= details["metadata"]["finishedOn"]
