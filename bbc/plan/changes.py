"""Which images a set of changed files touches: by `path`, by `watch` globs, and by their
own entry in bbc.yaml (a changed entry counts as a change of that image)."""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path
from typing import Any

from bbc.adapters import git
from bbc.config import ImageSpec
from bbc.model.hierarchy import Hierarchy
from bbc.config.yamlnodes import YamlProblem, load as load_yaml


def changed_images(hierarchy: Hierarchy, since: str | None) -> dict[str, list[str]]:
    """image -> the changed files (relative to the config folder) that touch it: below its
    folder as written or where a symlinked folder leads, its Dockerfile and test layer where
    they are (outside the folder too), and its `watch` globs."""
    config = hierarchy.config
    changes = git.changed_paths(config.root, since)
    top = changes.top
    base = config.root.resolve()
    changed = sorted(changes.paths)  # relative to the repository's top, as git names them
    shown = {p: _shown(top / p, base) for p in changed}
    out: dict[str, list[str]] = {}
    for name in hierarchy.order:
        spec = hierarchy[name]
        folders, files = _places(spec, top)
        hits = [shown[p] for p in changed
                if p in files or any(_below(p, f) for f in folders)
                or any(fnmatch.fnmatch(shown[p], w) for w in spec.watch)]
        if hits:
            out[name] = hits
    config_rel = config.path.name
    if config_rel in shown.values():
        for name in _changed_entries(hierarchy, changes.since):
            out.setdefault(name, []).append(f"{config_rel} (images.{name})")
    return out


def _shown(path: Path, base: Path) -> str:
    """`path` relative to the config's folder (`../x` outside it), posix."""
    return Path(os.path.relpath(path, base)).as_posix()


def _places(spec: ImageSpec, top: Path) -> tuple[set[str], set[str]]:
    """The image's folder and its own build files outside it, relative to the repository's top:
    each as written and where symlinks lead (a `path:` that is a symlink to a folder, a
    Dockerfile that is one). os.path strings, one realpath an image: --changed on 10,000."""
    folder = os.fspath(spec.path)
    places = {folder, os.path.realpath(folder)}
    folders = {_in_repo(p, top) for p in places}
    files: set[str | None] = set()
    for name in (spec.dockerfile, spec.test.layer if spec.test else None):
        if name is None:
            continue
        file = os.path.normpath(os.path.join(folder, name))
        outside = not file.startswith(folder + os.sep)
        if outside:
            files.add(_in_repo(file, top))
        if outside or os.path.islink(file):
            files.add(_in_repo(os.path.realpath(file), top))
    return {f for f in folders if f is not None}, {f for f in files if f is not None}


def _in_repo(path: str, top: Path) -> str | None:
    rel = os.path.relpath(path, top)
    return None if rel == ".." or rel.startswith(".." + os.sep) else Path(rel).as_posix()


def _below(changed: str, folder: str) -> bool:
    """A change at or below `folder`, or of a file standing for a folder above it (a
    submodule whose own changes could not be read, a symlink)."""
    if folder == ".":
        return True
    return changed == folder or changed.startswith(folder + "/") or folder.startswith(changed + "/")


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
