"""Builds that docker-bake files describe, HCL (read with python-hcl2, the HCL2 parser kept on
PyPI) and JSON alike: each target's context, dockerfile (relative to its context), tags, args,
target stage and named contexts, after `inherits` and with `${VAR}` taken from the variables'
defaults. A function call or a reference to another block is UNKNOWN."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from bbc.upkeep.adopt.records import UNKNOWN, Build, Found, Source
from bbc.upkeep.adopt.tree import Tree

_INTERPOLATION = re.compile(r"(?<!\$)\$\{([^}]*)\}")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_MAX_DEPTH = 8


def _load(tree: Tree, rel: str) -> dict[str, Any] | str:
    """The file as bake's JSON shape (`{"target": {name: {...}}, "variable": {...}}`), or why not."""
    text = tree.read(rel)
    if rel.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            return f"not JSON: {exc}"
        return data if isinstance(data, dict) else "not a JSON object"
    import hcl2  # deferred: its grammar costs ~50 ms to load, only trees with HCL files pay

    options = hcl2.SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
    try:
        raw = hcl2.loads(text, serialization_options=options)
    except Exception as exc:  # python-hcl2 raises lark's errors and its own: any of them means "not HCL"
        return f"not HCL: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    return {kind: _blocks(raw.get(kind)) for kind in ("target", "variable")}


def _blocks(found: Any) -> dict[str, Any]:
    """HCL's `[{"name": {...}}, ...]` list of labelled blocks as one mapping."""
    out: dict[str, Any] = {}
    for block in found if isinstance(found, list) else []:
        if isinstance(block, dict):
            out.update({str(k): v for k, v in block.items() if isinstance(v, dict)})
    return out


def _interpolate(value: Any, variables: Mapping[str, Any], depth: int = 0) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, (str, int, float)):
        return UNKNOWN
    text = str(value)

    def one(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        if not _IDENT.match(inner) or inner not in variables or depth > _MAX_DEPTH:
            return UNKNOWN  # a function, another block's attribute, or the environment
        return _interpolate(variables[inner], variables, depth + 1)

    return _INTERPOLATION.sub(one, text).replace("$${", "${")


def _variables(data: Mapping[str, Any]) -> dict[str, Any]:
    found = data.get("variable")
    out: dict[str, Any] = {}
    for name, body in (found.items() if isinstance(found, dict) else []):
        out[name] = body.get("default", UNKNOWN) if isinstance(body, dict) else UNKNOWN
    return out


def _resolved(targets: Mapping[str, Any], name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """A target's attributes after `inherits` (later parents win, the target over all; args
    and contexts merged)."""
    body = targets.get(name)
    if not isinstance(body, dict) or name in seen:
        return {}
    merged: dict[str, Any] = {}
    parents = body.get("inherits")
    for parent in parents if isinstance(parents, list) else []:
        _merge(merged, _resolved(targets, str(parent), seen + (name,)))
    _merge(merged, body)
    return merged


def _merge(into: dict[str, Any], body: Mapping[str, Any]) -> None:
    for key, value in body.items():
        if key in ("args", "contexts") and isinstance(value, dict) and isinstance(into.get(key), dict):
            into[key] = {**into[key], **value}
        else:
            into[key] = value


def _build(rel: str, name: str, body: Mapping[str, Any], variables: Mapping[str, Any]) -> Build | None:
    here = posixpath.dirname(rel) or "."
    context = _interpolate(body.get("context", "."), variables)
    dockerfile = _interpolate(body.get("dockerfile", "Dockerfile"), variables)
    if UNKNOWN in context + dockerfile or "://" in context or "dockerfile-inline" in body:
        return None
    context = posixpath.normpath(posixpath.join(here, context))
    file = posixpath.normpath(posixpath.join(context, dockerfile))
    if file.startswith("../") or context.startswith("../"):
        return None
    tags = body.get("tags")
    args = body.get("args")
    contexts = body.get("contexts")
    target = body.get("target")
    return Build(
        file, context, tuple(_interpolate(t, variables) for t in (tags if isinstance(tags, list) else [])),
        Source.BAKE, f"{rel} (target {name})",
        {str(k): _interpolate(v, variables) for k, v in (args.items() if isinstance(args, dict) else [])},
        _interpolate(target, variables) if isinstance(target, str) else None,
        {str(k): _interpolate(v, variables) for k, v in (contexts.items() if isinstance(contexts, dict) else [])},
        name=name)


def read_file(tree: Tree, rel: str) -> Found:
    data = _load(tree, rel)
    if isinstance(data, str):
        return Found(messages=(f"{rel}: {data}; its targets are not read",))
    targets = data.get("target")
    if not isinstance(targets, dict):
        return Found()
    variables = _variables(data)
    builds = (_build(rel, name, _resolved(targets, name), variables) for name in targets if "${" not in name)
    return Found(tuple(b for b in builds if b is not None))


def read(tree: Tree) -> Found:
    out = Found()
    for rel in tree.bake:
        out += read_file(tree, rel)
    return out
