"""Builds that docker-compose files describe: every service with a `build:` section (a context
string, or context, dockerfile relative to it, args, target, additional_contexts), tagged with
its `image:`, else with the name compose gives it (`<project>-<service>`, the project being the
file's folder). `${VAR:-default}` takes the default; `${VAR}` alone is UNKNOWN."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

import yaml

from bbc.upkeep.adopt import shell
from bbc.upkeep.adopt.records import UNKNOWN, Build, Found, Source
from bbc.upkeep.adopt.tree import Tree


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, (str, int, float)):
        return UNKNOWN
    return shell.expand(str(value), {}).replace("$$", "$")


def _pairs(found: Any) -> dict[str, str]:
    """A mapping, or a `["K=V", ...]` list, as a mapping (a key without a value is left out)."""
    if isinstance(found, dict):
        return {str(k): _text(v) for k, v in found.items() if v is not None}
    out: dict[str, str] = {}
    for item in found if isinstance(found, list) else []:
        key, eq, value = str(item).partition("=")
        if eq:
            out[key] = _text(value)
    return out


def _project(rel: str) -> str:
    folder = posixpath.basename(posixpath.dirname(rel)) or "."
    return re.sub(r"[^a-z0-9_-]", "", folder.lower())


def _build(rel: str, service: str, body: Mapping[str, Any]) -> Build | None:
    here = posixpath.dirname(rel) or "."
    spec = body.get("build")
    section: Mapping[str, Any] = spec if isinstance(spec, dict) else {"context": spec}
    context = _text(section.get("context", "."))
    file = _text(section.get("dockerfile", "Dockerfile"))
    if UNKNOWN in context + file or "://" in context or "dockerfile_inline" in section:
        return None
    context = posixpath.normpath(posixpath.join(here, context))
    file = posixpath.normpath(posixpath.join(context, file))
    if file.startswith("../") or context.startswith("../"):
        return None
    image = body.get("image")
    project = _project(rel) or "default"
    tags = (_text(image),) if image else (f"{project}-{service}", f"{project}_{service}")
    target = section.get("target")
    return Build(file, context, tags, Source.COMPOSE, f"{rel} (service {service})", _pairs(section.get("args")),
                 _text(target) if target else None, _pairs(section.get("additional_contexts")), name=service)


def read_file(tree: Tree, rel: str) -> Found:
    try:
        data = yaml.safe_load(tree.read(rel))
    except yaml.YAMLError as exc:
        return Found(messages=(f"{rel}: not YAML ({str(exc).splitlines()[0]}); its services are not read",))
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return Found()
    builds = (_build(rel, str(name), body) for name, body in services.items()
              if isinstance(body, dict) and body.get("build") is not None)
    return Found(tuple(b for b in builds if b is not None))


def read(tree: Tree) -> Found:
    out = Found()
    for rel in tree.compose:
        out += read_file(tree, rel)
    return out
