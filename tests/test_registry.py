"""bbc.registry against the real registry (docker-marked), plus auth flows a local
registry without auth cannot exercise, against a small stdlib HTTP server."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import socket
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from tests.helpers import http_server
from bbc.errors import RegistryError
from bbc.adapters.registry.client import DOCKER_LIST, DOCKER_MANIFEST, Manifest, Registry, split_image_name

LABELS = {"org.opencontainers.image.version": "1.0.0", "com.acme.bbc.image": "base"}


@pytest.fixture(scope="module")
def pushed(docker_client: Any, registry_addr: str, busybox_image: str) -> Iterator[dict[str, str]]:
    """A labelled image pushed as <registry>/bbctest/<uuid>:1.0.0; yields repo and digest."""
    repository = f"bbctest/{uuid.uuid4().hex[:12]}"
    name = f"{registry_addr}/{repository}"
    dockerfile = f"FROM {busybox_image}\n" + "".join(
        f'LABEL {k}="{v}"\n' for k, v in LABELS.items()
    )
    image, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), rm=True)
    image.tag(name, "1.0.0")
    digest = None
    try:
        for event in docker_client.images.push(name, tag="1.0.0", stream=True, decode=True):
            if "error" in event:
                pytest.fail(f"push failed: {event['error']}")
            digest = event.get("aux", {}).get("Digest", digest)
        if digest is None:
            pytest.fail("docker push reported no digest")
        yield {"repository": repository, "digest": digest, "name": name}
    finally:
        # Untagging deletes the image when nothing else refers to it; only ours go.
        docker_client.images.remove(f"{name}:1.0.0")
        try:
            docker_client.images.remove(image.id)
        except docker.errors.ImageNotFound:
            pass


@pytest.mark.docker
def test_tags_of_pushed_image(registry_addr: str, pushed: dict[str, str]) -> None:
    assert Registry(registry_addr).tags(pushed["repository"]) == ["1.0.0"]


@pytest.mark.docker
def test_manifest_digest_is_what_push_reported(registry_addr: str, pushed: dict[str, str]) -> None:
    manifest = Registry(registry_addr).manifest(pushed["repository"], "1.0.0")
    assert manifest is not None
    assert manifest.digest == pushed["digest"]
    assert manifest.media_type == DOCKER_MANIFEST
    assert "sha256:" + hashlib.sha256(manifest.raw).hexdigest() == pushed["digest"]
    by_digest = Registry(registry_addr).manifest(pushed["repository"], pushed["digest"])
    assert by_digest == manifest


@pytest.mark.docker
def test_config_labels(registry_addr: str, pushed: dict[str, str]) -> None:
    assert Registry(registry_addr).config_labels(pushed["repository"], "1.0.0") == LABELS


@pytest.mark.docker
def test_put_tag_retags_remotely(registry_addr: str, pushed: dict[str, str]) -> None:
    registry = Registry(registry_addr)
    repository = pushed["repository"]
    manifest = registry.manifest(repository, "1.0.0")
    assert manifest is not None
    registry.put_tag(repository, manifest, "1.0")
    registry.put_tag(repository, manifest, "latest")
    assert registry.tags(repository) == ["1.0", "1.0.0", "latest"]
    moved = registry.manifest(repository, "latest")
    assert moved is not None and moved.digest == pushed["digest"]
    assert registry.config_labels(repository, "1.0") == LABELS


@pytest.mark.docker
def test_index_resolves_linux_amd64(registry_addr: str, pushed: dict[str, str]) -> None:
    registry = Registry(registry_addr)
    repository = pushed["repository"]
    image = registry.manifest(repository, "1.0.0")
    assert image is not None
    raw = json.dumps({
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST,
        "manifests": [{
            "mediaType": DOCKER_MANIFEST,
            "digest": image.digest,
            "size": len(image.raw),
            "platform": {"architecture": "amd64", "os": "linux"},
        }],
    }).encode()
    index = Manifest("sha256:" + hashlib.sha256(raw).hexdigest(), DOCKER_LIST, raw)
    registry.put_tag(repository, index, "multi")
    got = registry.manifest(repository, "multi")
    assert got == index
    assert registry.config_labels(repository, "multi") == LABELS


@pytest.mark.docker
def test_missing_repository_and_tag(registry_addr: str, pushed: dict[str, str]) -> None:
    registry = Registry(registry_addr)
    missing = f"bbctest/missing-{uuid.uuid4().hex[:12]}"
    assert registry.tags(missing) == []
    assert registry.manifest(missing, "1.0.0") is None
    assert registry.manifest(pushed["repository"], "9.9.9") is None
    with pytest.raises(RegistryError) as exc:
        registry.config_labels(pushed["repository"], "9.9.9")
    assert str(exc.value) == (
        f"registry {registry_addr}: {pushed['repository']}:9.9.9: manifest unknown"
    )


@pytest.mark.docker
def test_unreachable_registry_names_address() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    registry = Registry(f"127.0.0.1:{port}", timeout=2)
    with pytest.raises(RegistryError) as exc:
        registry.manifest("acme/python", "1.2.3")
    assert str(exc.value).startswith(
        f"registry 127.0.0.1:{port}: acme/python:1.2.3: GET http://127.0.0.1:{port}"
        "/v2/acme/python/manifests/1.2.3 failed: "
    )
    assert "Connection refused" in str(exc.value)
    assert exc.value.tip == "is the registry running? `scripts/engine up`"
    with pytest.raises(RegistryError, match=f"registry 127.0.0.1:{port}: acme/python: GET"):
        registry.tags("acme/python")


def test_timeout_is_a_registry_error() -> None:
    with socket.socket() as s:  # accepts connections (backlog) but never answers
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(RegistryError) as exc:
            Registry(f"127.0.0.1:{port}", timeout=0.3).tags("acme/python")
    assert str(exc.value) == (
        f"registry 127.0.0.1:{port}: acme/python: GET http://127.0.0.1:{port}"
        "/v2/acme/python/tags/list failed: timed out (5 tries)"  # issue 22: retried, and says how often
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("localhost:5000/acme/python", ("localhost:5000", "acme/python")),
        ("127.0.0.1:5000/bbc/base", ("127.0.0.1:5000", "bbc/base")),
        ("ghcr.io/acme/python", ("ghcr.io", "acme/python")),
        ("localhost/acme", ("localhost", "acme")),
        ("acme/python", ("docker.io", "acme/python")),
        ("busybox", ("docker.io", "library/busybox")),
    ],
)
def test_split_image_name(name: str, expected: tuple[str, str]) -> None:
    assert split_image_name(name) == expected


@pytest.mark.parametrize("name", ["localhost:5000/acme/python:1.0", "localhost:5000/Acme/x", ""])
def test_split_image_name_rejects(name: str) -> None:
    with pytest.raises(RegistryError, match="is not a repository name"):
        split_image_name(name)


def test_scheme_defaults() -> None:
    assert Registry("localhost:5000").scheme == "http"
    assert Registry("127.0.0.1:5000").scheme == "http"
    assert Registry("registry.acme.com").scheme == "https"
    assert Registry("registry.acme.com:5000", scheme="http").scheme == "http"


def test_bad_reference_is_refused_before_any_request() -> None:
    with pytest.raises(RegistryError, match=r"'1.0/../x' is not a tag or sha256 digest"):
        Registry("127.0.0.1:1").manifest("acme/python", "1.0/../x")


# -- auth flows against a fake registry ------------------------------------------------

USER, SECRET = "ci-bot", "s3cr3t-pa55"
BASIC = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()


class FakeRegistry(BaseHTTPRequestHandler):
    mode = "bearer"  # or "basic"
    seen: list[tuple[str, str | None]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization")
        self.seen.append((self.path, auth))
        host = self.headers["Host"]  # 127.0.0.1:PORT, as the client dialled it
        if self.path.startswith("/token?"):
            if auth != BASIC:
                self.send(401, {"details": "bad credentials"})
            else:
                self.send(200, {"token": "tok-123", "expires_in": 300})
            return
        expected = "Bearer tok-123" if self.mode == "bearer" else BASIC
        if auth != expected:
            challenge = (
                f'Bearer realm="http://{host}/token",service="fake",'
                'scope="repository:acme/app:pull"'
                if self.mode == "bearer" else 'Basic realm="fake"'
            )
            self.send(401, {"errors": [{"code": "UNAUTHORIZED"}]}, {"WWW-Authenticate": challenge})
            return
        self.send(200, {"name": "acme/app", "tags": ["1.1.0", "1.0.0"]})


@pytest.fixture()
def fake() -> Iterator[tuple[str, type[FakeRegistry]]]:
    handler = type("Handler", (FakeRegistry,), {"seen": []})
    with http_server(handler) as addr:
        yield addr, handler


def test_bearer_token_flow(fake: tuple[str, type[FakeRegistry]]) -> None:
    host, handler = fake
    registry = Registry(host, auth={"Username": USER, "Password": SECRET})
    assert registry.tags("acme/app") == ["1.0.0", "1.1.0"]
    assert registry.tags("acme/app") == ["1.0.0", "1.1.0"]  # token reused
    assert handler.seen == [
        ("/v2/acme/app/tags/list", None),
        ("/token?service=fake&scope=repository%3Aacme%2Fapp%3Apull", BASIC),
        ("/v2/acme/app/tags/list", "Bearer tok-123"),
        ("/v2/acme/app/tags/list", "Bearer tok-123"),
    ]


def test_basic_flow_with_docker_config(
    fake: tuple[str, type[FakeRegistry]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, handler = fake
    handler.mode = "basic"
    auth = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    registry = Registry(host)
    assert registry.tags("acme/app") == ["1.0.0", "1.1.0"]
    assert registry.tags("acme/app") == ["1.0.0", "1.1.0"]  # Basic sent up front now
    assert [a for _, a in handler.seen] == [None, BASIC, BASIC]


def test_wrong_password_never_leaks(fake: tuple[str, type[FakeRegistry]]) -> None:
    host, _ = fake
    with pytest.raises(RegistryError) as exc:
        Registry(host, auth={"username": USER, "password": "wrong-pa55"}).tags("acme/app")
    assert str(exc.value) == (
        f"registry {host}: acme/app: token request to http://{host}/token refused (401)"
    )
    assert exc.value.tip == f"run `docker login {host}`"
    assert "wrong-pa55" not in repr(exc.value.__dict__)


def test_no_credentials_says_docker_login(
    fake: tuple[str, type[FakeRegistry]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, handler = fake
    handler.mode = "basic"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # empty: no config.json
    with pytest.raises(RegistryError) as exc:
        Registry(host).tags("acme/app")
    assert str(exc.value) == f"registry {host}: acme/app: authentication required, no credentials"
    assert exc.value.tip == f"run `docker login {host}`"


def test_plain_http_only_where_the_engine_allows_it() -> None:
    from bbc.adapters.registry.engine_view import insecure

    config = {"InsecureRegistryCIDRs": ["127.0.0.0/8", "10.9.0.0/16"],
              "IndexConfigs": {"registry.corp:5000": {"Name": "registry.corp:5000", "Secure": False},
                               "docker.io": {"Name": "docker.io", "Secure": True}}}
    assert insecure("registry.corp:5000", config)  # named in the engine's insecure-registries
    assert insecure("10.9.1.2:5000", config) and insecure("127.0.0.2", config)  # inside a CIDR
    assert insecure("localhost:5000", config)  # resolved, then inside 127.0.0.0/8
    assert not insecure("10.8.1.2:5000", config) and not insecure("docker.io", config)
    assert not insecure("registry.corp:5000", {})  # an engine that lists nothing: https


@pytest.mark.docker
def test_a_registry_the_engine_lists_as_insecure_is_spoken_to_over_http(docker_client: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import bbc.adapters.registry.engine_view as registry_mod

    # the test engine runs with dockerd's default insecure-registries: 127.0.0.0/8
    cidrs = docker_client.info()["RegistryConfig"]["InsecureRegistryCIDRs"]
    assert "127.0.0.0/8" in cidrs
    monkeypatch.setattr(registry_mod, "_ENGINE_REGISTRY_CONFIG", None)
    assert Registry("127.0.0.2:5000").scheme == "http"  # not a name bbc knows: the engine said so
    assert Registry("registry.example.com").scheme == "https"
