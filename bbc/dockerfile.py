"""The one Dockerfile reader of the package: which args feed FROM lines, the stages, the
external bases (FROM images bbc does not build) and pinning them by digest."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass


def instructions(text: str) -> list[tuple[int, str, str]]:
    """(line number, INSTRUCTION, arguments) with continuations joined and comments dropped."""
    out: list[tuple[int, str, str]] = []
    pending = ""
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = (pending + stripped).strip()
        pending = ""
        word, _, rest = whole.partition(" ")
        out.append((start, word.upper(), rest.strip()))
    return out


def uses_arg_in_from(text: str, arg: str) -> bool:
    """True when some FROM line expands `$arg` / `${arg}` / `${arg:-default}`."""
    pattern = re.compile(r"\$(?:\{" + re.escape(arg) + r"(?:[:}]|$)|" + re.escape(arg) + r"\b)")
    return any(word == "FROM" and pattern.search(rest) for _, word, rest in instructions(text))


def _quote(text: str) -> str:
    # LABEL expands $variables and reads backslash escapes inside double quotes
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def with_labels(text: str, labels: dict[str, str], target: str | None = None) -> str | None:
    """`text` with one `LABEL k=v ...` line closing the built stage, or None when that cannot
    be done safely (a parser directive changes escaping, a value spans lines, unknown target).

    Docker 20.10's legacy builder turns each entry of the API's `labels` into a separate step
    (~70 ms each); one LABEL instruction costs one step.
    """
    if not labels or any("\n" in k or "\n" in v for k, v in labels.items()):
        return None
    if re.search(r"^\s*#\s*escape\s*=", text, re.IGNORECASE | re.MULTILINE):
        return None
    line = "LABEL " + " ".join(f"{_quote(k)}={_quote(v)}" for k, v in labels.items())
    lines = text.splitlines()
    if target is None:
        return "\n".join(lines + [line]) + "\n"
    froms = [(n, rest) for n, word, rest in instructions(text) if word == "FROM"]
    for i, (_number, rest) in enumerate(froms):
        words = rest.split()
        if len(words) >= 3 and words[-2].upper() == "AS" and words[-1].lower() == target.lower():
            if i + 1 == len(froms):
                return "\n".join(lines + [line]) + "\n"
            at = froms[i + 1][0] - 1  # the next stage's FROM line (0-based)
            return "\n".join(lines[:at] + [line] + lines[at:]) + "\n"
    return None


# -- stages and external bases ----------------------------------------------------------

_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+])(?P<word>[^}]*))?\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")


def expand(word: str, values: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """`word` with `$X`, `${X}`, `${X:-d}`, `${X-d}`, `${X:+v}` expanded as the builder does
    (an unknown variable is empty), and the names it used."""
    used: list[str] = []

    def one(m: re.Match[str]) -> str:
        name = m.group("braced") or m.group("plain")
        used.append(name)
        value = values.get(name)
        op = m.group("op")
        if op in (":-", "-"):
            return value if value else m.group("word")
        if op in (":+", "+"):
            return m.group("word") if value else ""
        return value or ""

    return _VAR.sub(one, word), tuple(used)


def _arg_defaults(rest: str) -> list[tuple[str, str | None]]:
    """`ARG A=1 B="x y" C` -> [(A, 1), (B, x y), (C, None)]."""
    out: list[tuple[str, str | None]] = []
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
            for name, default in _arg_defaults(rest):
                out[name] = (number, default)
    return out


def stages(text: str, build_args: Mapping[str, str] | None = None) -> list[Stage]:
    """Every FROM of the Dockerfile, image words expanded with the global ARG defaults
    overridden by `build_args`."""
    values: dict[str, str] = {}
    for name, (_, default) in global_args(text).items():  # a default may use the ARGs above it
        if build_args and name in build_args:
            values[name] = build_args[name]
        elif default is not None:
            values[name] = expand(default, values)[0]
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
        if earlier is None and image.isdigit() and int(image) < index:
            earlier = int(image)
        out.append(Stage(number, index, raw, image, platform, alias, earlier, used))
        if alias:
            aliases[alias] = index
    return out


@dataclass(frozen=True)
class Base:
    """A FROM naming an image bbc does not build (not the parent, not an earlier stage)."""

    line: int
    stage: int
    raw: str
    image: str
    platform: str | None
    via_arg: str | None = None  # the global ARG whose default holds the reference
    arg_line: int | None = None


def external_bases(text: str, *, parent_arg: str | None = None,
                   build_args: Mapping[str, str] | None = None) -> list[Base]:
    """The external bases of every stage, in order."""
    declared = global_args(text)
    out: list[Base] = []
    for stage in stages(text, build_args):
        if stage.from_stage is not None or not stage.image or stage.image == "scratch":
            continue
        if parent_arg is not None and parent_arg in stage.args:
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


@dataclass(frozen=True)
class Reference:
    """An image reference split as Docker splits it."""

    name: str  # [registry/]repository, e.g. localhost:5000/upstream/os
    tag: str | None
    digest: str | None

    @property
    def pinned(self) -> bool:
        return self.digest is not None

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse_reference(ref: str) -> Reference:
    """`name[:tag][@sha256:...]`; the tag is after the last ':' that follows the last '/'."""
    if not ref or any(c.isspace() for c in ref) or "$" in ref:
        raise ValueError(f"{ref!r} is not an image reference")
    rest, at, digest = ref.partition("@")
    if at and not _DIGEST.match(digest):
        raise ValueError(f"{ref!r}: the digest must be sha256: and 64 hex digits")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    tag = None
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
            raise ValueError(f"{ref!r}: {tag!r} is not a tag")
    if not rest or rest.endswith("/"):
        raise ValueError(f"{ref!r} names no repository")
    return Reference(rest, tag, digest or None)


def pin_text(text: str, base: Base, digest: str) -> str:
    """`text` with `base` pinned to `name:tag@digest` (tag kept for readers), changing only the
    reference's characters: in the FROM line, or in the ARG default it comes from."""
    ref = parse_reference(base.image)
    pinned = str(Reference(ref.name, ref.tag, digest))
    lines = text.splitlines(keepends=True)
    if base.via_arg is not None and base.arg_line is not None:
        at, pattern = base.arg_line, re.compile(r"(?<![\w-])" + re.escape(base.via_arg) + r"=(['\"]?)" + re.escape(base.image) + r"\1(?=\s|$)")
        old = None
    else:
        at, pattern, old = base.line, None, base.raw
        if base.raw != base.image:
            raise ValueError(f"the reference {base.raw} is built from variables; pin it where they are set")
    for i in range(at - 1, len(lines)):
        line = lines[i]
        if pattern is not None:
            m = pattern.search(line)
            if m:
                start = m.start() + len(base.via_arg or "") + 1 + len(m.group(1))
                lines[i] = line[:start] + pinned + line[start + len(base.image):]
                return "".join(lines)
        else:
            m = re.search(r"(?:(?<=\s)|^)" + re.escape(old or "") + r"(?=\s|\\|$)", line)
            if m:
                lines[i] = line[:m.start()] + pinned + line[m.end():]
                return "".join(lines)
        if not line.rstrip("\r\n").endswith("\\"):
            break
    raise ValueError(f"cannot find {base.image} where line {at} sets it")
