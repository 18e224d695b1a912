"""Which images a set of changed files touches: by `path`, by `watch` globs, and by their
own entry in bbc.yaml (a changed entry counts as a change of that image)."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

from bbc.adapters import git
from bbc.model.hierarchy import Hierarchy
from bbc.config.yamlnodes import YamlProblem, load as load_yaml


def changed_images(hierarchy: Hierarchy, since: str | None) -> dict[str, list[str]]:
    """image -> the changed files (relative to the config folder) that touch it."""
    config = hierarchy.config
    changes = git.changed_paths(config.root, since)
    base = config.root.resolve()
    rel_changed: list[str] = []
    for path in sorted(changes.paths):
        full = (changes.top / path).resolve()
        try:
            rel_changed.append(full.relative_to(base).as_posix())
        except ValueError:
            continue  # outside the hierarchy's folder
    out: dict[str, list[str]] = {}
    for name in hierarchy.order:
        spec = hierarchy[name]
        prefix = Path(spec.rel_path).as_posix().strip("/").removeprefix("./")
        prefix = "" if prefix == "." else prefix + "/"
        hits = [p for p in rel_changed if p.startswith(prefix) or any(fnmatch.fnmatch(p, w) for w in spec.watch)]
        if hits:
            out[name] = hits
    config_rel = config.path.name
    if config_rel in rel_changed:
        for name in _changed_entries(hierarchy, changes.since):
            out.setdefault(name, []).append(f"{config_rel} (images.{name})")
    return out


def _changed_entries(hierarchy: Hierarchy, rev: str) -> list[str]:
    config = hierarchy.config
    old_text = git.file_at(config.root, rev, config.path)
    old = _entries(old_text) if old_text is not None else {}
    new = _entries(config.path.read_text(encoding="utf-8"))
    return [name for name in hierarchy.order if old.get(name) != new.get(name)]


def _entries(text: str) -> dict[str, str]:
    """image -> a canonical dump of its entry with defaults merged in."""
    try:
        doc: Any = load_yaml(text).value
    except YamlProblem:
        return {}
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), dict):
        return {}
    defaults = doc.get("defaults") if isinstance(doc.get("defaults"), dict) else {}
    top = {"registry": doc.get("registry")}
    out = {}
    for name, body in doc["images"].items():
        merged = {**top, **(defaults or {}), **(body if isinstance(body, dict) else {"_": body})}
        out[name] = json.dumps(merged, sort_keys=True, default=str)
    return out
