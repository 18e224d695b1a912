"""Every HTTP request bbc sends a registry: bounded in time, retried where that is safe, and a
bounded number in flight per registry.

urllib3 (which the docker SDK already brings, through requests) does the work: its `Retry`
retries connection errors, 5xx and 429 with exponential backoff and honours `Retry-After`; its
pools, one per registry with `block=True`, bound the connections (so the requests) in flight.
A registry the engine calls insecure is spoken to as dockerd does: HTTPS first, plain HTTP
only when the port does not speak TLS.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
import urllib.parse
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import urllib3
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import HTTPError, MaxRetryError, NameResolutionError, SSLError
from urllib3.util.retry import Retry

from bbc.adapters.registry import tls

TRIES = max(1, int(os.environ.get("BBC_REGISTRY_TRIES", "5")))  # each call, at most
IN_FLIGHT = max(1, int(os.environ.get("BBC_REGISTRY_CONNECTIONS", "6")))  # per registry
RETRY_AFTER_MAX = 30.0  # seconds: a longer Retry-After is waited this long, then tried again
STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
BACKOFF = 0.25  # seconds, doubled each try after the second (urllib3's formula), at most 8 s


class Unreachable(Exception):
    """A request that got no answer after every try; `reason` says why (no secrets in it)."""

    def __init__(self, reason: str, tries: int, *, certificate: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tries = tries
        self.certificate = certificate  # the TLS certificate could not be verified


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str] = field(repr=False)  # case-insensitive (urllib3's HTTPHeaderDict)
    body: bytes = field(repr=False)
    tries: int = 1


class _Retry(Retry):
    """urllib3's Retry with `Retry-After` bounded (a registry asking for an hour is tried again
    after RETRY_AFTER_MAX; the number of tries still bounds the whole)."""

    def get_retry_after(self, response: Any) -> float | None:
        after = super().get_retry_after(response)
        return None if after is None else min(after, RETRY_AFTER_MAX)

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> _Retry:
        if isinstance(error, NameResolutionError):  # a name that does not resolve will not resolve in a second
            raise MaxRetryError(_pool, url or "", error)
        return super().increment(method, url, response, error, _pool, _stacktrace)


class _QuietHTTPSPool(HTTPSConnectionPool):
    """A pool that does not warn about an unverified certificate: used only for a registry the
    engine calls insecure and no CA was installed for (dockerd does not verify it either)."""

    def _validate_conn(self, conn: Any) -> None:
        super(HTTPSConnectionPool, self)._validate_conn(conn)
        if conn.is_closed:
            conn.connect()


_LOCK = threading.Lock()
_POOLS: dict[tuple[str, str], urllib3.PoolManager] = {}
_SCHEMES: dict[str, str] = {}
RETRIES: Counter[str] = Counter()  # host -> requests retried by this process (what `release` reports)


def retry_policy(tries: int, method: str, idempotent: bool) -> Retry:
    again = tries - 1
    methods = IDEMPOTENT | {method} if idempotent else IDEMPOTENT
    return _Retry(total=again, connect=again, read=again, status=again, other=0, redirect=5,
                  allowed_methods=methods, status_forcelist=STATUSES, backoff_factor=BACKOFF, backoff_max=8.0,
                  backoff_jitter=0.1, raise_on_status=False, raise_on_redirect=False,
                  respect_retry_after_header=True)


def _pool(host: str, scheme: str) -> urllib3.PoolManager:
    with _LOCK:
        key = (host, scheme)
        if key not in _POOLS:
            kwargs: dict[str, Any] = {}
            if scheme == "https":
                verify = not insecure_host(host) or tls.has_ca(host)
                kwargs["ssl_context"] = tls.context(host, verify=verify)
                if not verify:
                    kwargs.update(cert_reqs="CERT_NONE", assert_hostname=False)
            manager = urllib3.PoolManager(num_pools=4, maxsize=IN_FLIGHT, block=True, **kwargs)
            if scheme == "https" and kwargs.get("cert_reqs") == "CERT_NONE":
                manager.pool_classes_by_scheme = {**manager.pool_classes_by_scheme, "https": _QuietHTTPSPool}
            _POOLS[key] = manager
        return _POOLS[key]


def insecure_host(host: str) -> bool:
    """Whether dockerd would speak to `host` without verifying it: the engine's
    insecure-registries (and 127.0.0.0/8, its default), or a loopback name."""
    from bbc.adapters.registry.engine_view import LOCAL_HOSTS, engine_allows_http

    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in LOCAL_HOSTS or engine_allows_http(host)


def scheme_of(host: str, timeout: float = 5.0) -> str:
    """https for a secure registry; for an insecure one what its port speaks (asked once)."""
    with _LOCK:
        known = _SCHEMES.get(host)
    if known is not None:
        return known
    found = "https" if not insecure_host(host) else _probe(host, min(timeout, 5.0))
    with _LOCK:
        _SCHEMES.setdefault(host, found)
        return _SCHEMES[host]


def _probe(host: str, timeout: float) -> str:
    """https when the port completes a TLS handshake, else http (as dockerd falls back for an
    insecure registry). A reset or a non-TLS answer is asked again: on a faulty network one
    connection may be cut, or answered by something else, without telling what the port speaks."""
    name, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if not name or not port.isdigit():
        name, port = host, "443"
    name = name.strip("[]")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for _ in range(3):
        try:
            with socket.create_connection((name, int(port)), timeout=timeout) as sock:
                with ctx.wrap_socket(sock, server_hostname=name):
                    return "https"
        except (ConnectionRefusedError, socket.gaierror, TimeoutError):
            return "http"  # nothing answers there: the request will say so
        except (ssl.SSLError, OSError):
            continue
    return "http"


def request(host: str, method: str, url: str, *, headers: Mapping[str, str] | None = None,
            body: bytes | None = None, timeout: float = 10.0, tries: int = TRIES,
            idempotent: bool | None = None) -> Answer:
    """One call, with its retries; `url` is absolute (a token realm, a redirect) or a path
    on `host`. Non-idempotent methods are retried only on connection errors (nothing was sent)
    unless `idempotent` says they may be (starting a blob upload twice only leaves one unused)."""
    if url.startswith("/"):
        scheme, where = scheme_of(host), host
        url = f"{scheme}://{host}{url}"
    else:
        parts = urllib.parse.urlsplit(url)
        scheme, where = parts.scheme, parts.netloc
    retries = retry_policy(tries, method, bool(idempotent))
    try:
        response = _pool(where, scheme).request(
            method, url, body=body, headers=dict(headers or {}), retries=retries, preload_content=True,
            timeout=urllib3.Timeout(connect=min(timeout, 10.0), read=timeout))
    except MaxRetryError as exc:
        reason = exc.reason
        certificate = isinstance(reason, SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(reason)
        made = 1 if certificate or isinstance(reason, (NameResolutionError, SSLError)) else tries
        RETRIES[host] += made - 1
        raise Unreachable(_reason(reason), made, certificate=certificate) from None
    except (HTTPError, OSError) as exc:
        raise Unreachable(_reason(exc), 1) from None
    history = [h for h in (response.retries.history if response.retries else ()) if h.redirect_location is None]
    if history:
        RETRIES[host] += len(history)
    return Answer(response.status, response.headers, response.data or b"", len(history) + 1)


def _reason(exc: object) -> str:
    """What went wrong, in the words a person knows ("Connection refused", "timed out")."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return text.split("certificate verify failed: ")[-1].split(" (_ssl")[0].rstrip(")'\"") or "certificate verify failed"
    for known in ("Connection refused", "Connection reset by peer", "timed out", "Name or service not known",
                  "Temporary failure in name resolution", "Remote end closed connection without response",
                  "No route to host", "Network is unreachable"):
        if known in text:
            return "[Errno 111] Connection refused" if known == "Connection refused" else known
    return text.split(": ", 1)[-1] if text.startswith("<") else text


def reset() -> None:
    """Forget pools and schemes (tests that start and stop registries on reused ports)."""
    with _LOCK:
        for manager in _POOLS.values():
            manager.clear()
        _POOLS.clear()
        _SCHEMES.clear()
