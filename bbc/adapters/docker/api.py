"""The Engine API calls the docker SDK cannot make for bbc, in one place.

- `Socket`: the calls on the path that builds nothing (`/_ping`, one label-filtered
  `/images/json`) over the engine's unix socket with the standard library. Importing the
  docker SDK (requests, urllib3) costs ~0.2 s: more than an up-to-date build of 40 images
  takes otherwise. Engines reached over tcp, TLS or ssh go through the SDK.
- `post_build` and `head`: docker-py cannot ask for BuildKit (`version=2` on /build) and has no
  HEAD helper, so these two use the SDK's private request helpers (`_post`, `_url`,
  `_set_auth_headers`, `_stream_helper`, `_raise_for_status`, `head` on its session). They are
  the only uses of private SDK API in bbc; a docker-py upgrade that moves them breaks here.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import IO, Any

DEFAULT_SOCKET = "/var/run/docker.sock"


def socket_path(host: str | None) -> str | None:
    """The unix socket a DOCKER_HOST value names (unset: Docker's default), else None."""
    if not host:
        return DEFAULT_SOCKET
    if host.startswith("unix://"):
        return host[len("unix://"):] or DEFAULT_SOCKET
    return None


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()  # no engine there: not a socket left for the collector
            raise
        self.sock = sock


class Socket:
    """GET requests to an engine's unix socket. Raises OSError (socket) or
    http.client.HTTPException; the caller words the error."""

    def __init__(self, path: str, timeout: float = 60.0) -> None:
        self.path = path
        self.timeout = timeout

    def get(self, url: str, params: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        conn = _UnixConnection(self.path, self.timeout)
        try:
            conn.request("GET", url + query, headers={"Host": "docker"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def ping(self) -> None:
        status, body = self.get("/_ping")
        if status != 200:
            raise http.client.HTTPException(f"/_ping answered HTTP {status}: {body[:200]!r}")

    def inspect_images(self, refs: list[str]) -> dict[str, dict[str, Any] | None]:
        """GET /images/REF/json for each ref over one kept-alive connection (None: no such image).
        Unlike any listing, its cost does not grow with the images the engine holds."""
        out: dict[str, dict[str, Any] | None] = {}
        conn = _UnixConnection(self.path, self.timeout)
        try:
            for ref in refs:
                conn.request("GET", f"/images/{urllib.parse.quote(ref, safe='/:@')}/json", headers={"Host": "docker"})
                response = conn.getresponse()
                body = response.read()
                if response.status == 404:
                    out[ref] = None
                elif response.status == 200:
                    row = json.loads(body)
                    out[ref] = row if isinstance(row, dict) else None
                else:
                    raise http.client.HTTPException(f"/images/{ref}/json answered HTTP {response.status}")
        finally:
            conn.close()
        return out

    def images(self, label: str) -> list[dict[str, Any]]:
        status, body = self.get("/images/json", {"filters": json.dumps({"label": [label]})})
        if status != 200:
            raise http.client.HTTPException(f"/images/json answered HTTP {status}: {body[:200]!r}")
        rows = json.loads(body)
        return rows if isinstance(rows, list) else []


def post_build(api: Any, params: Mapping[str, Any], archive: IO[bytes]) -> Iterator[dict[str, Any]]:
    """POST /build with BuildKit (`version=2`), the registry credentials the SDK would send for
    FROM, and the SDK's JSON stream decoder."""
    import base64
    import json

    from bbc.adapters.registry import auth

    headers = {"Content-Type": "application/x-tar"}
    found = auth.all_credentials()  # the credentials bbc's own requests use (DOCKER_AUTH_CONFIG too)
    if found:
        headers["X-Registry-Config"] = base64.urlsafe_b64encode(json.dumps(found).encode()).decode()
    response = api._post(api._url("/build"), params=dict(params), data=archive, headers=headers, stream=True)
    api._raise_for_status(response)
    yield from api._stream_helper(response, decode=True)


def head(api: Any, path: str, *args: str, params: Mapping[str, str] | None = None) -> tuple[int, Mapping[str, str]]:
    """HEAD an endpoint; its status code and headers (the archive stat reads no body)."""
    response = api.head(api._url(path, *args), params=dict(params or {}))
    return int(response.status_code), response.headers
