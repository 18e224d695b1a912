"""Placeholder defaults: `ARG BASE_IMG=<jupyter>` (the folder's name in angle brackets) or
`REPLACE_ME`, values a build file is meant to pass. When no build file passes one, a
`<name>` placeholder is taken to mean the image whose folder (or name) is `name`: a `?` link."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_ANGLED = re.compile(r"<([A-Za-z0-9][A-Za-z0-9._/-]*)>")
_TOKENS = re.compile(r"(?i)(?<![a-z0-9])(replace[_-]?me|change[_-]?me|placeholder|fixme|todo|xxx+)(?![a-z0-9])")


@dataclass(frozen=True)
class Placeholder:
    text: str  # as found in the reference
    name: str | None  # the folder or image it names (`<jupyter>`), None for `REPLACE_ME`


def find(image: str) -> Placeholder | None:
    """The placeholder in an expanded FROM reference, if it holds one."""
    m = _ANGLED.search(image)
    if m:
        return Placeholder(m.group(0), m.group(1).rstrip("/").rpartition("/")[2].lower())
    m = _TOKENS.search(image)
    return Placeholder(m.group(0), None) if m else None


def resolve(found: Placeholder, folders: Mapping[str, str], exclude: str) -> list[str]:
    """The images (name -> folder) a `<name>` placeholder can mean: named so, or in a folder so named."""
    if found.name is None:
        return []
    named = [n for n in folders if n == found.name and n != exclude]
    if named:
        return named
    return sorted(n for n, folder in folders.items()
                  if n != exclude and folder.rpartition("/")[2].lower() == found.name)
