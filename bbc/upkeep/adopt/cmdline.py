"""`docker build` and `docker tag` command lines, wherever they are written (Makefile recipes,
shell scripts): `docker build|buildx build -t/--tag TAG [-f FILE] [--build-arg K=V] [--target S]
[--build-context N=V] DIR`, as the docker CLI reads them (`-f` relative to where it runs)."""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass

from bbc.upkeep.adopt.records import UNKNOWN, Alias, Build, Source

_BUILDS = (("docker", "build"), ("docker", "image", "build"), ("docker", "buildx", "build"), ("docker", "buildx", "b"),
           ("podman", "build"), ("podman", "image", "build"), ("buildah", "bud"), ("buildah", "build"),
           ("nerdctl", "build"))
_TAGS = (("docker", "tag"), ("docker", "image", "tag"), ("podman", "tag"), ("buildah", "tag"))
_SEPARATORS = frozenset({";", "&&", "||", "|", "&", "(", ")", "then", "do", "else", "{", "}"})
# flags that take no value: every other flag without `=` takes the next word
_SWITCHES = frozenset({"--pull", "--push", "--load", "--no-cache", "-q", "--quiet", "--rm", "--force-rm", "--squash",
                       "--compress", "--disable-content-trust", "--check", "--no-cache-filter"})
_PREFIXES = frozenset({"sudo", "exec", "time", "command", "@", "-", "+", "@-", "-@"})


def commands(text: str) -> list[list[str]]:
    """The simple commands of one shell line, split at `;`, `&&`, `|`, `then`, ..."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        words = list(lexer)
    except ValueError:  # an unbalanced quote: read it word by word
        words = text.split()
    out: list[list[str]] = [[]]
    for word in words:
        if word in _SEPARATORS:
            out.append([])
        else:
            out[-1].append(word)
    return [c for c in out if c]


def _program(argv: list[str]) -> list[str]:
    """`argv` without `sudo`, make's `@`/`-` and a path before the program's name."""
    i = 0
    while i < len(argv) and (argv[i] in _PREFIXES or "=" in argv[i] and not argv[i].startswith("-")):
        i += 1
    rest = [w.lstrip("@-+") if n == 0 else w for n, w in enumerate(argv[i:])]
    if rest:
        rest[0] = rest[0].rpartition("/")[2]
    return rest


def _verb(argv: list[str], verbs: tuple[tuple[str, ...], ...]) -> list[str] | None:
    for verb in verbs:
        if tuple(argv[:len(verb)]) == verb:
            return argv[len(verb):]
    return None


@dataclass(frozen=True)
class _Options:
    tags: tuple[str, ...]
    file: str | None
    args: dict[str, str]
    target: str | None
    contexts: dict[str, str]
    positional: tuple[str, ...]


def _options(words: list[str]) -> _Options:
    tags: list[str] = []
    args: dict[str, str] = {}
    contexts: dict[str, str] = {}
    positional: list[str] = []
    file = target = None
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("-") or word == "-":
            positional.append(word)
            i += 1
            continue
        flag, eq, value = word.partition("=")
        if not eq and flag not in _SWITCHES:
            value, i = (words[i + 1] if i + 1 < len(words) else ""), i + 1
        i += 1
        if flag in ("-t", "--tag"):
            tags.append(value)
        elif flag in ("-f", "--file"):
            file = value
        elif flag == "--target":
            target = value
        elif flag == "--build-arg" and "=" in value:
            key, _, val = value.partition("=")
            args[key] = val
        elif flag == "--build-context" and "=" in value:
            key, _, val = value.partition("=")
            contexts[key] = val
    return _Options(tuple(tags), file, args, target, contexts, tuple(positional))


def build(argv: list[str], cwd: str, where: str, source: Source, *, sure: bool = True, doubt: str = "") -> Build | None:
    """The Build of one command (`cwd`: where it runs, relative to the tree), or None when it
    is no build, or names its context or Dockerfile in a way that cannot be followed."""
    words = _verb(_program(argv), _BUILDS)
    if words is None:
        return None
    opts = _options(words)
    if not opts.positional or not opts.tags:
        return None
    context = _inside(cwd, opts.positional[0])
    if context is None:
        return None
    file = _inside(cwd, opts.file) if opts.file else posixpath.join(context, "Dockerfile").removeprefix("./")
    if file is None:
        return None
    return Build(file, context, opts.tags, source, where, opts.args, opts.target, opts.contexts,
                 sure=sure, doubt=doubt)


def alias(argv: list[str], where: str) -> Alias | None:
    words = _verb(_program(argv), _TAGS)
    if words is None or len(words) != 2 or any(w.startswith("-") for w in words):
        return None
    return Alias(words[0], words[1], where)


def _inside(cwd: str, path: str) -> str | None:
    """`path` (relative to `cwd`) relative to the tree; None for a URL, stdin, an unknown part
    or a path outside the tree."""
    if not path or path == "-" or "://" in path or path.startswith(("git@", "/")) or UNKNOWN in path or "$" in path:
        return None
    out = posixpath.normpath(posixpath.join(cwd, path))
    return None if out == ".." or out.startswith("../") else out


def read_line(text: str, cwd: str, where: str, source: Source, *, sure: bool = True,
              doubt: str = "") -> tuple[list[Build], list[Alias]]:
    """The builds and aliases of one (joined) shell line."""
    builds: list[Build] = []
    aliases: list[Alias] = []
    for argv in commands(text):
        found = build(argv, cwd, where, source, sure=sure, doubt=doubt)
        if found is not None:
            builds.append(found)
            continue
        tagged = alias(argv, where)
        if tagged is not None:
            aliases.append(tagged)
    return builds, aliases


def mentions_build(text: str) -> bool:
    """Cheap test before lexing: could the line hold a build or a tag command?"""
    return ("build" in text or "bud" in text or " tag " in text) and any(
        p in text for p in ("docker", "podman", "buildah", "nerdctl"))
