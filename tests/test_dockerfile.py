"""The one Dockerfile reader: stages, external bases, references and pinning."""

from __future__ import annotations

import pytest

from bbc import dockerfile
from bbc.dockerfile import Reference, external_bases, parse_reference, pin_text, stages

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64

MULTI = """\
# syntax=docker/dockerfile:1
ARG REGISTRY=localhost:5000
ARG GO=golang:1.22 PY
ARG SOURCE_IMAGE
FROM --platform=$BUILDPLATFORM ${GO} AS build
RUN make
FROM ${SOURCE_IMAGE} as app
COPY --from=build /x /x
# a comment between stages
FROM build
FROM 1
FROM \\
  ${REGISTRY}/tools/lint:2 AS lint
FROM scratch
"""


def test_stages_expand_global_args_and_know_earlier_stages() -> None:
    got = [(s.line, s.raw, s.image, s.platform, s.alias, s.from_stage) for s in stages(MULTI)]
    assert got == [
        (5, "${GO}", "golang:1.22", "$BUILDPLATFORM", "build", None),
        (7, "${SOURCE_IMAGE}", "", None, "app", None),
        (10, "build", "build", None, None, 0),
        (11, "1", "1", None, None, 1),
        (12, "${REGISTRY}/tools/lint:2", "localhost:5000/tools/lint:2", None, "lint", None),
        (14, "scratch", "scratch", None, None, None),
    ]


def test_external_bases_leave_out_the_parent_stages_and_scratch() -> None:
    found = external_bases(MULTI, parent_arg="SOURCE_IMAGE")
    assert [(b.line, b.image, b.via_arg, b.arg_line) for b in found] == [
        (5, "golang:1.22", "GO", 3), (12, "localhost:5000/tools/lint:2", None, None)]
    # without a parent arg, the parent FROM expands to nothing: nothing to pin there either
    assert [b.line for b in external_bases(MULTI)] == [5, 12]


@pytest.mark.parametrize(("text", "args", "image"), [
    ("ARG B=os:1\nFROM $B\n", None, "os:1"),
    ("ARG B=os:1\nFROM ${B}\n", None, "os:1"),
    ("ARG B\nFROM ${B:-os:2}\n", None, "os:2"),
    ("ARG B=\nFROM ${B:-os:2}\n", None, "os:2"),
    ("ARG B=x\nFROM os${B:+-slim}:3\n", None, "os-slim:3"),
    ('ARG R=localhost:5000\nARG B="${R}/os:1"\nFROM ${B}\n', None, "localhost:5000/os:1"),
    ("ARG B=os:1\nFROM ${B}\n", {"B": "os:9"}, "os:9"),
])
def test_variables_expand_as_the_builder_expands_them(text: str, args: dict[str, str] | None, image: str) -> None:
    assert [b.image for b in external_bases(text, build_args=args)] == [image]


@pytest.mark.parametrize(("ref", "name", "tag", "digest"), [
    ("localhost:5000/upstream/os", "localhost:5000/upstream/os", None, None),
    ("localhost:5000/upstream/os:1", "localhost:5000/upstream/os", "1", None),
    (f"debian:12@{DIGEST_A}", "debian", "12", DIGEST_A),
    (f"a/b@{DIGEST_A}", "a/b", None, DIGEST_A),
    ("alpine", "alpine", None, None),
])
def test_references_split_as_docker_splits_them(ref: str, name: str, tag: str | None, digest: str | None) -> None:
    parsed = parse_reference(ref)
    assert (parsed.name, parsed.tag, parsed.digest) == (name, tag, digest)
    assert str(parsed) == ref and parsed.pinned == (digest is not None)


@pytest.mark.parametrize("ref", ["", "a b", "x@sha256:12", "x:bad:tag!", "localhost:5000/", "${X}/os"])
def test_malformed_references_are_refused(ref: str) -> None:
    with pytest.raises(ValueError):
        parse_reference(ref)


@pytest.mark.parametrize(("text", "pinned"), [
    ("# keep me\nFROM  localhost:5000/os:1   AS base\nRUN x\n",
     f"# keep me\nFROM  localhost:5000/os:1@{DIGEST_A}   AS base\nRUN x\n"),
    ("ARG BASE=localhost:5000/os:1\nFROM ${BASE}\n", f"ARG BASE=localhost:5000/os:1@{DIGEST_A}\nFROM ${{BASE}}\n"),
    ('ARG X=1 BASE="localhost:5000/os:1"\nFROM $BASE\n', f'ARG X=1 BASE="localhost:5000/os:1@{DIGEST_A}"\nFROM $BASE\n'),
    (f"FROM localhost:5000/os:1@{DIGEST_B}\n", f"FROM localhost:5000/os:1@{DIGEST_A}\n"),
    ("FROM \\\n    localhost:5000/os:1 AS b\n", f"FROM \\\n    localhost:5000/os:1@{DIGEST_A} AS b\n"),
    ("ARG BASE=localhost:5000/os:1\r\nFROM ${BASE}\r\nRUN x\r\n",
     f"ARG BASE=localhost:5000/os:1@{DIGEST_A}\r\nFROM ${{BASE}}\r\nRUN x\r\n"),
])
def test_pinning_changes_only_the_reference(text: str, pinned: str) -> None:
    (base,) = external_bases(text)
    assert pin_text(text, base, DIGEST_A) == pinned


def test_a_reference_put_together_from_variables_is_not_pinned_in_place() -> None:
    text = "ARG REG=localhost:5000\nFROM ${REG}/os:1\n"
    (base,) = external_bases(text)
    with pytest.raises(ValueError, match="built from variables"):
        pin_text(text, base, DIGEST_A)


def test_reference_round_trip_keeps_the_tag_for_readers() -> None:
    ref = parse_reference("localhost:5000/os:1")
    assert str(Reference(ref.name, ref.tag, DIGEST_A)) == f"localhost:5000/os:1@{DIGEST_A}"
    assert dockerfile.uses_arg_in_from(MULTI, "SOURCE_IMAGE") and not dockerfile.uses_arg_in_from(MULTI, "PY")
