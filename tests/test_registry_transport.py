"""How bbc's registry requests behave on a bad day (issue 22), against small stdlib HTTP servers
that misbehave on cue: retries with backoff and Retry-After, HEAD for digests, a bound on the
requests in flight, the disk cache of digest-named answers; and where bbc looks (mirrors,
credentials) without any network."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import http_server
from bbc.adapters.registry import auth, mirrors, transport
from bbc.errors import ConfigError, RegistryError
from bbc.model.specs import MirrorSpec
from bbc.adapters.registry.client import DOCKER_MANIFEST, Registry

CONFIG = json.dumps({"config": {"Labels": {"bbc.image": "app"}}}).encode()
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG).hexdigest()
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                       "config": {"digest": CONFIG_DIGEST, "size": len(CONFIG)}, "layers": []}).encode()
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


class Flaky(BaseHTTPRequestHandler):
    """Answers `script` in turn (a status, or "reset"), then serves a one-image registry."""

    protocol_version = "HTTP/1.1"
    script: list[Any] = []
    seen: list[tuple[str, str]] = []
    busy = 0
    most = 0
    lock = threading.Lock()
    hold = 0.0

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_one(self) -> None:
        cls = type(self)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))  # the body, read before any answer
        with cls.lock:
            cls.seen.append((self.command, self.path))
            cls.busy += 1
            cls.most = max(cls.most, cls.busy)
            step = cls.script.pop(0) if cls.script else None
        try:
            if cls.hold:
                time.sleep(cls.hold)
            if step == "reset":
                self.close_connection = True
                self.connection.close()
                return
            if isinstance(step, tuple):
                self.reply(step[0], b"", step[1])
                return
            if isinstance(step, int):
                self.reply(step, b'{"errors": [{"code": "UNAVAILABLE", "message": "try later"}]}')
                return
            if self.path.endswith("/manifests/1.0.0") or self.path.endswith(f"/manifests/{MANIFEST_DIGEST}"):
                self.reply(200, MANIFEST, {"Content-Type": DOCKER_MANIFEST, "Docker-Content-Digest": MANIFEST_DIGEST})
            elif self.path.endswith(f"/blobs/{CONFIG_DIGEST}"):
                self.reply(200, CONFIG)
            elif self.path.endswith("/tags/list"):
                self.reply(200, b'{"name": "acme/app", "tags": ["1.0.0"]}')
            else:
                self.reply(404, b'{"errors": [{"code": "NOT_FOUND"}]}')
        finally:
            with cls.lock:
                cls.busy -= 1

    do_GET = do_HEAD = do_PUT = do_POST = handle_one


@pytest.fixture()
def flaky() -> Iterator[tuple[str, type[Flaky]]]:
    handler = type("Handler", (Flaky,), {"script": [], "seen": [], "busy": 0, "most": 0, "lock": threading.Lock()})
    transport.reset()
    try:
        with http_server(handler) as addr:
            yield addr, handler
    finally:
        transport.reset()


@pytest.fixture()
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """What urllib3's Retry slept, without sleeping."""
    import urllib3.util.retry

    slept: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", slept.append)
    return slept


def test_429_waits_what_retry_after_says_then_succeeds(flaky: tuple[str, type[Flaky]], sleeps: list[float]) -> None:
    host, handler = flaky
    handler.script = [(429, {"Retry-After": "2"}), (503, {"Retry-After": "1"})]
    assert Registry(host).tags("acme/app") == ["1.0.0"]
    assert [p for _, p in handler.seen] == ["/v2/acme/app/tags/list"] * 3
    assert sleeps == [2.0, 1.0]
    assert transport.RETRIES[host] == 2


def test_a_long_retry_after_is_capped(flaky: tuple[str, type[Flaky]], sleeps: list[float]) -> None:
    host, handler = flaky
    handler.script = [(429, {"Retry-After": "3600"})]
    assert Registry(host).tags("acme/app") == ["1.0.0"]
    assert sleeps == [transport.RETRY_AFTER_MAX]


def test_5xx_backs_off_and_gives_up_after_the_tries_it_says(flaky: tuple[str, type[Flaky]],
                                                            sleeps: list[float]) -> None:
    host, handler = flaky
    handler.script = [503] * 10
    with pytest.raises(RegistryError) as exc:
        Registry(host).manifest("acme/app", "1.0.0")
    assert str(exc.value) == (f"registry {host}: acme/app:1.0.0: HTTP 503: UNAVAILABLE try later "
                              f"after {transport.TRIES} tries")
    assert len(handler.seen) == transport.TRIES
    # the second try at once, then exponential backoff (urllib3's formula, a little jitter)
    assert len(sleeps) == transport.TRIES - 2 and sleeps == sorted(sleeps) and sleeps[-1] > 2 * sleeps[0]


def test_a_reset_connection_is_tried_again(flaky: tuple[str, type[Flaky]], sleeps: list[float]) -> None:
    host, handler = flaky
    handler.script = ["reset", "reset"]
    assert Registry(host).config_labels("acme/app", "1.0.0") == {"bbc.image": "app"}
    assert len(handler.seen) == 4  # two resets, the manifest, the config blob


def test_a_manifest_put_is_retried_but_not_a_refused_one(flaky: tuple[str, type[Flaky]], sleeps: list[float]) -> None:
    host, handler = flaky
    handler.script = [503, 201]
    assert Registry(host).put_manifest("acme/app", "1.0.0", DOCKER_MANIFEST, MANIFEST)[0] == MANIFEST_DIGEST
    assert [m for m, _ in handler.seen] == ["PUT", "PUT"]
    handler.seen.clear()
    handler.script = [400]
    with pytest.raises(RegistryError, match="HTTP 400"):
        Registry(host).put_manifest("acme/app", "1.0.0", DOCKER_MANIFEST, MANIFEST)
    assert len(handler.seen) == 1


def test_digest_checks_use_head(flaky: tuple[str, type[Flaky]]) -> None:
    host, handler = flaky
    assert Registry(host).digest("acme/app", "1.0.0") == MANIFEST_DIGEST
    assert Registry(host).digest("acme/app", "9.9.9") is None
    assert [m for m, _ in handler.seen] == ["HEAD", "HEAD"]


def test_requests_in_flight_per_registry_are_bounded(flaky: tuple[str, type[Flaky]]) -> None:
    host, handler = flaky
    handler.hold = 0.1
    threads = [threading.Thread(target=lambda: Registry(host).tags("acme/app")) for _ in range(3 * transport.IN_FLIGHT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(handler.seen) == 3 * transport.IN_FLIGHT
    assert 1 < handler.most <= transport.IN_FLIGHT


def test_answers_named_by_digest_are_kept_on_disk(flaky: tuple[str, type[Flaky]], tmp_path: Path) -> None:
    host, handler = flaky
    assert Registry(host, cache=tmp_path).config_labels("acme/app", "1.0.0") == {"bbc.image": "app"}
    assert Registry(host, cache=tmp_path).manifest("acme/app", MANIFEST_DIGEST) is not None
    handler.seen.clear()
    again = Registry(host, cache=tmp_path)  # a later run
    assert again.config_labels("acme/app", "1.0.0") == {"bbc.image": "app"}
    found = again.manifest("acme/app", MANIFEST_DIGEST)
    assert found is not None and found.media_type == DOCKER_MANIFEST and found.raw == MANIFEST
    assert handler.seen == [("GET", "/v2/acme/app/manifests/1.0.0")]  # a tag is always asked
    # a damaged cache entry is not believed
    (tmp_path / "blobs" / CONFIG_DIGEST.removeprefix("sha256:")).write_bytes(b"\n{}")
    assert again.config_labels("acme/app", "1.0.0") == {"bbc.image": "app"}
    assert ("GET", f"/v2/acme/app/blobs/{CONFIG_DIGEST}") in handler.seen


def test_a_plain_http_registry_on_loopback_is_found_by_trying_https_first(flaky: tuple[str, type[Flaky]]) -> None:
    host, _ = flaky
    assert transport.scheme_of(host) == "http"
    assert transport.scheme_of("registry.example.com") == "https"  # not insecure: never probed


# -- where bbc looks, without a network -------------------------------------------------

def test_mirrors_are_asked_in_order_then_engine_mirrors_then_the_registry() -> None:
    spec = MirrorSpec({"docker.io": ("mirror.acme.internal", "127.0.0.1:5001/hub"), "ghcr.io": ("ghcr.acme",)})
    found = mirrors.sources("ubuntu", spec, ("engine-mirror.acme:5000", "mirror.acme.internal"))
    assert [(s.host, s.repository, s.mirror) for s in found] == [
        ("mirror.acme.internal", "library/ubuntu", True), ("127.0.0.1:5001", "hub/library/ubuntu", True),
        ("engine-mirror.acme:5000", "library/ubuntu", True), ("registry-1.docker.io", "library/ubuntu", False)]
    assert [s.host for s in mirrors.sources("ghcr.io/acme/tool", spec)] == ["ghcr.acme", "ghcr.io"]
    assert [s.host for s in mirrors.sources("quay.io/x/y", spec, ("m",))] == ["quay.io"]  # engine mirrors: Hub only
    only = MirrorSpec(spec.hosts, only=True)
    assert [s.host for s in mirrors.sources("ubuntu", only)] == ["mirror.acme.internal", "127.0.0.1:5001"]
    assert [s.host for s in mirrors.sources("quay.io/x/y", only)] == ["quay.io"]  # no mirror: its registry


def test_mirrors_in_bbc_yaml_are_checked_where_written(tmp_path: Path) -> None:
    from bbc import config as config_mod

    (tmp_path / "base").mkdir()
    (tmp_path / "base/Dockerfile").write_text("FROM scratch\n")
    body = "registry: localhost:5000/acme\nimages:\n  base: {path: base, version: 1.0.0}\n"
    (tmp_path / "bbc.yaml").write_text(body + "mirrors:\n  docker.io: [mirror.acme.internal, 127.0.0.1:5001/hub]\n"
                                       "mirrors_only: true\n")
    loaded = config_mod.load(tmp_path / "bbc.yaml")
    assert loaded.mirrors == MirrorSpec({"docker.io": ("mirror.acme.internal", "127.0.0.1:5001/hub")}, only=True)
    (tmp_path / "bbc.yaml").write_text(body + "mirrors:\n  docker.io: [https://mirror.acme]\n  'bad host!': [m]\n"
                                       "  ghcr.io: []\nmirrors_only: yes-please\n")
    with pytest.raises(ConfigError) as exc:
        config_mod.load(tmp_path / "bbc.yaml")
    assert exc.value.problems == [
        "bbc.yaml:5: mirrors.docker.io.0: 'https://mirror.acme' is not a mirror: host[:port][/path], without "
        "https:// (e.g. mirror.acme.internal or 127.0.0.1:5001/hub)",
        "bbc.yaml:6: mirrors.bad host!: is not a registry host (e.g. docker.io, ghcr.io, registry.acme.com:5000)",
        "bbc.yaml:7: mirrors.ghcr.io: must list its mirrors, e.g. [mirror.acme.internal, 127.0.0.1:5001]",
        "bbc.yaml:8: mirrors_only: must be true or false, not a string"]


def test_docker_auth_config_comes_before_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def entry(user: str) -> dict[str, str]:
        return {"auth": base64.b64encode(f"{user}:pw-{user}".encode()).decode()}

    (tmp_path / "config.json").write_text(json.dumps({"auths": {"reg.acme:5000": entry("file"),
                                                                "https://index.docker.io/v1/": entry("hub")}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_AUTH_CONFIG", raising=False)
    assert auth.credentials("reg.acme:5000")["username"] == "file"
    assert auth.credentials("registry-1.docker.io")["username"] == "hub"  # Docker Hub's API host
    monkeypatch.setenv("DOCKER_AUTH_CONFIG", json.dumps({"auths": {"reg.acme:5000": entry("ci")}}))
    found = auth.credentials("reg.acme:5000")
    assert (found["username"], found["password"]) == ("ci", "pw-ci")
    assert auth.engine_auth("reg.acme:5000") == {"username": "ci", "password": "pw-ci", "serveraddress": "reg.acme:5000"}
    assert auth.credentials("other.acme") == {}
    monkeypatch.setenv("DOCKER_AUTH_CONFIG", "{not json")
    with pytest.raises(RegistryError, match="DOCKER_AUTH_CONFIG is not JSON"):
        auth.credentials("reg.acme:5000")


def test_the_engines_registry_mirrors_are_read_from_its_info(monkeypatch: pytest.MonkeyPatch) -> None:
    import bbc.adapters.registry.engine_view as registry_mod

    monkeypatch.setattr(registry_mod, "_ENGINE_REGISTRY_CONFIG",
                        {"Mirrors": ["https://mirror.gcr.io/", "http://127.0.0.1:5001/"]})
    assert mirrors.engine_mirrors() == ("mirror.gcr.io", "127.0.0.1:5001")
    assert [s.host for s in mirrors.sources("ubuntu", None, mirrors.engine_mirrors())] == [
        "mirror.gcr.io", "127.0.0.1:5001", "registry-1.docker.io"]
