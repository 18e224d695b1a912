"""Rewrite `images.<name>.version` values in bbc.yaml, keeping everything else byte-for-byte.

A YAML round-trip would reflow the user's file; instead the file is only *composed* (node
marks kept) to locate each version scalar, and exactly that text span is replaced, in the
scalar's original quote style.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from bbc.adapters import state
from bbc.errors import BbcError

# A plain (unquoted) scalar made of these characters, and resolving to a string, stays a
# string when re-read; anything else is written double-quoted.
_PLAIN_SAFE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]*\Z")


def set_versions(path: Path, new: Mapping[str, str], *, dry_run: bool = False) -> str:
    """Set `images.NAME.version` for each NAME in `new`; return the unified diff.

    Unless `dry_run`, the file is replaced atomically, keeping its mode. An unchanged
    file is not written and gives an empty diff.
    """
    try:
        old_text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BbcError(f"{path}: cannot read: {exc}") from None
    images = _images(path, old_text)
    edits: list[tuple[int, int, str]] = []
    owners: dict[int, str] = {}
    for name, value in new.items():
        node = _version_node(path, images, name)
        if id(node) in owners:
            raise BbcError(
                f"{path}:{node.start_mark.line + 1}: images.{name}.version: shared with "
                f"images.{owners[id(node)]} through a YAML anchor; edit it by hand"
            )
        owners[id(node)] = name
        edits.append((node.start_mark.index, node.end_mark.index, _render(node, value)))

    text = old_text
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    if text == old_text:
        return ""
    diff = "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=f"a/{path.name}",
            tofile=f"b/{path.name}",
        )
    )
    if not dry_run:
        replace_file(path, text)
    return diff


def replace_file(path: Path, text: str) -> None:
    """Write `text` to a file the user owns (bbc.yaml, a Dockerfile, a requirements file):
    atomically, its mode kept, synced to disk before it replaces the old one."""
    state.atomic_write(path, text, sync=True)


def _render(node: yaml.ScalarNode, value: str) -> str:
    """`value` as YAML source text in `node`'s quote style (plain only when still a string)."""
    if "\n" in value or "\r" in value:
        raise BbcError(f"version {value!r} spans lines")
    if node.style == "'":
        return "'" + value.replace("'", "''") + "'"
    if node.style is None and _PLAIN_SAFE.match(value) and yaml.safe_load(value) == value:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _get(node: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    return None


def _images(path: Path, text: str) -> tuple[yaml.Node, yaml.MappingNode]:
    """The `images` key node and its mapping."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise BbcError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    entry = _get(root, "images") if isinstance(root, yaml.MappingNode) else None
    if entry is None or not isinstance(entry[1], yaml.MappingNode):
        raise BbcError(f"{path}:1: no 'images' mapping at the top level")
    return entry[0], entry[1]


def _version_node(
    path: Path, images: tuple[yaml.Node, yaml.MappingNode], name: str
) -> yaml.ScalarNode:
    images_key, images_map = images
    entry = _get(images_map, name)
    if entry is None:
        known = [k.value for k, _ in images_map.value if isinstance(k, yaml.ScalarNode)]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise BbcError(
            f"{path}:{images_key.start_mark.line + 1}: images.{name}: unknown image{hint}"
        )
    key, spec = entry
    version = _get(spec, "version") if isinstance(spec, yaml.MappingNode) else None
    if version is None:
        raise BbcError(
            f"{path}:{key.start_mark.line + 1}: images.{name}: no 'version' key to update",
            tip=f"add `version: 0.1.0` under images.{name}",
        )
    node = version[1]
    if not isinstance(node, yaml.ScalarNode) or node.style in ("|", ">"):
        raise BbcError(
            f"{path}:{node.start_mark.line + 1}: images.{name}.version: "
            "expected a one-line string such as 1.2.3"
        )
    return node
