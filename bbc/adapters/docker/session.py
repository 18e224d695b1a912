"""A BuildKit session over the Engine API, serving build secrets (`RUN --mount=type=secret,id=ID`).

The engine's /build takes secrets only through a session, as the docker CLI opens one:
`POST /session` upgrades the HTTP connection (`Upgrade: h2c`, the session's id and the gRPC
methods it serves in `X-Docker-Expose-Session-*` headers); on that connection the engine is the
HTTP/2 *client* and the session the server, answering gRPC calls; the build names the session
(`session=ID` on /build). Two services are served:

- `moby.buildkit.secrets.v1.Secrets/GetSecret`: `GetSecretRequest{string ID = 1}` ->
  `GetSecretResponse{bytes data = 1}`, NOT_FOUND for an id bbc.yaml does not give;
- `grpc.health.v1.Health/Check`: SERVING (the engine checks the session is alive).
Every other method (auth, file sync, ssh) answers UNIMPLEMENTED, which BuildKit takes as "this
client offers none". HTTP/2 is h2 (python-hyper, sans-IO); the three messages are a field each,
written and read here in protobuf's wire format. Debian has no docker-buildx package here, and
grpcio cannot serve on a socket it did not open.

Secret values stay in memory, go only to the engine over this connection, and never into a log.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from bbc.errors import BuildError

SECRETS = "/moby.buildkit.secrets.v1.Secrets/GetSecret"
HEALTH = "/grpc.health.v1.Health/Check"
_OK, _NOT_FOUND, _UNIMPLEMENTED = 0, 5, 12


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _frame(message: bytes) -> bytes:
    """A gRPC length-prefixed message (not compressed)."""
    return b"\0" + len(message).to_bytes(4, "big") + message


def secret_id(body: bytes) -> str:
    """The ID of a GetSecretRequest (its first gRPC frame)."""
    from bbc.adapters.docker.buildkit import fields

    message = body[5:5 + int.from_bytes(body[1:5], "big")] if len(body) >= 5 else b""
    for number, value in fields(message):
        if number == 1 and isinstance(value, bytes):
            return value.decode("utf-8", "replace")
    return ""


def answer(path: str, body: bytes, secrets: Mapping[str, bytes]) -> tuple[int, bytes, str]:
    """(grpc status, response message, grpc message) for a call of `path` with request `body`."""
    if path == HEALTH:
        return _OK, b"\x08\x01", ""  # HealthCheckResponse{status: SERVING}
    if path == SECRETS:
        wanted = secret_id(body)
        if wanted not in secrets:
            return _NOT_FOUND, b"", f"secret {wanted} not found"
        data = secrets[wanted]
        return _OK, b"\x0a" + _varint(len(data)) + data, ""
    return _UNIMPLEMENTED, b"", f"{path} is not served by bbc"


class Session:
    """One session for one build: `with Session(address, secrets) as s: build(session=s.id)`."""

    def __init__(self, address: str, secrets: Mapping[str, bytes]) -> None:
        self.address = address
        self.secrets = dict(secrets)
        self.id = uuid.uuid4().hex
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.served: list[str] = []  # the secret ids handed out, for tests and logs (never values)

    def __enter__(self) -> Session:
        sock = _connect(self.address)
        try:
            rest = _upgrade(sock, self.id)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, args=(sock, rest), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _serve(self, sock: socket.socket, first: bytes) -> None:
        import h2.config
        import h2.connection
        import h2.events
        import h2.exceptions

        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        calls: dict[int, tuple[str, bytearray]] = {}
        pending: dict[int, tuple[bytes, list[tuple[str, str]]]] = {}  # stream -> (data left, trailers)
        data = first
        try:
            sock.sendall(conn.data_to_send())
            while True:
                if not data:
                    data = sock.recv(65536)
                    if not data:
                        return
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        calls[event.stream_id] = (_path(event.headers), bytearray())
                    elif isinstance(event, h2.events.DataReceived):
                        calls.get(event.stream_id, ("", bytearray()))[1].extend(event.data)
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded) and event.stream_id in calls:
                        path, body = calls.pop(event.stream_id)
                        self._respond(conn, event.stream_id, path, bytes(body), pending)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        return
                _flush(conn, pending)
                sock.sendall(conn.data_to_send())
                data = b""
        except (OSError, h2.exceptions.ProtocolError):
            return  # the build ended and the connection with it

    def _respond(self, conn: Any, stream: int, path: str, body: bytes,
                 pending: dict[int, tuple[bytes, list[tuple[str, str]]]]) -> None:
        status, message, text = answer(path, body, self.secrets)
        if path == SECRETS and status == _OK:
            self.served.append(secret_id(body))
        head = [(":status", "200"), ("content-type", "application/grpc")]
        if status != _OK:
            conn.send_headers(stream, head + [("grpc-status", str(status)), ("grpc-message", text)], end_stream=True)
            return
        conn.send_headers(stream, head)
        pending[stream] = (_frame(message), [("grpc-status", "0")])


def _path(headers: Any) -> str:
    for name, value in headers or ():
        if name in (":path", b":path"):
            return value.decode() if isinstance(value, bytes) else str(value)
    return ""


def _flush(conn: Any, pending: dict[int, tuple[bytes, list[tuple[str, str]]]]) -> None:
    """Send what the peer's flow-control windows allow; trailers once a response is all sent."""
    for stream in list(pending):
        data, trailers = pending[stream]
        room = min(conn.local_flow_control_window(stream), conn.max_outbound_frame_size)
        while data and room > 0:
            conn.send_data(stream, data[:room])
            data = data[room:]
            room = min(conn.local_flow_control_window(stream), conn.max_outbound_frame_size)
        if data:
            pending[stream] = (data, trailers)
        else:
            conn.send_headers(stream, trailers, end_stream=True)
            del pending[stream]


def _connect(address: str) -> socket.socket:
    """A socket to the engine: its unix socket, or plain tcp://host:port."""
    from bbc.adapters.docker.api import socket_path

    path = socket_path(address)
    try:
        if path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            return sock
        if address.startswith("tcp://") and os.environ.get("DOCKER_TLS_VERIFY", "") in ("", "0"):
            host, _, port = address[len("tcp://"):].rstrip("/").rpartition(":")
            return socket.create_connection((host, int(port)), timeout=30)
    except OSError as exc:
        raise BuildError(f"build secrets: cannot open a session with the engine at {address}: {exc}") from None
    raise BuildError(f"build secrets: bbc opens BuildKit sessions over a unix socket or plain tcp, not {address}; "
                     "build where the engine's socket is reachable")


def _upgrade(sock: socket.socket, session: str) -> bytes:
    """POST /session upgraded to h2c; the bytes read past the answer's headers (the engine may
    send its HTTP/2 preface at once)."""
    headers = [("Host", "docker"), ("Connection", "Upgrade"), ("Upgrade", "h2c"), ("Content-Length", "0"),
               ("X-Docker-Expose-Session-Uuid", session), ("X-Docker-Expose-Session-Name", "bbc"),
               ("X-Docker-Expose-Session-Sharedkey", session),
               ("X-Docker-Expose-Session-Grpc-Method", SECRETS), ("X-Docker-Expose-Session-Grpc-Method", HEALTH)]
    sock.sendall(("POST /session HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode())
    answer_ = b""
    while b"\r\n\r\n" not in answer_:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer_ += chunk
        if len(answer_) > 65536:
            break
    head, _, rest = answer_.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode("latin-1")
    if " 101 " not in f"{status} ":
        raise BuildError(f"build secrets: the engine refused a BuildKit session ({status or 'no answer'}); "
                         "secrets need an engine with BuildKit sessions (Docker 18.09 or later)")
    sock.settimeout(None)
    return rest
