"""The one Dockerfile reader: stages, external bases, references and pinning."""

from __future__ import annotations

import pytest

from bbc.model import dockerfile
from bbc.model.dockerfile import Reference, external_bases, parse_reference, pin_text, stages

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


# -- stages: what each FROM names, where, and what it builds on -------------------------

BUILDER = """\
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
RUN go build -o /app .
FROM debian:12-slim as Runtime
COPY --from=build /app /app
FROM runtime AS final
FROM 0
FROM 7
"""


def test_a_builder_stage_and_the_stages_built_on_it() -> None:
    got = [(s.line, s.index, s.raw, s.image, s.platform, s.alias, s.from_stage, s.args) for s in stages(BUILDER)]
    assert got == [
        (1, 0, "golang:1.22", "golang:1.22", "$BUILDPLATFORM", "build", None, ()),
        (3, 1, "debian:12-slim", "debian:12-slim", None, "runtime", None, ()),
        (5, 2, "runtime", "runtime", None, "final", 1, ()),  # aliases match whatever their case
        (6, 3, "0", "0", None, None, 0, ()),
        (7, 4, "7", "7", None, None, None, ()),  # no stage 7 before it: an image named 7
    ]
    assert [(b.line, b.stage, b.image, b.platform) for b in external_bases(BUILDER)] == [
        (1, 0, "golang:1.22", "$BUILDPLATFORM"), (3, 1, "debian:12-slim", None), (7, 4, "7", None)]


@pytest.mark.parametrize(("text", "lines"), [
    ("FROM a:1\n", [1]),
    ("\n# c\n\nFROM a:1\n", [4]),
    ("FROM \\\n  a:1 \\\n  AS x\nFROM b:1\n", [1, 4]),
    ("FROM \\\n# a comment inside the instruction\n  a:1\nFROM b:1\n", [1, 4]),
    ("FROM \\\n\n  a:1\nFROM b:1\n", [1, 4]),  # a blank continuation line is skipped, as the builder does
    ("RUN x \\  \n  && y\nFROM\ta:1\n", [3]),  # spaces after the backslash, a tab after FROM
    ("FROM a:1\r\n# c\r\nRUN x \\\r\n  y\r\nFROM b:1\r\n", [1, 5]),
    ("# escape=`\nFROM a:1 `\n  AS x\nRUN dir c:\\\nFROM b:1\n", [2, 5]),  # Windows: ` continues, \ does not
])
def test_line_numbers_survive_continuations_comments_and_line_endings(text: str, lines: list[int]) -> None:
    assert [s.line for s in stages(text)] == lines
    assert [s.image for s in stages(text)] == ["a:1", "b:1"][:len(lines)]


def test_an_instruction_cut_off_by_the_end_of_the_file_still_counts() -> None:
    assert dockerfile.instructions("FROM a:1 AS x \\") == [(1, "FROM", "a:1 AS x")]


@pytest.mark.parametrize(("text", "args", "image", "used"), [
    ("ARG A=1 B=os:2\nFROM $B\n", None, "os:2", ("B",)),
    ('ARG X="a b" REG="localhost:5000"\nFROM ${REG}/os:1\n', None, "localhost:5000/os:1", ("REG",)),
    ("ARG R=localhost:5000\nARG B\nFROM ${B:-${R}/os:1}\n", None, "localhost:5000/os:1", ("B", "R")),
    ("ARG B\nFROM ${B-os:2}\n", None, "os:2", ("B",)),
    ("ARG T\nFROM os${T:+-slim}:3\n", None, "os:3", ("T",)),
    ("FROM ${NOWHERE}os:1\n", None, "os:1", ("NOWHERE",)),  # unknown: empty, as Docker does
    ("ARG B\nFROM ${B:-os:2}\n", {"B": "os:7"}, "os:7", ("B",)),
    ("ARG T=1\nFROM os:$T\n", {"T": "2"}, "os:2", ("T",)),
    ("FROM os:${T:-1}\n", {"T": "2"}, "os:1", ("T",)),  # a build arg nobody declared is not seen
    ("FROM os:1\nARG T=2\nFROM os:${T:-3}\n", None, "os:3", ("T",)),  # a stage's ARG is not global
])
def test_from_words_expand_only_global_args_and_build_args(text: str, args: dict[str, str] | None, image: str,
                                                            used: tuple[str, ...]) -> None:
    last = stages(text, args)[-1]
    assert (last.image, last.args) == (image, used)


@pytest.mark.parametrize(("text", "args", "via"), [
    ("ARG BASE=os:1\nFROM ${BASE}\n", None, ("BASE", 1)),
    ("# x\nARG A=1 \\\n    BASE=os:1\nFROM $BASE\n", None, ("BASE", 2)),
    ("ARG BASE=os:0\nARG BASE=os:1\nFROM $BASE\n", None, ("BASE", 2)),  # the last declaration counts
    ("ARG BASE=os:1\nFROM ${BASE:-os:2}\n", None, (None, None)),  # not just the variable
    ("ARG BASE=os:1\nFROM ${BASE}\n", {"BASE": "os:3"}, (None, None)),  # the reference is the build arg's
    ("FROM os:1\n", None, (None, None)),
])
def test_via_arg_names_the_global_arg_whose_default_is_the_reference(
        text: str, args: dict[str, str] | None, via: tuple[str | None, int | None]) -> None:
    (base,) = external_bases(text, build_args=args)
    assert (base.via_arg, base.arg_line) == via


PARENT_AND_BUILDER = """\
ARG SOURCE_IMAGE
FROM golang:1.22 AS build
FROM ${SOURCE_IMAGE}
COPY --from=build /app /app
FROM ${SOURCE_IMAGE:-debian:12} AS other
FROM scratch AS empty
"""


@pytest.mark.parametrize("args", [None, {"SOURCE_IMAGE": "localhost:5000/acme/os:1.0.0"}])
def test_the_parent_is_never_an_external_base(args: dict[str, str] | None) -> None:
    found = external_bases(PARENT_AND_BUILDER, parent_arg="SOURCE_IMAGE", build_args=args)
    assert [(b.line, b.image) for b in found] == [(2, "golang:1.22")]


def test_without_a_parent_arg_a_parent_with_a_default_is_external() -> None:
    assert [b.line for b in external_bases(PARENT_AND_BUILDER)] == [2, 5]


# -- references --------------------------------------------------------------------------

@pytest.mark.parametrize(("ref", "name", "tag"), [
    ("docker.io/library/debian:12", "docker.io/library/debian", "12"),
    ("registry.example.com:443/team/my_app__x:v1.2-rc_3", "registry.example.com:443/team/my_app__x", "v1.2-rc_3"),
    ("[::1]:5000/os:1", "[::1]:5000/os", "1"),
    ("localhost/os", "localhost/os", None),
    ("Registry.Example.com/os:1", "Registry.Example.com/os", "1"),  # a host may have capitals
])
def test_more_references(ref: str, name: str, tag: str | None) -> None:
    assert (parse_reference(ref).name, parse_reference(ref).tag) == (name, tag)


@pytest.mark.parametrize(("ref", "why"), [
    ("", "empty"),
    ("debian :12", "no spaces"),
    ("Debian:12", "lower-case"),
    ("a:b:c", "not a repository name"),
    ("os:", "not a tag"),
    ("os:" + "1" * 129, "not a tag"),
    ("-os:1", "not a repository name"),
    (":1", "names no repository"),
    (f"@{DIGEST_A}", "names no repository"),
    ("os@sha256:" + "A" * 64, "digest"),
    ("os@md5:" + "a" * 32, "digest"),
    ("os@", "digest"),
    ("${BASE}", "variable"),
])
def test_malformed_references_say_what_is_wrong(ref: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_reference(ref)


# -- pinning -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "pinned"), [
    ("FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n",
     f"FROM --platform=$BUILDPLATFORM golang:1.22@{DIGEST_A} AS build\n"),
    ("FROM os:1\r\nRUN x \\\r\n  y\r\n", f"FROM os:1@{DIGEST_A}\r\nRUN x \\\r\n  y\r\n"),
    ("ARG BASE='os:1'  # not a comment, but kept\nFROM $BASE\n",
     f"ARG BASE='os:1@{DIGEST_A}'  # not a comment, but kept\nFROM $BASE\n"),
    ('ARG X="a b" \\\n    # os:1\n    BASE=os:1\nFROM $BASE\n', f'ARG X="a b" \\\n    # os:1\n    BASE=os:1@{DIGEST_A}\nFROM $BASE\n'),
    ("FROM \\\n  # was os:1\n  os:1\n", f"FROM \\\n  # was os:1\n  os:1@{DIGEST_A}\n"),
    ("FROM os AS os\n", f"FROM os@{DIGEST_A} AS os\n"),
    (f"FROM os@{DIGEST_B}\n", f"FROM os@{DIGEST_A}\n"),
    ("# escape=`\nFROM `\n  os:1\n", f"# escape=`\nFROM `\n  os:1@{DIGEST_A}\n"),
])
def test_pinning_more_layouts(text: str, pinned: str) -> None:
    (base,) = external_bases(text)
    assert pin_text(text, base, DIGEST_A) == pinned


def test_pinning_twice_to_the_same_digest_changes_nothing() -> None:
    for text in ("FROM os:1\n", "ARG B=os:1\nFROM $B\n"):
        (base,) = external_bases(text)
        once = pin_text(text, base, DIGEST_A)
        assert once != text and pin_text(once, base, DIGEST_A) == once


def test_two_stages_on_one_arg_default_pin_it_once() -> None:
    text = "ARG B=os:1\nFROM $B AS one\nFROM ${B} AS two\n"
    one, two = external_bases(text)
    pinned = pin_text(pin_text(text, one, DIGEST_A), two, DIGEST_A)
    assert pinned == f"ARG B=os:1@{DIGEST_A}\nFROM $B AS one\nFROM ${{B}} AS two\n"
    with pytest.raises(ValueError, match="ARG B reads"):  # the second asks for another digest
        pin_text(pin_text(text, one, DIGEST_A), two, DIGEST_B)


@pytest.mark.parametrize(("text", "args", "digest", "why"), [
    ("ARG REG=localhost:5000\nARG TAG=1\nFROM ${REG}/os:${TAG}\n", None, DIGEST_A, "built from variables"),
    ("ARG R=localhost:5000\nARG B=${R}/os:1\nFROM ${B}\n", None, DIGEST_A, r"ARG B \(\$\{R\}/os:1\) is built from"),
    ("ARG B\nFROM ${B:-os:1}\n", None, DIGEST_A, "built from variables"),
    ("ARG B=os:1\nFROM ${B}\n", {"B": "os:2"}, DIGEST_A, "built from variables"),
    ("FROM os:1\n", None, "sha256:abc", "not a sha256 digest"),
    ("ARG B=os\\:1\nFROM $B\n", None, DIGEST_A, r"ARG B reads 'os\\\\:1', not 'os:1'"),  # an escape
])
def test_a_reference_that_cannot_be_located_safely_is_refused(
        text: str, args: dict[str, str] | None, digest: str, why: str) -> None:
    (base,) = external_bases(text, build_args=args)
    with pytest.raises(ValueError, match=why):
        pin_text(text, base, digest)


def test_a_file_changed_since_it_was_read_is_refused() -> None:
    (base,) = external_bases("FROM os:1\n")
    with pytest.raises(ValueError, match="no longer FROM os:1"):
        pin_text("FROM os:2\n", base, DIGEST_A)
    (base,) = external_bases("ARG B=os:1\nFROM $B\n")
    with pytest.raises(ValueError, match="no longer sets ARG B"):
        pin_text("ARG C=os:1\nFROM $B\n", base, DIGEST_A)


def test_with_parent_reads_the_parent_through_a_build_arg_and_keeps_everything_else() -> None:
    from bbc.model.dockerfile import PARENT_ARG, with_parent

    text = ("# syntax=docker/dockerfile:1\n"
            "FROM --platform=$BUILDPLATFORM acme/python:3.11 AS build\n"
            "RUN echo acme/python:3.11\n"
            "FROM \\\n  acme/python:3.11\n"
            "FROM acme/python:3.12\n")
    assert with_parent(text, "acme/python:3.11") == (
        "# syntax=docker/dockerfile:1\n"
        f"ARG {PARENT_ARG}\n"
        f"FROM --platform=$BUILDPLATFORM ${{{PARENT_ARG}}} AS build\n"
        "RUN echo acme/python:3.11\n"
        f"FROM \\\n  ${{{PARENT_ARG}}}\n"
        "FROM acme/python:3.12\n")
    # as the builder reads it with the build arg set: both FROMs of the parent take it
    assert [s.image for s in stages(with_parent(text, "acme/python:3.11"), {PARENT_ARG: "localhost/p:1"})] == [
        "localhost/p:1", "localhost/p:1", "acme/python:3.12"]


# -- heredocs (issue 27): their bodies are content, never instructions -----------------------

HEREDOCS = """\
ARG SOURCE_IMAGE
FROM ${SOURCE_IMAGE}
COPY <<EOF /etc/notes.txt
FROM registry/upstream/evil:latest
EOF
RUN <<-"END" cat >/x && <<'B' sh
\t\tFROM a/b:1
\tEND
FROM c/d:2
B
copy <<A <<B /etc/
FROM e/f:3
A
FROM g/h:4 \\
B
RUN ["sh", "-c", "cat <<EOF"]
FROM real/one:1
RUN echo "<<EOF" && cat<<EOF
FROM real/two:2
ONBUILD RUN <<X
FROM i/j:5
X
RUN <<EOF
  EOF
EOF
FROM real/three:3
"""


def test_heredoc_bodies_are_skipped_as_buildkit_skips_them() -> None:
    # `<<EOF`, `<<-EOF` (tabs before the terminator), quoted names, several on one line, after
    # ONBUILD; not in JSON form, not quoted, not glued to a word, and the terminator is exact
    assert [(n, w) for n, w, _ in dockerfile.instructions(HEREDOCS)] == [
        (1, "ARG"), (2, "FROM"), (3, "COPY"), (6, "RUN"), (11, "COPY"), (16, "RUN"), (17, "FROM"), (18, "RUN"),
        (19, "FROM"), (20, "ONBUILD"), (23, "RUN"), (26, "FROM")]
    assert [b.image for b in external_bases(HEREDOCS, parent_arg="SOURCE_IMAGE")] == [
        "real/one:1", "real/two:2", "real/three:3"]
    # pinning works on the real FROM lines and leaves every body as written
    base = external_bases(HEREDOCS, parent_arg="SOURCE_IMAGE")[2]
    pinned = pin_text(HEREDOCS, base, DIGEST_A)
    assert pinned == HEREDOCS.replace("FROM real/three:3\n", f"FROM real/three:3@{DIGEST_A}\n")


def test_an_unterminated_heredoc_runs_to_the_end_of_the_file() -> None:
    assert [w for _, w, _ in dockerfile.instructions("FROM scratch\nCOPY <<EOF /x\nFROM a/b:1\n")] == ["FROM", "COPY"]
