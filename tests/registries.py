"""Registries as organisations run them, on loopback ports of the test's own: TLS signed by a test
CA (openssl), htpasswd (apache2-utils) or token auth (a token server the test runs, signing JWTs
with a key the registry trusts), a pull-through mirror, and a TCP proxy that injects faults."""

from __future__ import annotations

import base64
import json
import random
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.registry_server import RegistryServer, free_port

CERTS_D = Path("/etc/docker/certs.d")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class TestCA:
    """A certificate authority of the test's own, and server certificates it signs."""

    __test__ = False

    def __init__(self, folder: Path, name: str = "bbc test CA") -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                "-subj", f"/CN={name}", cwd=folder)
        self.cert = folder / "ca.crt"

    def server_cert(self, name: str) -> tuple[Path, Path]:
        """(certificate, key) for 127.0.0.1 and localhost."""
        (self.folder / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=self.folder)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=self.folder)
        return self.folder / f"{name}.crt", self.folder / f"{name}.key"


@contextmanager
def installed_ca(host: str, ca: Path) -> Iterator[Path]:
    """The CA installed the docker way for `host` (dockerd and bbc read it), removed after."""
    folder = CERTS_D / host
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ca, folder / "ca.crt")
    try:
        yield folder / "ca.crt"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def htpasswd(path: Path, user: str, password: str) -> Path:
    line = subprocess.run(["htpasswd", "-Bbn", user, password], check=True, capture_output=True, text=True).stdout
    path.write_text(line.strip() + "\n")
    return path


class Registry(RegistryServer):
    """docker-registry with extra configuration (`tls`, `auth`, `proxy` sections as YAML)."""

    def __init__(self, root: Path, *, tls: tuple[Path, Path] | None = None, auth: dict[str, Any] | None = None,
                 proxy: str | None = None) -> None:
        super().__init__(root)
        http: dict[str, Any] = {"addr": self.addr}
        if tls is not None:
            http["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
        config: dict[str, Any] = {
            "version": 0.1, "log": {"level": "error"}, "http": http,
            "storage": {"filesystem": {"rootdirectory": str(root / "storage")}, "delete": {"enabled": True}},
        }
        if auth is not None:
            config["auth"] = auth
        if proxy is not None:
            config["proxy"] = {"remoteurl": proxy}
        (root / "config.yml").write_text(json.dumps(config))  # JSON is YAML
        self.tls = tls is not None

    def start(self) -> None:
        with open(self.root / "registry.log", "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen([self.binary, "serve", str(self.root / "config.yml")],
                                         stdout=subprocess.DEVNULL, stderr=log)
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"registry on {self.addr} did not start; see {self.root / 'registry.log'}")


class TokenServer:
    """A token server for a registry's `auth: token:`: Basic auth in, an RS256 JWT out, whose
    signing certificate the registry trusts (`rootcertbundle`). Counts what it was asked."""

    service = "bbc-test-registry"
    issuer = "bbc-test-token-server"

    def __init__(self, folder: Path, users: dict[str, str], lifetime: int = 300) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "signing.key", "-out", "signing.crt",
                "-days", "2", "-subj", "/CN=bbc token signer", cwd=folder)
        self.cert = folder / "signing.crt"
        self.key = (folder / "signing.key").read_bytes()
        der = ssl.PEM_cert_to_DER_cert(self.cert.read_text())
        self.x5c = base64.b64encode(der).decode()
        self.users = users
        self.lifetime = lifetime
        self.asked: list[tuple[str, str, str]] = []  # (user agent, account, scope)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.answer(self)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.http.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def registry_auth(self) -> dict[str, Any]:
        return {"token": {"realm": self.realm, "service": self.service, "issuer": self.issuer,
                          "rootcertbundle": str(self.cert)}}

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        import jwt

        query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
        account = ""
        header = handler.headers.get("Authorization") or ""
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if self.users.get(user) != password:
                handler.send_response(401)
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
            account = user
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = actions.split(",")
            granted = wanted if account else [a for a in wanted if a == "pull"]
            access.append({"type": kind, "name": name, "actions": granted})
            self.asked.append((handler.headers.get("User-Agent") or "", account, scope))
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": account, "aud": self.service, "exp": now + self.lifetime,
                  "nbf": now - 5, "iat": now, "jti": f"{now}-{len(self.asked)}", "access": access}
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"x5c": [self.x5c]})
        body = json.dumps({"token": token, "access_token": token, "expires_in": self.lifetime}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join()


class FaultyProxy:
    """A TCP proxy to `upstream` that spoils a third of the connections (at random, from a
    seed: the same seed, the same faults for the same sequence of connections), each by one of
    reset, 503, 429 with Retry-After, slow (every chunk it forwards held back a little)."""

    KINDS = ("reset", "503", "429", "slow")

    def __init__(self, upstream: str, *, rate: float = 1 / 3, seed: int = 22) -> None:
        self.upstream = upstream.rsplit(":", 1)[0], int(upstream.rsplit(":", 1)[1])
        self.rate = rate
        self.random = random.Random(seed)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.addr = f"127.0.0.1:{self.port}"
        self.connections = 0
        self.faults: dict[str, int] = dict.fromkeys(self.KINDS, 0)
        self.enabled = True
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()
        self.thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            n = self.connections
            self.connections += 1
            spoil = self.random.random() < self.rate
            kind = self.random.choice(self.KINDS) if spoil and self.enabled else None
            if kind is not None:
                self.faults[kind] += 1
            threading.Thread(target=self._serve, args=(client, kind), daemon=True).start()

    def _serve(self, client: socket.socket, kind: str | None) -> None:
        try:
            if kind in ("reset", "503", "429"):
                client.settimeout(10)
                client.recv(65536)  # the request (or the start of it)
                if kind == "reset":
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    status = "503 Service Unavailable" if kind == "503" else "429 Too Many Requests\r\nRetry-After: 1"
                    client.sendall(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
                client.close()
                return
            upstream = socket.create_connection(self.upstream, timeout=30)
        except OSError:
            client.close()
            return
        delay = 0.05 if kind == "slow" else 0.0
        threading.Thread(target=self._pump, args=(client, upstream, 0.0), daemon=True).start()
        self._pump(upstream, client, delay)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, delay: float) -> None:
        try:
            src.settimeout(None)
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if delay:
                    time.sleep(delay)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


def docker_config(folder: Path, host: str, user: str, password: str, **extra: Any) -> Path:
    """A DOCKER_CONFIG folder holding only `host`'s credentials (plus `extra` top-level keys)."""
    folder.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}, **extra}))
    return folder


def free_addr() -> str:
    return f"127.0.0.1:{free_port()}"
