"""Builds that Makefiles describe: each Makefile is read as `make` would run it in its own
folder (includes read in place, conditionals decided where their values are known, variables
as makevars.py expands them), and every recipe line holding a `docker build` or `docker tag`
becomes a Build or an Alias. A build line commented out in a recipe still says what a folder
produces, but not for sure."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from bbc.upkeep.adopt import cmdline
from bbc.upkeep.adopt.makevars import Variables
from bbc.upkeep.adopt.records import UNKNOWN, Found, Source
from bbc.upkeep.adopt.tree import Tree

_ASSIGN = re.compile(r"(?:(?:override|export|private)\s+)*([A-Za-z0-9_.\-/]+)\s*(\?=|:::=|::=|:=|\+=|!=|=)\s*(.*)\Z")
_CONDITIONAL = re.compile(r"(ifeq|ifneq|ifdef|ifndef)\b\s*(.*)\Z")
_INCLUDE = re.compile(r"(-include|sinclude|include)\s+(.*)\Z")
_RUN_AS_IS = frozenset({"Makefile", "makefile", "GNUmakefile"})
_MAX_INCLUDES = 8


@dataclass(frozen=True)
class _Recipe:
    file: str
    number: int
    text: str


def _logical(text: str) -> list[tuple[int, str]]:
    """(first line number, line) with backslash continuations joined."""
    out: list[tuple[int, str]] = []
    pending: str | None = None
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if pending is None:
            start, pending = number, ""
        if line.endswith("\\"):
            pending += line[:-1].strip() + " " if pending else line[:-1] + " "
            continue
        out.append((start, pending + (line.strip() if pending else line)))
        pending = None
    if pending:
        out.append((start, pending))
    return out


def _uncomment(line: str) -> str:
    at = line.find("#")
    while at > 0 and line[at - 1] == "\\":
        at = line.find("#", at + 1)
    return line if at < 0 else line[:at]


class _Run:
    """One Makefile read top to bottom as make reads it (a working object, not passed on)."""

    def __init__(self, tree: Tree, top: str, texts: dict[str, list[tuple[int, str]]]) -> None:
        self.tree, self.top, self.texts = tree, top, texts
        self.cwd = posixpath.dirname(top) or "."
        self.vars = Variables()
        self.recipes: list[_Recipe] = []
        self.active: list[bool] = []
        self.in_rule = False
        self.defining = False

    def lines(self, rel: str) -> list[tuple[int, str]]:
        if rel not in self.texts:
            self.texts[rel] = _logical(self.tree.read(rel))
        return self.texts[rel]

    def feed(self, rel: str, depth: int = 0) -> None:
        for number, raw in self.lines(rel):
            if raw.startswith("\t") and self.in_rule:
                if all(self.active) and not self.defining:
                    self.recipes.append(_Recipe(rel, number, raw[1:]))
                continue
            line = _uncomment(raw).strip()
            if line and not self._control(line) and all(self.active) and not self.defining:
                self._statement(line, rel, number, depth)

    def _control(self, line: str) -> bool:
        """Conditionals and `define` blocks: True when the line was one."""
        word = line.split(None, 1)[0]
        if self.defining:
            self.defining = word != "endef"
            return True
        m = _CONDITIONAL.match(line)
        if m:
            self.active.append(all(self.active) and self._holds(m.group(1), m.group(2)))
        elif word == "else" and self.active:
            rest = line[4:].strip()
            m = _CONDITIONAL.match(rest)
            self.active[-1] = not self.active[-1] and (m is None or self._holds(m.group(1), m.group(2)))
        elif word == "endif" and self.active:
            self.active.pop()
        elif word == "define" and all(self.active):
            self.defining = True
        else:
            return False
        return True

    def _holds(self, kind: str, rest: str) -> bool:
        if kind in ("ifdef", "ifndef"):
            name = self.vars.expand(rest.strip())
            value = self.vars.values.get(name)
            return (value is not None and value.text != "") == (kind == "ifdef")
        rest = rest.strip()
        if rest.startswith("(") and rest.endswith(")"):
            left, _, right = rest[1:-1].partition(",")
        else:
            parts = re.findall(r"\"([^\"]*)\"|'([^']*)'", rest)
            if len(parts) != 2:
                return False
            left, right = (a or b for a, b in parts)
        a, b = self.vars.expand(left).strip(), self.vars.expand(right).strip()
        if UNKNOWN in a or UNKNOWN in b:
            return False  # decided when make runs: neither branch is taken for sure
        return (a == b) == (kind == "ifeq")

    def _statement(self, line: str, rel: str, number: int, depth: int) -> None:
        m = _INCLUDE.match(line)
        if m:
            for path in self.vars.expand(m.group(2)).split():
                inc = posixpath.normpath(posixpath.join(self.cwd, path))
                if depth < _MAX_INCLUDES and UNKNOWN not in inc and self.tree.exists(inc):
                    self.feed(inc, depth + 1)
            return
        m = _ASSIGN.match(line)
        if m:
            self.vars.assign(m.group(1), m.group(2), m.group(3).strip())
            self.in_rule = False
            return
        target, colon, recipe = line.partition(":")
        self.in_rule = bool(colon) and not target.startswith("\t")
        if self.in_rule and ";" in recipe:
            self.recipes.append(_Recipe(rel, number, recipe.partition(";")[2]))

    def found(self) -> Found:
        out = Found()
        for recipe in self.recipes:
            if not cmdline.mentions_build(recipe.text):
                continue
            text = self.vars.expand(recipe.text)
            bare = text.strip().lstrip("@-+ \t")
            commented = bare.startswith("#")
            if commented:
                text = bare.lstrip("# \t")
            where = f"{recipe.file}:{recipe.number}"
            if recipe.file != self.top:
                where = f"{self.top} ({where})"
            builds, aliases = cmdline.read_line(text, self.cwd, where, Source.MAKEFILE, sure=not commented,
                                                doubt="a build line commented out" if commented else "")
            out += Found(tuple(builds), tuple(aliases) if not commented else ())
        return out


def _tops(tree: Tree) -> list[str]:
    """The Makefiles make runs: every `Makefile`, and the other makefiles (`*.mk`) no include
    line names."""
    included: set[str] = set()
    for rel in tree.makefiles:
        for line in tree.read(rel).splitlines():
            m = _INCLUDE.match(line.strip())
            if m:
                included.update(posixpath.basename(p) for p in m.group(2).split())
    return [rel for rel in tree.makefiles
            if posixpath.basename(rel) in _RUN_AS_IS or posixpath.basename(rel) not in included]


def read(tree: Tree) -> Found:
    """The builds and aliases of every Makefile of the tree."""
    texts: dict[str, list[tuple[int, str]]] = {}
    out = Found()
    for top in _tops(tree):
        run = _Run(tree, top, texts)
        run.feed(top)
        out += run.found()
    return out
