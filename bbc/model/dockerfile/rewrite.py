"""The Dockerfile rewriters: each changes only the characters it must, read with the reader
(reader.py) the way the builder reads the file: a base pinned by digest, the parent through a
build argument, labels as one LABEL instruction."""

from __future__ import annotations

import re

from bbc.model.dockerfile.reader import DIGEST, Base, Reference, escape_char, instructions, parse_reference


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


def pin_text(text: str, base: Base, digest: str, instead: str | None = None) -> str:
    """`text` with `base` pinned to `name:tag@digest` (tag kept for readers, a digest already
    there replaced), changing only the reference's characters: in the FROM line when it is
    written there, else in the global ARG default it comes from (`base.via_arg`). Pinning
    again to the same digest changes nothing. `instead`: the reference to write (a mirror's
    `name@digest`). ValueError, saying why, when the reference cannot be located safely."""
    if not DIGEST.match(digest):
        raise ValueError(f"{digest!r} is not a sha256 digest")
    ref = parse_reference(base.image)
    pinned = instead or str(Reference(ref.name, ref.tag, digest))
    escape = escape_char(text)
    written = _located(_words(text, base.line, escape), base.via, (base.raw, pinned))
    if written is None:
        from bbc.model.dockerfile.reads import written as instruction

        raise ValueError(f"line {base.line} is no longer {instruction(base.via, base.raw)}")
    if "$" not in base.raw:
        return _replace(text, written, pinned)
    if base.via_arg is None or base.arg_line is None:
        raise ValueError(f"{base.raw} is built from variables; pin it where they are set, or write "
                         "the reference out (or as one ARG default)")
    found = None
    for word in _words(text, base.arg_line, escape)[1:]:
        name, eq, _ = _joined(word).partition("=")
        if eq and name == base.via_arg:
            found = word[len(name) + 1:]  # the last one counts, as for the builder
    if found is None:
        raise ValueError(f"line {base.arg_line} no longer sets ARG {base.via_arg}")
    value = _joined(found)
    if len(value) >= 2 and value[0] in "\"'" and value[-1] == value[0]:
        found, value = found[1:-1], value[1:-1]
    if "$" in value:
        raise ValueError(f"the default of ARG {base.via_arg} ({value}) is built from variables; "
                         "pin it where they are set")
    if value not in (base.image, pinned):
        raise ValueError(f"line {base.arg_line}: ARG {base.via_arg} reads {value!r}, not {base.image!r}")
    return _replace(text, found, pinned)


PARENT_ARG = "BBC_PARENT_IMAGE"


def with_parent(text: str, ref: str, arg: str = PARENT_ARG) -> str:
    """`text` with every FROM that names `ref` (as written) reading `${arg}` instead, and `ARG
    arg` declared after the parser directives: how a Dockerfile that writes its parent out
    (`FROM acme/python:3.11`) gets the parent's exact build, through a build arg as for
    `FROM ${SOURCE_IMAGE}` (the engine swaps an image ID there for a tag BuildKit can resolve).
    Build errors name lines one below the file's (the added ARG)."""
    escape = escape_char(text)
    out = text
    for number, word, _ in reversed(instructions(text)):  # bottom up: earlier offsets stay valid
        if word != "FROM":
            continue
        words = _words(out, number, escape)
        while len(words) > 1 and _joined(words[1]).startswith("--"):
            del words[1]
        if len(words) > 1 and _joined(words[1]) == ref:
            out = _replace(out, words[1], "${" + arg + "}")
    lines = out.splitlines(keepends=True)
    at = 0
    while at < len(lines) and re.fullmatch(r"\s*#\s*[A-Za-z][A-Za-z0-9]*\s*=.*\s*", lines[at]):
        at += 1  # parser directives must stay first
    return "".join(lines[:at] + [f"ARG {arg}\n"] + lines[at:])


def with_written(text: str, ref: str, arg: str, tag: str) -> str:
    """`text` with `ref`, a used image written out (`uses:` keyed by a reference, a named
    context), replaced by that image's exact build: in FROM lines through `${arg}` (declared as
    `with_parent` declares it), in `COPY --from` and `RUN --mount=from` by `tag`, a local tag of
    that build (no builder expands a variable there)."""
    escape = escape_char(text)
    out = text
    froms = False
    for number, word, _ in reversed(instructions(text)):  # bottom up: earlier offsets stay valid
        if word == "FROM":
            froms = froms or _located(_words(out, number, escape), "FROM", (ref,)) is not None
            continue
        if word not in ("COPY", "ADD", "RUN"):
            continue
        via = "RUN --mount" if word == "RUN" else "COPY --from"
        while (found := _located(_words(out, number, escape), via, (ref,))) is not None:
            out = _replace(out, found, tag)
    return with_parent(out, ref, arg) if froms else out


def _located(words: list[_Word], via: str, wanted: tuple[str, ...]) -> _Word | None:
    """The characters of the image reference the instruction `words` reads through `via`
    (FROM | COPY --from | RUN --mount), when it is one of `wanted`."""
    if not words:
        return None
    head = _joined(words[0]).upper()
    flags = []
    for word in words[1:]:
        if not _joined(word).startswith("--"):
            if via == "FROM" and head == "FROM" and _joined(word) in wanted:
                return word
            break
        flags.append(word)
    for flag in flags:
        text = _joined(flag)
        if via == "COPY --from" and head in ("COPY", "ADD") and text.startswith("--from="):
            if text[len("--from="):] in wanted:
                return flag[len("--from="):]
        elif via == "RUN --mount" and head == "RUN" and text.startswith("--mount="):
            at = len("--mount=")
            for field in text[at:].split(","):
                key, eq, value = field.partition("=")
                if eq and key == "from" and value in wanted:
                    return flag[at + len(key) + 1:at + len(field)]
                at += len(field) + 1
    return None


_Word = list[tuple[str, int]]  # characters with their offsets in the text


def _words(text: str, line: int, escape: str) -> list[_Word]:
    """The words of the instruction starting at `line`, split on whitespace outside quotes,
    each character with its offset, read across continuation lines as `instructions` does."""
    chars: _Word = []
    offset = 0
    for number, physical in enumerate(text.splitlines(keepends=True), 1):
        here, offset = offset, offset + len(physical)
        if number < line:
            continue
        stripped = physical.strip()
        if number > line and (not stripped or stripped.startswith("#")):
            continue
        more = stripped.endswith(escape)
        end = len(physical.rstrip()) - (1 if more else 0)
        chars += [(c, here + i) for i, c in enumerate(physical[:end])] + [(" ", -1)]
        if not more:
            break
    words: list[_Word] = []
    word: _Word = []
    quote = ""
    i = 0
    while i < len(chars):
        c = chars[i][0]
        if c.isspace() and not quote:
            if word:
                words.append(word)
            word = []
        elif c == escape and quote != "'":  # the next character is not a quote or a break
            word += chars[i:i + 2]
            i += 1
        else:
            if quote and c == quote:
                quote = ""
            elif not quote and c in "\"'":
                quote = c
            word.append(chars[i])
        i += 1
    if word:
        words.append(word)
    return words


def _joined(word: _Word) -> str:
    return "".join(c for c, _ in word)


def _replace(text: str, word: _Word, new: str) -> str:
    start, end = word[0][1], word[-1][1] + 1
    if end - start != len(word):  # only ever one run of characters of one line
        raise ValueError(f"{_joined(word)} is not written in one piece")
    return text[:start] + new + text[end:]
