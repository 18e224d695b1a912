"""The build-file readers of bbc/upkeep/adopt, one by one: what each says a Dockerfile produces."""

from __future__ import annotations

from pathlib import Path

from bbc.upkeep.adopt import bake, cmdline, makefile, refs, shell
from bbc.upkeep.adopt.makevars import Variables
from bbc.upkeep.adopt.records import UNKNOWN, Source
from bbc.upkeep.adopt.tree import scan
from tests.helpers import write


def test_make_variables_expand_as_make_does() -> None:
    v = Variables()
    v.assign("NAME", ":=", "app")
    v.assign("REF", "=", "$(REGISTRY)/$(NAME)")  # expanded when used: REGISTRY set later counts
    v.assign("REGISTRY", "?=", "ghcr.io/acme")
    v.assign("REGISTRY", "?=", "ignored")
    v.assign("TAGS", ":=", "1.0")
    v.assign("TAGS", "+=", "latest")
    v.assign("COMMIT", ":=", "$(shell git rev-parse HEAD)")
    assert v.expand('$(foreach t,$(TAGS),--tag "$(REF):$(t)")') == \
        '--tag "ghcr.io/acme/app:1.0" --tag "ghcr.io/acme/app:latest"'
    assert v.expand("$(addprefix x-,$(TAGS)) $(patsubst %.0,%,$(TAGS)) ${NAME} $$HOME") == \
        "x-1.0 x-latest 1 latest app $HOME"
    assert v.expand("$(REF):sha-$(COMMIT)") == f"ghcr.io/acme/app:sha-{UNKNOWN}"
    assert v.expand("$(NOBODY_SETS_IT) $@") == f"{UNKNOWN} {UNKNOWN}"


def test_a_build_command_line_is_read_as_the_docker_cli_reads_it() -> None:
    argv = ["@docker", "buildx", "build", "--pull", "--push", "--platform", "linux/amd64,linux/arm64",
            "--cache-from=type=registry,ref=acme/x:cache", "-t", "acme/x:1", "--tag=acme/x:latest",
            "--build-arg", "BASE=acme/base:1", "--target", "runtime", "--build-context", "tools=docker-image://t:1",
            "-f", "docker/x.Dockerfile", "src/."]
    got = cmdline.build(argv, "svc", "svc/Makefile:3", Source.MAKEFILE)
    assert got is not None
    assert (got.file, got.context, got.tags, dict(got.args), got.target, dict(got.contexts)) == (
        "svc/docker/x.Dockerfile", "svc/src", ("acme/x:1", "acme/x:latest"), {"BASE": "acme/base:1"}, "runtime",
        {"tools": "docker-image://t:1"})
    # no Dockerfile given: the context's; a URL context or one outside the tree: not followed
    plain = cmdline.build(["docker", "build", "-t", "a:1", "."], "a", "w", Source.SCRIPT)
    assert plain is not None and (plain.file, plain.context) == ("a/Dockerfile", "a")
    assert cmdline.build(["docker", "build", "-t", "a:1", "https://example.com/r.git"], ".", "w", Source.SCRIPT) is None
    assert cmdline.build(["docker", "build", "-t", "a:1", "../.."], "a", "w", Source.SCRIPT) is None
    builds, aliases = cmdline.read_line("cd x && docker build -t a:1 . ; docker tag a:1 a:latest", ".", "w",
                                        Source.SCRIPT)
    assert [b.tags for b in builds] == [("a:1",)] and [(a.source, a.ref) for a in aliases] == [("a:1", "a:latest")]


def test_references_compare_as_the_registry_names_them() -> None:
    assert refs.parse("docker.io/library/python:3.12") == refs.parse("python:3.12") == refs.Ref("python", "3.12")
    assert refs.parse("acme/app") == refs.Ref("acme/app", "latest")
    assert refs.parse(f"acme/python:3.12@sha256:{'ab' * 32}") is None  # published content, never the tree's
    assert refs.parse(f"{UNKNOWN}:1") is None  # could be any image
    assert refs.parse(f"{UNKNOWN}/app:1") == refs.Ref(f"{UNKNOWN}/app", "1")


def test_makefiles_read_includes_conditionals_and_commented_out_lines(tmp_path: Path) -> None:
    write(tmp_path / "rules.mk", "ifeq ($(FLAVOUR),slim)\nSUFFIX := -slim\nelse\nSUFFIX :=\nendif\n"
                                 "build:\n\tdocker build -t $(IMAGE)$(SUFFIX) .\n")
    write(tmp_path / "app/Makefile", "IMAGE := acme/app:1\nFLAVOUR ?= slim\ninclude ../rules.mk\n")
    write(tmp_path / "app/Dockerfile", "FROM debian:12\n")
    write(tmp_path / "old/Makefile", "build:\n\t# docker build -t acme/old:1 .\n")
    write(tmp_path / "old/Dockerfile", "FROM debian:12\n")
    found = makefile.read(scan(tmp_path))
    assert [(b.file, b.tags, b.where, b.sure) for b in found.builds] == [
        ("app/Dockerfile", ("acme/app:1-slim",), "app/Makefile (rules.mk:7)", True),
        ("old/Dockerfile", ("acme/old:1",), "old/Makefile:2", False),
    ]


def test_shell_scripts_use_their_variables_and_the_folder_the_dockerfile_is_in(tmp_path: Path) -> None:
    write(tmp_path / "scripts/build.sh", """\
        #!/bin/sh
        set -e
        OWNER=acme
        VERSION="${VERSION:-1.0}"
        REV=$(git rev-parse --short HEAD)
        docker build -t "$OWNER/base:$VERSION" -f images/base/Dockerfile images/base
        docker build -t ${OWNER}/app:${REV} \\
            --build-arg BASE=$OWNER/base:$VERSION images/app
        """)
    write(tmp_path / "images/base/Dockerfile", "FROM debian:12\n")
    write(tmp_path / "images/app/Dockerfile", "ARG BASE\nFROM $BASE\n")
    found = shell.read(scan(tmp_path))
    # run from the tree's root: scripts/images/... does not exist; the environment's VERSION
    # is unknown, its default is what the script says
    assert [(b.file, b.context, b.tags, dict(b.args)) for b in found.builds] == [
        ("images/base/Dockerfile", "images/base", ("acme/base:1.0",), {}),
        ("images/app/Dockerfile", "images/app", (f"acme/app:{UNKNOWN}",), {"BASE": "acme/base:1.0"}),
    ]


BAKE_HCL = """\
variable "REGISTRY" { default = "ghcr.io/acme" }
variable "TAG" { default = "1.0" }
target "_common" {
  args = { PIP_INDEX = "https://pypi.org/simple" }
}
target "base" {
  inherits = ["_common"]
  context = "images/base"
  tags = ["${REGISTRY}/base:${TAG}", "${REGISTRY}/base:${upper(TAG)}"]
}
target "app" {
  inherits = ["_common"]
  context = "images/app"
  dockerfile = "app.Dockerfile"
  contexts = { base = "target:base" }
  args = { MODE = "fast" }
  tags = ["${REGISTRY}/app:${TAG}"]
}
"""


def test_bake_hcl_targets_inherit_and_take_variable_defaults(tmp_path: Path) -> None:
    write(tmp_path / "docker-bake.hcl", BAKE_HCL)
    write(tmp_path / "broken.bake.hcl", 'target "x" {\n')
    found = bake.read(scan(tmp_path))
    got = {b.name: (b.file, b.context, b.tags, dict(b.args), dict(b.contexts)) for b in found.builds}
    assert got["base"] == ("images/base/Dockerfile", "images/base", ("ghcr.io/acme/base:1.0", f"ghcr.io/acme/base:{UNKNOWN}"),
                           {"PIP_INDEX": "https://pypi.org/simple"}, {})
    assert got["app"] == ("images/app/app.Dockerfile", "images/app", ("ghcr.io/acme/app:1.0",),
                          {"PIP_INDEX": "https://pypi.org/simple", "MODE": "fast"}, {"base": "target:base"})
    assert len(found.messages) == 1 and found.messages[0].startswith("broken.bake.hcl: not HCL: ")
