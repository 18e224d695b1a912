"""Find and rewrite version pins across files, for org-wide upgrades.

Two kinds of pin:
- a package pinned in requirements/constraints files and Dockerfiles (`find_pins`);
- a blessed image pinned by a downstream Dockerfile (`find_image_pins`).
Only the version (and digest) text spans are ever rewritten; everything else stays as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Literal

from bbc.errors import BbcError
from bbc.config.yamledit import replace_file

PinKind = Literal["requirement", "pip-install", "env", "arg", "apt"]

_REQUIREMENT_FILES = ("requirements*.txt", "requirements*.in", "constraints*.txt")
_DOCKERFILES = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile")

_PYPI_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_PEP440 = r"[A-Za-z0-9][A-Za-z0-9.+!_*-]*"
_DEBIAN_VERSION = r"[A-Za-z0-9][A-Za-z0-9.+~:_-]*"
_VERSION_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+!~:_*-]*\Z")
# `name[extras] == version` at the start of a requirements line.
_REQUIREMENT = re.compile(
    rf"^[ \t]*(?P<name>{_PYPI_NAME})[ \t]*(?:\[[^\]\n]*\])?[ \t]*==[ \t]*(?P<version>{_PEP440})",
    re.MULTILINE,
)
# `name[extras]==version` as a word of a shell command (optionally quoted).
_PIP_TOKEN = re.compile(
    rf"(?<![\w.=/-])(?P<name>{_PYPI_NAME})(?:\[[^\]\s]*\])?==(?P<version>{_PEP440})"
)


@dataclass(frozen=True)
class Pin:
    """One pinned version of a package: `path:line`, the version text and its span."""

    path: Path
    line: int
    old: str
    kind: PinKind
    start: int
    end: int


@dataclass(frozen=True)
class ImagePin:
    """An image pinned as `repo:tag[@sha256:...]`; the span covers `:tag[@digest]`."""

    line: int
    tag: str
    digest: str | None
    start: int
    end: int


def normalize(name: str) -> str:
    """PEP 503 name normalisation: case-folded, runs of `-_.` become one `-`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def version_variable(package: str) -> str:
    """The ENV/ARG name that conventionally pins `package`: `typing-extensions` -> TYPING_EXTENSIONS_VERSION."""
    return re.sub(r"[-.]+", "_", package).upper() + "_VERSION"


def find_pins(root: Path, package: str, files: Iterable[Path | str]) -> list[Pin]:
    """Every pin of `package` in `files` (relative to `root`), in file then text order.

    Files that are neither requirements/constraints files nor Dockerfiles are skipped.
    """
    pins: list[Pin] = []
    for file in files:
        path = root / file
        if any(fnmatch(path.name, p) for p in _REQUIREMENT_FILES):
            finder = _requirement_pins
        elif any(fnmatch(path.name, p) for p in _DOCKERFILES):
            finder = _dockerfile_pins
        else:
            continue
        text = _read(path)
        pins.extend(
            Pin(path, _line(text, start), text[start:end], kind, start, end)
            for kind, start, end in finder(text, package)
        )
    return pins


def python_pins(root: Path, files: Iterable[Path | str]) -> list[tuple[str, Pin]]:
    """Every Python package pinned with `==` in `files` (relative to `root`): requirement and
    constraints lines, and `pip install name==version` words in Dockerfile RUN lines.
    (package name as written, pin), in file then text order."""
    out: list[tuple[str, Pin]] = []
    for file in files:
        path = root / file
        if any(fnmatch(path.name, p) for p in _REQUIREMENT_FILES):
            text = _read(path)
            out += [(m["name"], Pin(path, _line(text, m.start("version")), m["version"], "requirement",
                                    m.start("version"), m.end("version"))) for m in _REQUIREMENT.finditer(text)]
        elif any(fnmatch(path.name, p) for p in _DOCKERFILES):
            text = _read(path)
            for keyword, start, end in _instructions(text):
                body = text[start:end]
                if keyword != "RUN" or not re.search(r"\bpip3?\b", body):
                    continue
                out += [(m["name"], Pin(path, _line(text, start + m.start("version")), m["version"], "pip-install",
                                        start + m.start("version"), start + m.end("version")))
                        for m in _PIP_TOKEN.finditer(body)]
    return out


def rewrite_pins(pins: Iterable[Pin], new_version: str) -> list[Path]:
    """Replace each pin's version with `new_version`; return the files written."""
    if not _VERSION_SAFE.match(new_version):
        raise BbcError(f"{new_version!r} is not a version that can be written into a pin")
    by_path: dict[Path, list[Pin]] = {}
    for pin in pins:
        by_path.setdefault(pin.path, []).append(pin)
    written: list[Path] = []
    for path, file_pins in by_path.items():
        text = _read(path)
        new_text = text
        for pin in sorted(file_pins, key=lambda p: p.start, reverse=True):
            if text[pin.start : pin.end] != pin.old:
                raise BbcError(
                    f"{path}:{pin.line}: expected {pin.old!r} here; the file changed "
                    "since it was scanned",
                    tip="scan again, then rewrite",
                )
            new_text = new_text[: pin.start] + new_version + new_text[pin.end :]
        if new_text != text:
            replace_file(path, new_text)
            written.append(path)
    return written


def find_image_pins(text: str, image_repo: str) -> list[ImagePin]:
    """Pins of `image_repo` (e.g. `localhost:5000/acme/python`) as `repo:tag[@digest]`.

    Matches anywhere outside `#` comment lines and heredoc bodies (file content, never an
    instruction): FROM, ARG/ENV defaults, COPY --from=...
    """
    from bbc.model.dockerfile import heredoc_body_lines

    content = heredoc_body_lines(text) if "<<" in text else set()
    pattern = re.compile(
        rf"(?<![\w./:-]){re.escape(image_repo)}"
        r"(?P<span>:(?P<tag>[\w][\w.-]{0,127})(?:@(?P<digest>sha256:[0-9a-f]{64}))?)"
        r"(?![\w.:@-])"
    )
    pins = []
    for m in pattern.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        if text[line_start : m.start()].lstrip().startswith("#") or _line(text, m.start()) in content:
            continue
        pins.append(
            ImagePin(_line(text, m.start()), m["tag"], m["digest"], m.start("span"), m.end("span"))
        )
    return pins


def rewrite_image_pins(
    text: str, pins: Iterable[ImagePin], tag: str, digest: str | None = None
) -> str:
    """`text` with each pin moved to `tag`, and to `digest` where the pin had one."""
    if not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
        raise BbcError(f"{tag!r} is not a valid image tag")
    if digest is not None and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise BbcError(f"{digest!r} is not a sha256 digest")
    for pin in sorted(pins, key=lambda p: p.start, reverse=True):
        if pin.digest is None:
            replacement = f":{tag}"
        elif digest is None:
            raise BbcError(
                f"line {pin.line}: the pin has a digest ({pin.digest[:19]}...) but no new "
                "digest was given",
                tip="pass the digest the registry reported for the new tag",
            )
        else:
            replacement = f":{tag}@{digest}"
        text = text[: pin.start] + replacement + text[pin.end :]
    return text


def _read(path: Path) -> str:
    try:
        # newline="" keeps CRLF files as they are: spans index the text as on disk.
        with path.open(encoding="utf-8", newline="") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise BbcError(f"{path}: cannot read: {exc}") from None


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _requirement_pins(text: str, package: str) -> Iterator[tuple[PinKind, int, int]]:
    want = normalize(package)
    for m in _REQUIREMENT.finditer(text):
        if normalize(m["name"]) == want:
            yield "requirement", m.start("version"), m.end("version")


def _instructions(text: str) -> Iterator[tuple[str, int, int]]:
    """(KEYWORD, start, end) of each Dockerfile instruction, continuation lines joined."""
    pos = 0
    keyword: str | None = None
    start = 0
    for line in text.splitlines(keepends=True):
        body = line.strip()
        pos += len(line)
        if not body or body.startswith("#"):
            continue  # between instructions, or dropped by the parser inside one
        if keyword is None:
            keyword, start = body.split(None, 1)[0].upper(), pos - len(line)
        if not body.endswith("\\"):
            yield keyword, start, pos
            keyword = None
    if keyword is not None:
        yield keyword, start, pos


def _dockerfile_pins(text: str, package: str) -> Iterator[tuple[PinKind, int, int]]:
    want = normalize(package)
    variable = re.escape(version_variable(package))
    value = rf"(?P<q>[\"']?)(?P<version>{_PEP440})(?P=q)"
    assignment = re.compile(rf"(?<![\w$]){variable}={value}")
    env_legacy = re.compile(rf"^[ \t]*ENV[ \t]+{variable}[ \t]+{value}[ \t\r]*$", re.I | re.M)
    apt_install = re.compile(r"\bapt(?:-get)?(?:[ \t]+-\S+)*[ \t]+install\b")
    apt_token = re.compile(rf"(?<![\w.+=/-]){re.escape(package)}=(?P<version>{_DEBIAN_VERSION})")
    for keyword, start, end in _instructions(text):
        body = text[start:end]
        found: list[tuple[PinKind, re.Match[str]]] = []
        if keyword in ("ENV", "ARG"):
            kind: PinKind = "env" if keyword == "ENV" else "arg"
            found += [(kind, m) for m in assignment.finditer(body)]
            if keyword == "ENV":
                found += [("env", m) for m in env_legacy.finditer(body)]
        elif keyword == "RUN":
            if re.search(r"\bpip3?\b", body):
                found += [
                    ("pip-install", m)
                    for m in _PIP_TOKEN.finditer(body)
                    if normalize(m["name"]) == want
                ]
            if apt_install.search(body):
                found += [("apt", m) for m in apt_token.finditer(body)]
        for kind, m in found:
            yield kind, start + m.start("version"), start + m.end("version")
