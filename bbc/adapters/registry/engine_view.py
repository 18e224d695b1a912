"""What the engine (dockerd) decides about a registry, so bbc decides the same: which hosts it
speaks plain HTTP to (`insecure-registries`, 127.0.0.0/8 by default) and the `RegistryConfig`
of its /info (mirrors too), asked once per process."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def insecure(host: str, registry_config: Mapping[str, Any]) -> bool:
    """Whether an engine with this `RegistryConfig` (its /info) talks plain HTTP to `host`:
    listed in IndexConfigs as not secure, or an address in InsecureRegistryCIDRs (the
    engine's `insecure-registries`; 127.0.0.0/8 by default), as dockerd decides it."""
    import ipaddress
    import socket

    index = (registry_config.get("IndexConfigs") or {}).get(host) or {}
    if index.get("Secure") is False:
        return True
    cidrs = [ipaddress.ip_network(c, strict=False) for c in registry_config.get("InsecureRegistryCIDRs") or ()]
    if not cidrs:
        return False
    name = host[1:host.index("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
    try:
        addresses = {ipaddress.ip_address(name)}
    except ValueError:
        try:
            addresses = {ipaddress.ip_address(str(a[4][0]).split("%")[0]) for a in socket.getaddrinfo(name, None)}
        except OSError:
            return False
    return any(a in net for a in addresses for net in cidrs)


_ENGINE_REGISTRY_CONFIG: dict[str, Any] | None = None


def engine_allows_http(host: str) -> bool:
    """`insecure()` against the engine DOCKER_HOST names (asked once per process, over its unix
    socket; no engine, or one that does not say: https)."""
    return insecure(host, engine_registry_config())


def engine_registry_config() -> Mapping[str, Any]:
    """The RegistryConfig of the engine's /info (insecure registries, `Mirrors`), asked once."""
    global _ENGINE_REGISTRY_CONFIG
    if _ENGINE_REGISTRY_CONFIG is None:
        _ENGINE_REGISTRY_CONFIG = {}
        import os

        from bbc.adapters.docker import api as docker_api

        path = docker_api.socket_path(os.environ.get("DOCKER_HOST"))
        if path is not None:
            try:
                status, body = docker_api.Socket(path, timeout=5).get("/info")
                if status == 200:
                    _ENGINE_REGISTRY_CONFIG = dict(json.loads(body).get("RegistryConfig") or {})
            except Exception:  # no engine to ask: https, as for any registry
                pass
    return _ENGINE_REGISTRY_CONFIG
