from __future__ import annotations

import os
from pathlib import Path

import pytest

from bbc.errors import BbcError
from bbc.upkeep.pins import (
    ImagePin,
    Pin,
    find_image_pins,
    find_pins,
    normalize,
    rewrite_image_pins,
    rewrite_pins,
    version_variable,
)

REQUIREMENTS = """\
# pinned by pip-compile
--index-url https://pypi.example.org/simple
-r base.txt
Typing_Extensions==4.9.0    # via pydantic
typing-extensions-extra==9.9.9
requests[socks,security] == 2.31.0 ; python_version >= "3.8"
# typing.extensions==1.0.0 is commented out
urllib3>=2.0,<3
"""

CONSTRAINTS = "typing.extensions==4.9.0\n"

DOCKERFILE = """\
# syntax=docker/dockerfile:1
FROM localhost:5000/acme/python:3.1.0
ARG TYPING_EXTENSIONS_VERSION=4.9.0
ENV TYPING_EXTENSIONS_VERSION="4.9.0" \\
    OTHER_TYPING_EXTENSIONS_VERSION=0.0.1
ENV REQUESTS_VERSION 2.31.0
RUN apt-get update \\
 && apt-get install -y --no-install-recommends \\
      curl=7.88.1-10+deb12u5 \\
      libcurl4=7.88.1-10+deb12u5 \\
 && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir \\
      # pinned for the ML team
      "typing_extensions==4.9.0" \\
      requests[socks]==2.31.0 \\
      pydantic==2.5.0
RUN echo typing-extensions==4.9.0 > /notes.txt
"""


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    (tmp_path / "requirements-dev.txt").write_text(REQUIREMENTS)
    (tmp_path / "constraints.txt").write_text(CONSTRAINTS)
    (tmp_path / "images" / "ml").mkdir(parents=True)
    (tmp_path / "images" / "ml" / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "README.md").write_text("pip install typing-extensions==4.9.0\n")
    return tmp_path


FILES = ["requirements-dev.txt", "constraints.txt", "images/ml/Dockerfile", "README.md"]


def test_normalize_and_variable() -> None:
    assert normalize("Typing_Extensions") == "typing-extensions"
    assert normalize("zope.interface") == "zope-interface"
    assert normalize("a-_.b") == "a-b"
    assert version_variable("typing-extensions") == "TYPING_EXTENSIONS_VERSION"
    assert version_variable("zope.interface") == "ZOPE_INTERFACE_VERSION"


def test_find_pins_typing_extensions(repo: Path) -> None:
    pins = find_pins(repo, "typing-extensions", FILES)
    got = [(p.path.relative_to(repo).as_posix(), p.line, p.old, p.kind) for p in pins]
    assert got == [
        ("requirements-dev.txt", 4, "4.9.0", "requirement"),
        ("constraints.txt", 1, "4.9.0", "requirement"),
        ("images/ml/Dockerfile", 3, "4.9.0", "arg"),
        ("images/ml/Dockerfile", 4, "4.9.0", "env"),
        ("images/ml/Dockerfile", 14, "4.9.0", "pip-install"),
    ]


def test_find_pins_extras_markers_and_legacy_env(repo: Path) -> None:
    pins = find_pins(repo, "requests", FILES)
    got = [(p.path.name, p.line, p.old, p.kind) for p in pins]
    assert got == [
        ("requirements-dev.txt", 6, "2.31.0", "requirement"),
        ("Dockerfile", 6, "2.31.0", "env"),
        ("Dockerfile", 15, "2.31.0", "pip-install"),
    ]


def test_find_apt_pins(repo: Path) -> None:
    pins = find_pins(repo, "libcurl4", FILES)
    assert [(p.line, p.old, p.kind) for p in pins] == [(10, "7.88.1-10+deb12u5", "apt")]


def test_find_pins_unknown_package(repo: Path) -> None:
    assert find_pins(repo, "numpy", FILES) == []


def test_rewrite_pins_changes_only_the_versions(repo: Path) -> None:
    (repo / "constraints.txt").chmod(0o600)
    pins = find_pins(repo, "typing_extensions", FILES)
    written = rewrite_pins(pins, "4.12.2")
    assert written == [
        repo / "requirements-dev.txt",
        repo / "constraints.txt",
        repo / "images/ml/Dockerfile",
    ]
    assert (repo / "requirements-dev.txt").read_text() == REQUIREMENTS.replace(
        "Typing_Extensions==4.9.0", "Typing_Extensions==4.12.2"
    )
    assert (repo / "constraints.txt").read_text() == "typing.extensions==4.12.2\n"
    assert (repo / "constraints.txt").stat().st_mode & 0o777 == 0o600
    assert (repo / "images/ml/Dockerfile").read_text() == (
        DOCKERFILE.replace("ARG TYPING_EXTENSIONS_VERSION=4.9.0", "ARG TYPING_EXTENSIONS_VERSION=4.12.2")
        .replace('ENV TYPING_EXTENSIONS_VERSION="4.9.0"', 'ENV TYPING_EXTENSIONS_VERSION="4.12.2"')
        .replace('"typing_extensions==4.9.0"', '"typing_extensions==4.12.2"')
    )
    assert (repo / "README.md").read_text() == "pip install typing-extensions==4.9.0\n"
    assert sorted(os.listdir(repo)) == [
        "README.md", "constraints.txt", "images", "requirements-dev.txt"
    ]


def test_rewrite_keeps_crlf(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(b"flask==2.0.0\r\nrequests==2.31.0  # http\r\n")
    rewrite_pins(find_pins(tmp_path, "requests", ["requirements.txt"]), "2.32.3")
    assert path.read_bytes() == b"flask==2.0.0\r\nrequests==2.32.3  # http\r\n"


def test_rewrite_refuses_stale_pins(repo: Path) -> None:
    pins = find_pins(repo, "requests", ["requirements-dev.txt"])
    (repo / "requirements-dev.txt").write_text("requests==2.0.0\n" + REQUIREMENTS)
    with pytest.raises(BbcError) as exc:
        rewrite_pins(pins, "2.32.3")
    assert str(exc.value) == (
        f"{repo / 'requirements-dev.txt'}:6: expected '2.31.0' here; "
        "the file changed since it was scanned"
    )


def test_rewrite_refuses_unsafe_version(repo: Path) -> None:
    pins = find_pins(repo, "requests", ["requirements-dev.txt"])
    with pytest.raises(BbcError, match="'2.0 ; rm' is not a version"):
        rewrite_pins(pins, "2.0 ; rm")


DIGEST_OLD = "sha256:" + "a" * 64
DIGEST_NEW = "sha256:" + "b" * 64
DOWNSTREAM = f"""\
ARG BASE_IMAGE=localhost:5000/acme/python:1.2.3
# FROM localhost:5000/acme/python:0.9.0 was the old base
FROM localhost:5000/acme/python:1.2.3@{DIGEST_OLD} AS build
FROM localhost:5000/acme/python-slim:1.2.3
FROM other.registry/localhost:5000/acme/python:1.2.3
COPY --from=localhost:5000/acme/python:1.2 /etc/os-release /tmp/
"""


def test_find_image_pins() -> None:
    pins = find_image_pins(DOWNSTREAM, "localhost:5000/acme/python")
    assert [(p.line, p.tag, p.digest) for p in pins] == [
        (1, "1.2.3", None),
        (3, "1.2.3", DIGEST_OLD),
        (6, "1.2", None),
    ]
    assert isinstance(pins[0], ImagePin)


def test_image_pins_in_heredoc_bodies_are_content_and_left_alone() -> None:
    """A rollout must not rewrite what a heredoc writes into a file or runs (issue 27, item 4)."""
    text = ("FROM localhost:5000/acme/python:1.2.3\n"
            "COPY <<EOF /etc/notes\nFROM localhost:5000/acme/python:1.2.3\nEOF\n"
            "RUN <<A <<-B\necho localhost:5000/acme/python:1.2.3\nA\n\techo hi\n\tB\n"
            "COPY --from=localhost:5000/acme/python:1.2.3 /a /b\n")
    pins = find_image_pins(text, "localhost:5000/acme/python")
    assert [p.line for p in pins] == [1, 10]
    moved = rewrite_image_pins(text, pins, "1.3.0")
    assert moved.count("python:1.2.3") == 2 and moved.count("python:1.3.0") == 2


def test_rewrite_image_pins_moves_tag_and_digest() -> None:
    pins = find_image_pins(DOWNSTREAM, "localhost:5000/acme/python")
    got = rewrite_image_pins(DOWNSTREAM, pins, "1.3.0", DIGEST_NEW)
    assert got == (
        "ARG BASE_IMAGE=localhost:5000/acme/python:1.3.0\n"
        "# FROM localhost:5000/acme/python:0.9.0 was the old base\n"
        f"FROM localhost:5000/acme/python:1.3.0@{DIGEST_NEW} AS build\n"
        "FROM localhost:5000/acme/python-slim:1.2.3\n"
        "FROM other.registry/localhost:5000/acme/python:1.2.3\n"
        "COPY --from=localhost:5000/acme/python:1.3.0 /etc/os-release /tmp/\n"
    )


def test_rewrite_image_pins_needs_digest_when_pinned_by_digest() -> None:
    pins = find_image_pins(DOWNSTREAM, "localhost:5000/acme/python")
    with pytest.raises(BbcError, match="line 3: the pin has a digest"):
        rewrite_image_pins(DOWNSTREAM, pins, "1.3.0")
    with pytest.raises(BbcError, match="'sha256:xyz' is not a sha256 digest"):
        rewrite_image_pins(DOWNSTREAM, pins, "1.3.0", "sha256:xyz")
    with pytest.raises(BbcError, match="'bad tag' is not a valid image tag"):
        rewrite_image_pins(DOWNSTREAM, pins, "bad tag", DIGEST_NEW)


def test_pin_is_frozen(repo: Path) -> None:
    pin = find_pins(repo, "requests", ["constraints.txt", "requirements-dev.txt"])[0]
    assert isinstance(pin, Pin)
    with pytest.raises(AttributeError):
        pin.old = "x"  # type: ignore[misc]
