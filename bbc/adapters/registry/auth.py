"""Registry credentials and tokens, found where docker finds them.

Credentials: `DOCKER_AUTH_CONFIG` (a config.json document in a variable, as CI systems set it)
first, then the Docker config file (`$DOCKER_CONFIG/config.json`, default
`~/.docker/config.json`): its `auths`, `credHelpers` and `credsStore` (the
`docker-credential-<name>` helper protocol), read by the docker SDK's own reader. Docker Hub's
API host `registry-1.docker.io` uses Docker Hub's entry (`https://index.docker.io/v1/`).

Bearer tokens (the registry's `WWW-Authenticate: Bearer realm,service,scope` challenge) are
kept per registry and scope for this process and reused until they expire (`expires_in`,
60 s when the token server does not say). The engine is sent the same credentials
(`engine_auth`: X-Registry-Auth; `all_credentials`: a build's X-Registry-Config).
Secrets never enter a message.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bbc.errors import RegistryError

DOCKER_HUB_HOSTS = ("registry-1.docker.io", "index.docker.io", "docker.io")
DEFAULT_LIFETIME = 60.0  # seconds: the token spec's default when `expires_in` is absent
_CHALLENGE_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]*))')

clock: Callable[[], float] = time.monotonic  # tests move time forward


def credential_host(host: str) -> str:
    """The name credentials are stored under for a registry host."""
    return "docker.io" if host in DOCKER_HUB_HOSTS else host


def _configs() -> list[Any]:
    """DOCKER_AUTH_CONFIG's document, then the config file's, as the SDK's AuthConfig."""
    import docker.auth

    out = []
    text = os.environ.get("DOCKER_AUTH_CONFIG", "").strip()
    if text:
        try:
            document = json.loads(text)
        except ValueError:
            raise RegistryError("DOCKER_AUTH_CONFIG is not JSON",
                                tip='set it to a config.json document: {"auths": {"HOST": {"auth": "..."}}}') from None
        if not isinstance(document, dict):
            raise RegistryError("DOCKER_AUTH_CONFIG is not a JSON object", tip='e.g. {"auths": {...}}')
        out.append(docker.auth.load_config(config_dict=document))
    out.append(docker.auth.load_config())
    return out


def credentials(host: str) -> dict[str, str]:
    """`host`'s credentials, keys lower-cased (`username`/`password` or `identitytoken`); {}
    when none is configured. A failing credential helper is a RegistryError naming it."""
    import docker.errors

    try:
        for config in _configs():
            found = config.resolve_authconfig(credential_host(host))
            if found:
                return {str(k).lower(): str(v) for k, v in found.items() if v}
    except docker.errors.DockerException as exc:
        # helper messages name the helper, never the secret
        raise RegistryError(f"registry {host}: reading Docker credentials: {exc}",
                            tip=f"run `docker login {host}`") from None
    return {}


def engine_auth(host: str) -> dict[str, str] | None:
    """What the engine is sent for a push or pull to `host` (X-Registry-Auth), or None."""
    creds = credentials(host)
    if "identitytoken" in creds:
        return {"identitytoken": creds["identitytoken"], "serveraddress": credential_host(host)}
    if "username" in creds:
        return {"username": creds["username"], "password": creds.get("password", ""),
                "serveraddress": credential_host(host)}
    return None


def all_credentials() -> dict[str, dict[str, str]]:
    """Every registry's credentials, for a build's X-Registry-Config (FROM pulls)."""
    import docker.auth
    import docker.errors

    out: dict[str, dict[str, str]] = {}
    try:
        for config in reversed(_configs()):  # DOCKER_AUTH_CONFIG last: it wins
            for key, value in config.get_all_credentials().items():
                if value:
                    out[key] = {str(k).lower(): str(v) for k, v in value.items() if v}
    except docker.errors.DockerException as exc:
        raise RegistryError(f"reading Docker credentials: {exc}", tip="run `docker login`") from None
    if docker.auth.INDEX_NAME in out:
        out.setdefault(docker.auth.INDEX_URL, out[docker.auth.INDEX_NAME])
    return out


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="...",scope="..."` -> ("bearer", {realm, service, scope})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), {k.lower(): a or b for k, a, b in _CHALLENGE_PARAM.findall(rest)}


def scope(repository: str, method: str) -> str:
    return f"repository:{repository}:{'pull' if method in ('GET', 'HEAD') else 'pull,push'}"


@dataclass(frozen=True)
class _Token:
    value: str
    until: float  # clock() after which it is fetched again


_TOKENS: dict[tuple[str, str], _Token] = {}
_LOCK = threading.Lock()


def cached_token(host: str, wanted: str) -> str | None:
    """A live token of `host` for scope `wanted` (a pull,push token serves a pull too)."""
    covering = [wanted]
    if wanted.endswith(":pull"):
        covering.append(wanted + ",push")
    now = clock()
    with _LOCK:
        for key in covering:
            token = _TOKENS.get((host, key))
            if token is not None and token.until > now:
                return token.value
    return None


def keep_token(host: str, granted: str, answer: dict[str, Any]) -> str:
    """Remember a token server's answer for `granted`; the token, or a RegistryError."""
    token = answer.get("token") or answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise RegistryError(f"registry {host}: the token server sent no token")
    try:
        lifetime = float(answer.get("expires_in") or DEFAULT_LIFETIME)
    except (TypeError, ValueError):
        lifetime = DEFAULT_LIFETIME
    # fetched again a little before it runs out: a request must not carry a token that expires on the way
    until = clock() + max(lifetime - min(10.0, lifetime / 4), 1.0)
    with _LOCK:
        _TOKENS[(host, granted)] = _Token(token, until)
    return token


def forget_tokens() -> None:
    with _LOCK:
        _TOKENS.clear()
