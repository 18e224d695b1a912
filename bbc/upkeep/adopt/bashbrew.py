"""Builds that bashbrew library files describe (the Docker official images' format): the file's
name is the repository, each paragraph's `Tags` and `SharedTags` what its `Directory` (and
`File`) produces, the first paragraph's fields defaults for the others. Directories are read
relative to the tree's root; a paragraph naming a folder the tree does not hold is another
repository's and left out."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from bbc.upkeep.adopt.records import Build, Found, Source
from bbc.upkeep.adopt.tree import Tree


@dataclass(frozen=True)
class _Paragraph:
    line: int
    fields: dict[str, str]


def paragraphs(text: str) -> list[_Paragraph]:
    """RFC 2822 style paragraphs: `Key: value` lines (a line starting with white space goes on
    the one before), a blank line between paragraphs, `#` lines comments."""
    out: list[_Paragraph] = []
    fields: dict[str, str] = {}
    start, last = 0, ""
    for number, line in enumerate(text.splitlines() + [""], 1):
        if line.lstrip().startswith("#"):
            continue
        if not line.strip():
            if fields:
                out.append(_Paragraph(start, fields))
            fields, last = {}, ""
            continue
        if line[0].isspace() and last:
            fields[last] += " " + line.strip()
            continue
        key, colon, value = line.partition(":")
        if colon:
            start = start if fields else number
            last = key.strip()
            fields[last] = value.strip()
    return out


def _split(value: str) -> list[str]:
    return [t.strip() for t in value.replace("\n", ",").split(",") if t.strip()]


def read_file(tree: Tree, rel: str) -> Found:
    repository = posixpath.basename(rel).lower()
    found = paragraphs(tree.read(rel))
    if not found:
        return Found()
    defaults = found[0].fields if "Tags" not in found[0].fields else {}
    builds: list[Build] = []
    for paragraph in found:
        fields = {**defaults, **paragraph.fields}
        tags = _split(fields.get("Tags", "")) + _split(fields.get("SharedTags", ""))
        if not tags:
            continue
        directory = posixpath.normpath(fields.get("Directory", ".").strip("/") or ".")
        file = posixpath.normpath(posixpath.join(directory, fields.get("File", "Dockerfile")))
        if directory.startswith("..") or not tree.exists(file):
            continue
        builds.append(Build(file, directory, tuple(f"{repository}:{t}" for t in tags), Source.BASHBREW,
                            f"{rel}:{paragraph.line}"))
    return Found(tuple(builds))


def read(tree: Tree) -> Found:
    out = Found()
    for rel in tree.libraries:
        out += read_file(tree, rel)
    return out
