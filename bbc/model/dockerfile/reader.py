"""The one Dockerfile reader of the package: instructions as the builder joins them, which args
feed FROM lines, the stages, the external bases (FROM images bbc does not build), and image
references split as Docker splits them."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass


def escape_char(text: str) -> str:
    """The escape (and line continuation) character: `\\`, or what an `# escape=` parser
    directive at the top of the file sets (`` ` `` in Windows Dockerfiles)."""
    for line in text.splitlines():
        m = re.fullmatch(r"\s*#\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(\S*)\s*", line)
        if not m:
            break  # directives only open the file
        if m.group(1).lower() == "escape" and m.group(2) in ("\\", "`"):
            return m.group(2)
    return "\\"


def instructions(text: str) -> list[tuple[int, str, str]]:
    """(line number, INSTRUCTION, arguments) with continuations joined and comments dropped.

    As the builder reads it: comment and blank lines inside a continued instruction are
    skipped, not the end of it, so the line numbers of what follows stay right; the bodies
    of heredocs (`RUN <<EOF` ... `EOF`) are content, never instructions."""
    escape = escape_char(text)
    out: list[tuple[int, str, str]] = []
    pending: str | None = None
    start = 0
    bodies: list[tuple[str, bool]] = []  # heredocs still to skip: (terminator, tabs stripped)
    for number, line in enumerate(text.splitlines(), 1):
        if bodies:
            name, chomp = bodies[0]
            if (line.lstrip("\t") if chomp else line) == name:
                del bodies[0]
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if pending is None:
            pending, start = "", number
        if stripped.endswith(escape):
            pending += stripped[:-1] + " "
            continue
        out.append(_instruction(start, pending + stripped))
        bodies = heredocs(*out[-1][1:])
        pending = None
    if pending is not None and pending.strip():  # the file ends inside a continuation
        out.append(_instruction(start, pending))
    return out


def heredoc_body_lines(text: str) -> set[int]:
    """The line numbers (1-based) of heredoc bodies and their terminators: file content or a
    script, never an instruction of the Dockerfile (as instructions() skips them)."""
    out: set[int] = set()
    bodies: list[tuple[str, bool]] = []
    lines = text.splitlines()
    for number, word, rest in instructions(text):
        bodies = heredocs(word, rest)
        if not bodies:
            continue
        last = number  # the instruction may continue over lines: its body starts after it
        while last < len(lines) and lines[last - 1].rstrip().endswith(escape_char(text)):
            last += 1
        for n in range(last + 1, len(lines) + 1):
            out.add(n)
            name, chomp = bodies[0]
            if (lines[n - 1].lstrip("\t") if chomp else lines[n - 1]) == name:
                del bodies[0]
                if not bodies:
                    break
    return out


_HEREDOC = re.compile(r"[0-9]*<<(-?)([^<]+)")


def heredocs(word: str, rest: str) -> list[tuple[str, bool]]:
    """The heredocs an instruction opens, in order: (terminator, whether leading tabs are
    stripped before comparing: `<<-EOF`). As BuildKit finds them: RUN, COPY and ADD (also
    after ONBUILD) in shell form, each `<<NAME` a word of its own, NAME maybe quoted
    (`<<"EOF"`, `<<'EOF'`: the body is not expanded, which does not matter here)."""
    if word == "ONBUILD":
        word, _, rest = rest.partition(" ")
        word = word.upper()
    if word not in ("RUN", "COPY", "ADD") or "<<" not in rest or rest.lstrip().startswith("["):
        return []
    try:
        words = shlex.split(rest, posix=False)  # quotes kept: `"<<EOF"` is not a heredoc
    except ValueError:
        return []
    out = []
    for token in words:
        m = _HEREDOC.fullmatch(token)
        if m is None:
            continue
        try:
            name = shlex.split(m.group(2))
        except ValueError:
            continue
        if len(name) == 1 and name[0]:
            out.append((name[0], m.group(1) == "-"))
    return out


def _instruction(start: int, whole: str) -> tuple[int, str, str]:
    word, *rest = whole.strip().split(None, 1)
    return start, word.upper(), rest[0].strip() if rest else ""


def uses_arg_in_from(text: str, arg: str) -> bool:
    """True when some FROM line expands `$arg` / `${arg}` / `${arg:-default}`."""
    pattern = re.compile(r"\$(?:\{" + re.escape(arg) + r"(?:[:}]|$)|" + re.escape(arg) + r"\b)")
    return any(word == "FROM" and pattern.search(rest) for _, word, rest in instructions(text))


def parent_on_build_platform(text: str, arg: str, ref: str | None = None) -> bool:
    """True when every FROM naming the parent (`${arg}`, or `ref` as written) runs on the build
    platform (`--platform=$BUILDPLATFORM`): a cross-compiling builder, whose parent is needed
    for the engine's own platform only, whatever platforms the image is built for."""
    pattern = re.compile(r"\$(?:\{" + re.escape(arg) + r"(?:[:}]|$)|" + re.escape(arg) + r"\b)")
    found = [s for s in stages(text) if (s.raw == ref if ref else bool(pattern.search(s.raw)))]
    return bool(found) and all((s.platform or "").replace("{", "").replace("}", "") == "$BUILDPLATFORM"
                               for s in found)


# -- stages and external bases ----------------------------------------------------------

_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+])(?P<word>[^}]*))?\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = (":-", ":+", "-", "+")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")


def expand(word: str, values: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """`word` with `$X`, `${X}`, `${X:-d}`, `${X-d}`, `${X:+v}` expanded as the builder does
    (an unknown variable is empty; `d` and `v` may hold variables themselves), and the names
    it used. Any other `$` stays as written."""
    used: list[str] = []

    def scan(i: int, closing: bool) -> tuple[str, int]:
        out: list[str] = []
        while i < len(word):
            if closing and word[i] == "}":
                return "".join(out), i
            if word[i] == "$":
                done = variable(i)
                if done is not None:
                    out.append(done[0])
                    i = done[1]
                    continue
            out.append(word[i])
            i += 1
        return "".join(out), i

    def variable(i: int) -> tuple[str, int] | None:
        """The value of the variable starting at word[i] == '$' and where it ends."""
        braced = word.startswith("{", i + 1)
        m = _NAME.match(word, i + 2 if braced else i + 1)
        if m is None:
            return None
        name, value, at = m.group(), values.get(m.group()) or "", len(used)
        if not braced:
            used.append(name)
            return value, m.end()
        if word.startswith("}", m.end()):
            used.append(name)
            return value, m.end() + 1
        op = next((o for o in _OPS if word.startswith(o, m.end())), None)
        if op is None:
            return None
        inner, end = scan(m.end() + len(op), True)
        if end >= len(word):  # never closed: not a variable
            del used[at:]
            return None
        used.insert(at, name)
        if op.endswith("-"):
            return value or inner, end + 1
        return inner if value else "", end + 1

    return scan(0, False)[0], tuple(used)


def assignments(rest: str) -> list[tuple[str, str | None]]:
    """`ARG A=1 B="x y" C` -> [(A, 1), (B, x y), (C, None)]."""
    out: list[tuple[str, str | None]] = []
    if not any(c in rest for c in "\"'\\"):
        words = rest.split()  # nothing for shlex to do: ~10x faster on large trees
    else:
        try:
            words = shlex.split(rest)
        except ValueError:
            words = rest.split()
    for word in words:
        name, eq, value = word.partition("=")
        out.append((name, value if eq else None))
    return out


@dataclass(frozen=True)
class Stage:
    """One FROM: where it is, what it names as written and expanded, and what it builds on."""

    line: int
    index: int
    raw: str  # the image word as written, e.g. ${BASE:-debian:12}
    image: str  # expanded with the global ARGs (and build args)
    platform: str | None
    alias: str | None
    from_stage: int | None  # an earlier stage this FROM builds on
    args: tuple[str, ...]  # variables the image word used


def global_args(text: str) -> dict[str, tuple[int, str | None]]:
    """ARGs declared before the first FROM: name -> (line, default)."""
    out: dict[str, tuple[int, str | None]] = {}
    for number, word, rest in instructions(text):
        if word == "FROM":
            break
        if word == "ARG":
            for name, default in assignments(rest):
                out[name] = (number, default)
    return out


def global_values(text: str, build_args: Mapping[str, str] | None = None) -> dict[str, str]:
    """The global ARGs' values: `build_args` where given, else their defaults, expanded."""
    values: dict[str, str] = {}
    for name, (_, default) in global_args(text).items():  # a default may use the ARGs above it
        if build_args and name in build_args:
            values[name] = build_args[name]
        elif default is not None:
            values[name] = expand(default, values)[0]
    return values


def stages(text: str, build_args: Mapping[str, str] | None = None) -> list[Stage]:
    """Every FROM of the Dockerfile, image words expanded with the global ARG defaults
    overridden by `build_args`."""
    values = global_values(text, build_args)
    out: list[Stage] = []
    aliases: dict[str, int] = {}
    for number, word, rest in instructions(text):
        if word != "FROM":
            continue
        words = rest.split()
        platform = None
        while words and words[0].startswith("--"):
            flag = words.pop(0)
            if flag.startswith("--platform="):
                platform = flag.split("=", 1)[1]
        if not words:
            continue
        raw = words[0]
        alias = words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else None
        image, used = expand(raw, values)
        index = len(out)
        earlier = aliases.get(image.lower())
        if earlier is None and re.fullmatch(r"[0-9]+", image) and int(image) < index:
            earlier = int(image)
        out.append(Stage(number, index, raw, image, platform, alias, earlier, used))
        if alias:
            aliases[alias] = index
    return out


@dataclass(frozen=True)
class Base:
    """An image a build reads that bbc does not build (not the parent, not a used image, not an
    earlier stage): a FROM, or a `COPY --from` / `RUN --mount=from` (reads.py)."""

    line: int
    stage: int
    raw: str
    image: str
    platform: str | None
    via_arg: str | None = None  # the global ARG whose default holds the reference
    arg_line: int | None = None
    via: str = "FROM"  # the instruction that reads it: FROM | COPY --from | RUN --mount (reads.py)


def external_bases(text: str, *, parent_arg: str | None = None, parent_ref: str | None = None,
                   build_args: Mapping[str, str] | None = None) -> list[Base]:
    """The external bases of every stage, in order: not the parent (through `parent_arg`, or
    written out as `parent_ref`), not an earlier stage, not scratch."""
    declared = global_args(text)
    out: list[Base] = []
    for stage in stages(text, build_args):
        if stage.from_stage is not None or not stage.image or stage.image == "scratch":
            continue
        if parent_arg is not None and parent_arg in stage.args:
            continue
        if parent_ref is not None and stage.raw == parent_ref:
            continue
        via = None
        m = _VAR.fullmatch(stage.raw)
        if m and not m.group("op"):
            name = m.group("braced") or m.group("plain")
            if name in declared and declared[name][1] and not (build_args and name in build_args):
                via = name
        out.append(Base(stage.line, stage.index, stage.raw, stage.image, stage.platform, via,
                        declared[via][0] if via else None))
    return out


# Docker's reference grammar (distribution/reference): [host[:port]/]path[:tag][@digest]
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_REPOSITORY = re.compile(
    rf"(?:(?:{_HOST_COMPONENT}(?:\.{_HOST_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?/)?"
    rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Reference:
    """An image reference split as Docker splits it."""

    name: str  # [registry/]repository, e.g. localhost:5000/upstream/os
    tag: str | None
    digest: str | None

    @property
    def pinned(self) -> bool:
        """Whether the reference names its content by digest."""
        return self.digest is not None

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse_reference(ref: str) -> Reference:
    """`name[:tag][@sha256:...]`; the tag is after the last ':' that follows the last '/'.
    ValueError, saying what is wrong, for anything Docker would refuse."""
    if not ref:
        raise ValueError("the image reference is empty")
    if any(c.isspace() for c in ref):
        raise ValueError(f"{ref!r}: an image reference has no spaces")
    if "$" in ref:
        raise ValueError(f"{ref!r} still holds a variable")
    rest, at, digest = ref.partition("@")
    if at and not DIGEST.match(digest):
        raise ValueError(f"{ref!r}: the digest must be sha256: and 64 lower-case hex digits")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    tag = None
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.fullmatch(tag):
            raise ValueError(f"{ref!r}: {tag!r} is not a tag (letters, digits, '_', '.', '-'; up to 128)")
    if not rest or rest.endswith("/"):
        raise ValueError(f"{ref!r} names no repository")
    if not _REPOSITORY.fullmatch(rest):
        if _REPOSITORY.fullmatch(rest.lower()):
            raise ValueError(f"{ref!r}: the repository name must be lower-case")
        raise ValueError(f"{ref!r}: {rest!r} is not a repository name")
    if len(rest) > 255:
        raise ValueError(f"{ref!r}: the repository name is longer than 255 characters")
    return Reference(rest, tag, digest or None)
