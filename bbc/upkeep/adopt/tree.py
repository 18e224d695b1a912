"""The files of a tree adoption reads: every Dockerfile, and every build file that may say what
a Dockerfile produces (Makefiles, shell scripts, docker-bake HCL and JSON, compose files,
bashbrew library files). One walk; hidden, vendored and environment folders skipped, and in a
git work tree what `.gitignore` ignores."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from bbc.errors import BbcError

TEST_LAYER = "Dockerfile.test"
# vendored code, caches and environments: their Dockerfiles are somebody else's images
SKIP_FOLDERS = frozenset({"node_modules", "vendor", "vendored", "third_party", "third-party", "site-packages",
                          "__pycache__", "venv", "env"})
EXAMPLE_FOLDERS = frozenset({"doc", "docs", "example", "examples", "sample", "samples", "demo", "demos"})
# where test fixtures live: their Dockerfiles are data of a test suite, not images
FIXTURE_FOLDERS = frozenset({"test", "tests", "testdata", "test-data", "test_data", "fixture", "fixtures",
                             "__tests__", "__fixtures__"})
_TEMPLATE = re.compile(r"(?i).*\.(template|tmpl|tpl|in|j2|jinja2?|em|erb|mustache|gotmpl)\Z")
_MAKEFILE = re.compile(r"(?:GNUmakefile|[Mm]akefile(?:\.[A-Za-z0-9_-]+)?|.+\.mk)\Z")
_SCRIPT = re.compile(r".+\.(?:sh|bash)\Z")
_BAKE = re.compile(r"(?i)(?:.*bake.*\.(?:hcl|json)|.+\.hcl)\Z")
_COMPOSE = re.compile(r"(?i)(?:docker-)?compose(?:[._-][A-Za-z0-9_.-]*)?\.ya?ml\Z")
LIBRARY_PEEK = 512  # bytes read to tell a bashbrew library file (no extension) by its header


def is_dockerfile(name: str) -> bool:
    """`Dockerfile`, `Dockerfile.*`, `*.Dockerfile`, `*.dockerfile` (not `.dockerignore` files)."""
    if name.endswith(".dockerignore"):
        return False
    return name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith((".Dockerfile", ".dockerfile"))


def is_template(rel: str) -> bool:
    """A Dockerfile a generator fills in (`Dockerfile.template`, `x.Dockerfile.j2`): not built as is."""
    return bool(_TEMPLATE.match(rel.rpartition("/")[2]))


def is_fixture(rel: str) -> bool:
    """A Dockerfile below a test folder (`tests/fixtures/python/Dockerfile`)."""
    return any(part.lower() in FIXTURE_FOLDERS for part in rel.split("/")[:-1])


def is_example(rel: str) -> bool:
    """A Dockerfile in documentation or examples: it builds on the tree, the tree not on it."""
    return any(part.lower() in EXAMPLE_FOLDERS for part in rel.split("/")[:-1])


@dataclass(frozen=True)
class Tree:
    """The files below `root` adoption reads, posix and relative to it, each list sorted."""

    root: Path
    dockerfiles: tuple[str, ...]
    makefiles: tuple[str, ...] = ()
    scripts: tuple[str, ...] = ()
    bake: tuple[str, ...] = ()
    compose: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()  # files without an extension: bashbrew library candidates

    def read(self, rel: str) -> str:
        """The text of a file of the tree; BbcError, located, when it cannot be read."""
        try:
            return (self.root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise BbcError(f"{rel}: cannot read it: {exc.strerror or exc}") from exc

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()


def _skipped(rel: str) -> bool:
    return any(part.startswith(".") or part in SKIP_FOLDERS for part in rel.split("/")[:-1])


def _listed(root: Path) -> list[str]:
    from bbc.adapters import git

    listed = git.visible_files(root)
    if listed:  # ls-files runs in `root` and answers relative to it; none: all of it ignored
        return [rel for rel in listed if not _skipped(rel)]
    out: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_FOLDERS)
        rel = os.path.relpath(folder, root)
        prefix = "" if rel == "." else Path(rel).as_posix() + "/"
        out.extend(prefix + name for name in files)
    return sorted(out)


def find(root: Path) -> list[str]:
    """Every Dockerfile below `root` as a posix path relative to it, sorted; hidden, vendored
    and environment folders skipped, and in a git work tree what `.gitignore` ignores (unless
    it ignores the whole folder: then the folder is read as if outside git)."""
    return [rel for rel in _listed(root) if is_dockerfile(rel.rpartition("/")[2])]


def scan(root: Path) -> Tree:
    """The Dockerfiles and build files below `root`."""
    kinds: dict[str, list[str]] = {k: [] for k in ("d", "m", "s", "b", "c", "l")}
    for rel in _listed(root):
        name = rel.rpartition("/")[2]
        if is_dockerfile(name):
            kinds["d"].append(rel)
        elif _MAKEFILE.match(name):
            kinds["m"].append(rel)
        elif _SCRIPT.match(name):
            kinds["s"].append(rel)
        elif _BAKE.match(name):
            kinds["b"].append(rel)
        elif _COMPOSE.match(name):
            kinds["c"].append(rel)
        elif "." not in name and _looks_like_library(root / rel):
            kinds["l"].append(rel)
    return Tree(Path(root), *(tuple(kinds[k]) for k in ("d", "m", "s", "b", "c", "l")))


def _looks_like_library(path: Path) -> bool:
    """A bashbrew library file opens with RFC 2822 style `Maintainers:` / `GitRepo:` fields."""
    try:
        with path.open("rb") as f:
            head = f.read(LIBRARY_PEEK).decode("utf-8", errors="replace")
    except OSError:
        return False
    lines = [line for line in head.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return bool(lines) and lines[0].startswith("Maintainers:")
