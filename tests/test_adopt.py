"""`bbc init`'s reading of trees the tests write (bbc/upkeep/adopt), as large public hierarchies and
legacy repositories lay them out; no engine needed to decide."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbc.upkeep import adopt
from bbc.errors import BbcError
from tests.helpers import write

DIGEST = "sha256:" + "ab" * 32


def stacks(root: Path) -> None:
    """An ARG-default chain, written the way jupyter's docker-stacks writes it."""
    write(root / "images/docker-stacks-foundation/Dockerfile", """\
        ARG ROOT_IMAGE=ubuntu:24.04
        FROM $ROOT_IMAGE
        LABEL maintainer="Jupyter Project"
        """)
    for name, parent in (("base-notebook", "docker-stacks-foundation"), ("minimal-notebook", "base-notebook"),
                         ("scipy-notebook", "minimal-notebook")):
        write(root / f"images/{name}/Dockerfile", f"""\
            ARG REGISTRY=quay.io
            ARG OWNER=jupyter
            ARG BASE_IMAGE=$REGISTRY/$OWNER/{parent}
            FROM $BASE_IMAGE
            RUN echo {name}
            """)
    # a variant in a subfolder, on another image than the one whose folder holds it
    write(root / "images/pytorch-notebook/Dockerfile", """\
        ARG REGISTRY=quay.io
        ARG OWNER=jupyter
        ARG BASE_IMAGE=$REGISTRY/$OWNER/scipy-notebook
        FROM $BASE_IMAGE
        """)
    write(root / "images/pytorch-notebook/cuda12/Dockerfile", """\
        ARG REGISTRY=quay.io
        ARG OWNER=jupyter
        ARG BASE_IMAGE=$REGISTRY/$OWNER/scipy-notebook
        FROM $BASE_IMAGE
        RUN echo cuda
        """)


def doubts(img: adopt.Image) -> list[str]:
    return [n for n in img.notes if n.startswith("?")]


def test_an_arg_default_chain_links_every_image_through_its_arg(tmp_path: Path) -> None:
    stacks(tmp_path)
    got = adopt.adopt(tmp_path)
    images = got.images
    assert list(images) == ["docker-stacks-foundation", "base-notebook", "minimal-notebook", "scipy-notebook",
                            "pytorch-notebook", "pytorch-notebook-cuda12"]
    assert images["docker-stacks-foundation"].parent is None
    assert images["docker-stacks-foundation"].base == "ubuntu:24.04"
    assert [(n, i.parent, i.parent_arg, i.parent_ref) for n, i in images.items() if i.parent] == [
        ("base-notebook", "docker-stacks-foundation", "BASE_IMAGE", None),
        ("minimal-notebook", "base-notebook", "BASE_IMAGE", None),
        ("scipy-notebook", "minimal-notebook", "BASE_IMAGE", None),
        ("pytorch-notebook", "scipy-notebook", "BASE_IMAGE", None),
        ("pytorch-notebook-cuda12", "scipy-notebook", "BASE_IMAGE", None),
    ]
    # links through an ARG are certain; the variant says what it is
    assert all(not doubts(i) for i in images.values())
    assert any("variant in a subfolder of pytorch-notebook" in n for n in images["pytorch-notebook-cuda12"].notes)
    assert got.registry_guess == "quay.io/jupyter"
    assert got.messages == ()


def test_fixed_references_link_by_repository_path_and_say_when_by_name_alone(tmp_path: Path) -> None:
    write(tmp_path / "base/Dockerfile", "FROM debian:12-slim\n")
    write(tmp_path / "python/Dockerfile", "FROM acme/base:1.0\nRUN echo py\n")
    write(tmp_path / "web/Dockerfile", "FROM registry.acme.io/acme/python:3.11\n")
    write(tmp_path / "tool/Dockerfile", "FROM python:3.11\n")  # bare name: could be Docker Hub's
    images = adopt.adopt(tmp_path).images
    assert (images["python"].parent, images["python"].parent_ref, images["python"].parent_arg) == \
        ("base", "acme/base:1.0", None)
    assert (images["web"].parent, images["web"].parent_ref) == ("python", "registry.acme.io/acme/python:3.11")
    # two links share the owner acme: certain; the bare name is linked with a doubt
    assert not doubts(images["python"]) and not doubts(images["web"])
    assert images["tool"].parent == "python"
    assert doubts(images["tool"]) == [
        "? linked by name: FROM python:3.11 (tool/Dockerfile:1) names folder python; if it means a published "
        "image, delete parent"]
    # an image never links to itself: python's own folder name is not its parent
    write(tmp_path / "python/Dockerfile", "FROM python:3.12-slim\n")
    again = adopt.adopt(tmp_path).images
    assert again["python"].parent is None and again["python"].base == "python:3.12-slim"


def test_a_multi_stage_app_links_through_its_shipped_stage_not_its_builder(tmp_path: Path) -> None:
    write(tmp_path / "images/python/Dockerfile", "FROM debian:12\n")
    write(tmp_path / "images/app/Dockerfile", """\
        ARG BASE=localhost:5000/acme/python:1.0.0
        FROM --platform=$BUILDPLATFORM golang:1.22 AS build
        RUN go build -o /out/app .
        FROM ${BASE} AS runtime
        COPY --from=build /out/app /usr/local/bin/app
        FROM runtime
        LABEL org.opencontainers.image.version=2.3.1
        """)
    got = adopt.adopt(tmp_path, registry="localhost:5000/acme")
    app = got.images["app"]
    assert (app.parent, app.parent_arg, app.version) == ("python", "BASE", "2.3.1")
    assert app.version_from == "LABEL at images/app/Dockerfile:7"
    assert app.from_ is not None and app.from_.line == 4
    assert not doubts(app)


def test_a_last_stage_named_test_is_not_what_ships(tmp_path: Path) -> None:
    write(tmp_path / "svc/Dockerfile", """\
        FROM debian:12 AS release
        RUN echo app
        FROM release AS test
        RUN echo testing
        """)
    svc = adopt.adopt(tmp_path).images["svc"]
    assert svc.target == "release"
    assert doubts(svc) == ["? the last stage ('test') looks like a test stage; built to stage 'release' "
                           "(svc/Dockerfile:1)"]


def test_variants_in_subfolders_become_images_or_watches_and_say_why(tmp_path: Path) -> None:
    write(tmp_path / "python/Dockerfile", "FROM debian:12\nCOPY conf/ /etc/python-conf/\n")
    write(tmp_path / "python/conf/Dockerfile", "FROM scratch\n")  # a template the image copies
    write(tmp_path / "python/slim/Dockerfile", "FROM acme/python\nRUN rm -rf /usr/share/doc\n")
    write(tmp_path / "python/slim/env.sh", "export SLIM=1\n")
    with (tmp_path / "python/Dockerfile").open("a") as f:  # one shared script: slim stays an image
        f.write("COPY slim/env.sh /etc/profile.d/\n")
    write(tmp_path / "python/Dockerfile.gpu", "FROM acme/python\nRUN echo gpu\n")
    write(tmp_path / "python/Dockerfile.test", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n")
    got = adopt.adopt(tmp_path)
    assert sorted(got.images) == ["python", "python-gpu", "python-slim"]
    python = got.images["python"]
    assert python.watch == ("python/conf/Dockerfile",) and python.test_layer == "Dockerfile.test"
    assert got.messages[0] == ("python/conf/Dockerfile: part of python's build (python/Dockerfile copies "
                               "conf/): a watch of python, not an image")
    assert (got.images["python-slim"].parent, got.images["python-slim"].path) == ("python", "python/slim")
    assert any("own image (python/ does not copy slim/ or its Dockerfile)" in n
               for n in got.images["python-slim"].notes)
    gpu = got.images["python-gpu"]
    assert (gpu.path, gpu.dockerfile, gpu.parent, gpu.test_layer) == ("python", "Dockerfile.gpu", "python",
                                                                      "Dockerfile.test")


def test_a_docs_example_on_a_published_pinned_image_is_a_root(tmp_path: Path) -> None:
    write(tmp_path / "images/python/Dockerfile", "FROM debian:12\n")
    write(tmp_path / "images/web/Dockerfile", "FROM acme/python:1\n")
    write(tmp_path / "docs/python/Dockerfile", f"FROM acme/python:1@{DIGEST}\nCOPY app.py /\n")
    got = adopt.adopt(tmp_path)
    doc = got.images["docs-python"]
    assert doc.parent is None and doc.base == f"acme/python:1@{DIGEST}"
    assert doc.notes[-1:] == ("a root on a published, pinned image (docs/python/Dockerfile:1), not a child of "
                         "images-python",)
    # two folders named python: named by their paths; the docs one is never a parent
    assert "docs/python/Dockerfile: 2 Dockerfiles would get the name 'python' (docs/python/Dockerfile, " \
           "images/python/Dockerfile); named docs-python, images-python instead" in got.messages
    assert got.images["web"].parent == "images-python"


def test_a_flat_legacy_layout_and_an_external_root(tmp_path: Path) -> None:
    write(tmp_path / "base/Dockerfile", "FROM alpine:3.20\nLABEL version=1.4\n")
    write(tmp_path / "app1/Dockerfile", "FROM acme/base\n")
    write(tmp_path / "app2/Dockerfile", "FROM acme/base:latest\n")
    write(tmp_path / "node_modules/pkg/Dockerfile", "FROM node\n")  # vendored: not ours
    write(tmp_path / ".github/ci/Dockerfile", "FROM acme/base\n")  # hidden
    got = adopt.adopt(tmp_path)
    assert list(got.images) == ["base", "app1", "app2"]
    assert got.images["base"].version == "1.4.0"
    assert doubts(got.images["base"]) == ["? the version label at base/Dockerfile:2 reads '1.4': written as 1.4.0"]
    assert got.registry_guess == "acme"


def test_an_undecidable_parent_stays_a_root_with_the_reason(tmp_path: Path) -> None:
    write(tmp_path / "team-a/python/Dockerfile", "FROM debian:12\n")
    write(tmp_path / "team-b/python/Dockerfile", "FROM debian:12\n")
    write(tmp_path / "app/Dockerfile", "FROM acme/python:1\n")
    write(tmp_path / "bare/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n")
    got = adopt.adopt(tmp_path)
    assert got.images["app"].parent is None
    assert "app/Dockerfile:1: FROM acme/python:1 could name team-a-python, team-b-python; left as a root: " \
           "set its parent in bbc.yaml" in got.messages
    bare = got.images["bare"]
    assert bare.parent is None and bare.unknown_parent
    assert "bare/Dockerfile:2: FROM ${SOURCE_IMAGE} has no default to tell the parent by; left as a root: " \
           "set its parent in bbc.yaml" in got.messages
    # shipped on scratch, the parent only in a builder stage: said, not guessed
    write(tmp_path / "static-app/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE} AS build\nRUN make\n"
                                              "FROM scratch\nCOPY --from=build /out /\n")
    static = adopt.adopt(tmp_path).images["static-app"]
    assert static.parent is None and static.unknown_parent and doubts(static) == [
        "? a builder stage is FROM ${SOURCE_IMAGE} (static-app/Dockerfile:2) with no default: if it is the parent, "
        "set parent"]
    # the path tells them apart
    write(tmp_path / "app/Dockerfile", "FROM acme/team-b/python:1\n")
    assert adopt.adopt(tmp_path).images["app"].parent == "team-b-python"


def test_a_cycle_stops_with_the_loop_and_its_lines(tmp_path: Path) -> None:
    write(tmp_path / "a/Dockerfile", "ARG B=acme/b\nFROM $B\n")
    write(tmp_path / "b/Dockerfile", "# b\nFROM acme/a\n")
    with pytest.raises(BbcError) as err:
        adopt.adopt(tmp_path)
    assert err.value.message == ("the Dockerfiles build on each other in a cycle: a -> b -> a "
                                 "(a/Dockerfile:2 names b; b/Dockerfile:2 names a)")


def test_find_respects_gitignore_in_a_work_tree(tmp_path: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path / "tree/.gitignore", "out/\n")
    write(tmp_path / "tree/a/Dockerfile", "FROM debian:12\n")
    write(tmp_path / "tree/out/copy/Dockerfile", "FROM debian:12\n")
    write(tmp_path / "tree/b/b.Dockerfile", "FROM debian:12\n")
    write(tmp_path / "tree/b/Dockerfile.dockerignore", "*\n")
    assert adopt.find(tmp_path / "tree") == ["a/Dockerfile", "b/b.Dockerfile"]
    assert list(adopt.adopt(tmp_path / "tree").images) == ["a", "b"]
