"""Builds that shell scripts describe: `docker build` lines with the variables the script sets
above them (`NAME=value`; `${NAME:-default}` takes the default when the script does not set
NAME); what the script only learns when it runs (`$(git rev-parse HEAD)`, a loop variable, the
environment without a default) is UNKNOWN. A script may run
where it lies or from the tree's root: the folder in which the Dockerfile it names exists
wins, and when both hold one the build is not sure."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping

from bbc.model import dockerfile
from bbc.upkeep.adopt import cmdline
from bbc.upkeep.adopt.records import UNKNOWN, Build, Found, Source
from bbc.upkeep.adopt.tree import Tree

_ASSIGN = re.compile(r"\s*(?:export\s+|readonly\s+|local\s+|declare\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)\Z")
_SUBSTITUTION = re.compile(r"\$\([^)]*\)|`[^`]*`")


_DEFAULTED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^{}]*)\}")


class _Values(dict[str, str]):
    """Variable values; a variable the script never sets is UNKNOWN."""

    def get(self, key: str, default: object = None) -> str:
        return super().get(key, UNKNOWN)


def expand(text: str, values: Mapping[str, str]) -> str:
    """`text` with `$X`, `${X}` expanded from `values`; a variable they do not hold takes the
    default written beside it (`${TAG:-1.0}`), else is UNKNOWN."""
    text = _DEFAULTED.sub(lambda m: m.group(0) if m.group(1) in values else m.group(2), text)
    known = _Values(values)
    return dockerfile.expand(text, known)[0]


def _lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append((start, pending + line))
        pending = ""
    return out


def _value(raw: str, values: Mapping[str, str]) -> str:
    raw = _SUBSTITUTION.sub(UNKNOWN, raw)
    try:
        words = shlex.split(raw, comments=True)
    except ValueError:
        return UNKNOWN
    return expand(words[0], values) if words else ""


def _placed(tree: Tree, build: Build, script: str) -> Build | None:
    """`build` read from the script's folder, else from the tree's root: whichever holds its
    Dockerfile (None when neither does)."""
    here = tree.exists(build.file)
    if posixpath.dirname(script) in ("", "."):
        return build if here else None
    rel = posixpath.relpath(build.file, posixpath.dirname(script))
    context = posixpath.relpath(build.context, posixpath.dirname(script))
    at_root = not rel.startswith("../") and tree.exists(rel)
    if at_root and not here:
        return Build(rel, posixpath.normpath(context), build.tags, build.source, build.where, build.args,
                     build.target, build.contexts, sure=build.sure, doubt=build.doubt)
    if here and at_root:
        return Build(build.file, build.context, build.tags, build.source, build.where, build.args, build.target,
                     build.contexts, sure=False, doubt=f"{script} may run in its folder or the tree's root")
    return build if here else None


def read_script(tree: Tree, rel: str) -> Found:
    values = _Values()
    cwd = posixpath.dirname(rel) or "."
    out = Found()
    for number, line in _lines(tree.read(rel)):
        m = _ASSIGN.match(line)
        if m:
            values[m.group(1)] = _value(m.group(2), values)
            continue
        if not cmdline.mentions_build(line):
            continue
        stripped = line.strip()
        commented = stripped.startswith("#")
        text = expand(_SUBSTITUTION.sub(UNKNOWN, stripped.lstrip("# \t")), values)
        builds, aliases = cmdline.read_line(text, cwd, f"{rel}:{number}", Source.SCRIPT, sure=not commented,
                                            doubt="a build line commented out" if commented else "")
        placed = tuple(b for b in (_placed(tree, b, rel) for b in builds) if b is not None)
        out += Found(placed, tuple(aliases) if not commented else ())
    return out


def read(tree: Tree) -> Found:
    out = Found()
    for rel in tree.scripts:
        out += read_script(tree, rel)
    return out
