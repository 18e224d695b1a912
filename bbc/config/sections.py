"""The top-level sections of bbc.yaml besides `images:`: `projects:` (who builds on the
images), `policy:` (gates a release must pass), `engines:` (the pool), `signing:` and `mirrors:`
(where the images of a registry are also asked)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bbc.config import runners
from bbc.config.checker import Checker, kind
from bbc.errors import did_you_mean
from bbc.model.specs import (ENGINE_KEYS, POLICY_KEYS, POLICY_LEVELS, PROJECT_KEYS, SIGNING_KEYS, EngineSpec, ImageSpec,
                             MirrorSpec, Policy, ProjectSpec, SigningSpec)

_REGISTRY_HOST = re.compile(r"^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$")
_MIRROR = re.compile(r"^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
                     r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


def signing(r: Checker, node: Any) -> SigningSpec:
    """`signing: {key: PATH or env:NAME, public_keys: [PEM files]}` (issue 23)."""
    body = r.mapping(node, ("signing",), SIGNING_KEYS) or {}
    key = r.string(body, ("signing",), "key")
    if key is not None and key.startswith("env:") and not re.match(r"[A-Za-z_][A-Za-z0-9_]*\Z", key[4:]):
        r.problem(("signing", "key"), f"{key!r}: env: takes an environment variable name, e.g. env:BBC_SIGNING_KEY")
    found: list[Path] = []
    for i, rel in enumerate(r.str_list(body, ("signing",), "public_keys") or ()):
        path = Path(r.base, rel)
        r.touched.append(os.fspath(path))
        if not path.is_file():
            r.problem(("signing", "public_keys", str(i)), f"{rel}: no such file "
                                                          "(`bbc keys generate DIR` writes DIR/bbc.pub)")
        found.append(path)
    return SigningSpec(key, tuple(found))


def engines(r: Checker, node: Any) -> tuple[EngineSpec, ...]:
    """`engines:` a list of URLs / context names, or {host, jobs} mappings."""
    if not isinstance(node, list) or not node:
        r.problem(("engines",), "must be a non-empty list of engines (a URL such as "
                                "unix:///var/run/docker.sock or tcp://host:2376, or a docker context name)")
        return ()
    out: list[EngineSpec] = []
    for i, entry in enumerate(node):
        found = _engine(r, entry, ("engines", str(i)))
        if found is not None:
            out.append(found)
    hosts = [e.host for e in out]
    for host in sorted({h for h in hosts if hosts.count(h) > 1}):
        r.problem(("engines",), f"{host} is listed twice")
    return tuple(out)


def _engine(r: Checker, entry: Any, keys: tuple[str, ...]) -> EngineSpec | None:
    if isinstance(entry, str) and entry.strip():
        return EngineSpec(entry.strip())
    body = r.mapping(entry, keys, ENGINE_KEYS) if isinstance(entry, dict) else None
    if body is None:
        r.problem(keys, "an engine is a URL or context name, or a mapping with host (and jobs)")
        return None
    host = r.string(body, keys, "host", required=True)
    jobs = body.get("jobs", 1)
    if isinstance(jobs, str) and jobs.isdigit():
        jobs = int(jobs)  # scalars are kept as written
    if not isinstance(jobs, int) or isinstance(jobs, bool) or not 1 <= jobs <= 64:
        r.problem(keys + ("jobs",), f"must be a whole number from 1 to 64, not {jobs!r}")
        jobs = 1
    found = runners.platform_list(r, body, keys, "platforms") if "platforms" in body else ()
    return EngineSpec(host, jobs, found) if host else None


def policy(r: Checker, node: Any) -> Policy:
    found = dict(r.mapping(node, ("policy",), POLICY_KEYS) or {})
    levels: dict[str, Any] = _gates(r, found)  # issue 13 gates, popped from `found`
    if "trusted_bases" in found:
        levels["trusted_bases"] = _trusted_bases(r, found.pop("trusted_bases"))
    for key, value in found.items():
        if key not in POLICY_KEYS:  # reported as unknown already
            continue
        if value not in POLICY_LEVELS:
            r.problem(("policy", key), f"must be one of {', '.join(POLICY_LEVELS)}, not {value!r}")
        else:
            levels[key] = value
    return Policy(**levels)


def _gates(r: Checker, found: dict[str, Any]) -> dict[str, Any]:
    """The policy gates of issue 13 (bbc/inside/policy.py), removed from `found`."""
    out: dict[str, Any] = {}
    for key in ("non_root", "no_package_caches", "no_secrets"):
        if key in found:
            value = found.pop(key)
            if isinstance(value, bool):
                out[key] = value
            else:
                r.problem(("policy", key), f"must be true or false, not {value!r}")
    for key in ("max_own_size", "max_size"):
        if key in found:
            value = found.pop(key)
            size = _size(value)
            if size is None:
                r.problem(("policy", key), f"must be a size like 300MB, 1.5GB or a number of bytes, not {value!r}")
            else:
                out[key] = size
    if "required_labels" in found:
        labels_ = r.str_list({"required_labels": found.pop("required_labels")}, ("policy",), "required_labels")
        out["required_labels"] = labels_ or ()
    return out


def _trusted_bases(r: Checker, node: Any) -> dict[str, tuple[Path, ...]]:
    """`trusted_bases: {PREFIX: [PEM files]}` (issue 23): external bases under PREFIX must be
    signed by one of these keys."""
    keys = ("policy", "trusted_bases")
    if not isinstance(node, dict) or not node:
        r.problem(keys, "must map an image prefix to the public keys its bases are signed with, "
                        "e.g. {registry.acme.io/upstream/: [keys/upstream.pub]}")
        return {}
    out: dict[str, tuple[Path, ...]] = {}
    for prefix in node:
        files = r.str_list(node, keys, str(prefix))
        if not isinstance(prefix, str) or not prefix.strip():
            r.problem(keys, f"{prefix!r} is not an image prefix")
            continue
        if not files:
            r.problem(keys + (prefix,), "list the PEM public keys its bases must be signed with")
            continue
        paths = []
        for i, rel in enumerate(files):
            path = Path(r.base, rel)
            r.touched.append(os.fspath(path))
            if not path.is_file():
                r.problem(keys + (prefix, str(i)), f"{rel}: no such file")
            paths.append(path)
        out[prefix] = tuple(paths)
    return out


_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def _size(value: Any) -> int | None:
    """Bytes from `300MB`, `1.5GB`, `512MiB` or a number (policy size budgets)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(value))
    if m is None or m.group(2).lower() not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def projects(r: Checker, node: Any, images: Mapping[str, ImageSpec]) -> dict[str, ProjectSpec]:
    if node is None:
        return {}
    if not isinstance(node, dict):
        r.problem(("projects",), f"must be a mapping of project names to settings, not {kind(node)}")
        return {}
    out: dict[str, ProjectSpec] = {}
    for name, body in node.items():
        keys = ("projects", name)
        body = r.mapping(body, keys, PROJECT_KEYS)
        if body is None:
            continue
        repo = r.string(body, keys, "repo", required=True)
        file = r.string(body, keys, "file") or "Dockerfile"
        used = r.str_list(body, keys, "images") or ()
        if not used:
            r.problem(keys + ("images",), "list the blessed images this project builds on")
        for image in used:
            if image not in images:
                r.problem(keys + ("images",), f"unknown image '{image}'{did_you_mean(image, images)}")
        test = body.get("test", False)
        if not isinstance(test, bool):
            r.problem(keys + ("test",), "must be true or false")
            test = False
        if repo is not None:
            out[name] = ProjectSpec(name, repo, file, used, test)
    return out


def mirrors(r: Checker, node: Any, only: Any) -> MirrorSpec:
    """`mirrors: {docker.io: [mirror.acme.internal, 127.0.0.1:5001/hub]}` and `mirrors_only` (issue 22)."""
    if not isinstance(only, bool):
        r.problem(("mirrors_only",), f"must be true or false, not {kind(only)}")
        only = False
    hosts: dict[str, tuple[str, ...]] = {}
    for registry in r.mapping(node, ("mirrors",), tuple(node) if isinstance(node, dict) else ()) or {}:
        keys = ("mirrors", str(registry))
        if not isinstance(registry, str) or not _REGISTRY_HOST.match(registry):
            r.problem(keys, "is not a registry host (e.g. docker.io, ghcr.io, registry.acme.com:5000)")
            continue
        entries = r.str_list(node, ("mirrors",), registry)
        if not entries:
            r.problem(keys, "must list its mirrors, e.g. [mirror.acme.internal, 127.0.0.1:5001]")
            continue
        for i, entry in enumerate(entries):
            if not _MIRROR.match(entry):
                r.problem(keys + (str(i),), f"'{entry}' is not a mirror: host[:port][/path], without "
                                            "https:// (e.g. mirror.acme.internal or 127.0.0.1:5001/hub)")
        hosts["docker.io" if registry in ("index.docker.io", "registry-1.docker.io") else registry] = entries
    if only and not hosts:
        r.problem(("mirrors_only",), "names no mirror to use instead: add `mirrors:`")
    return MirrorSpec(hosts, only)
