"""`bbc init`'s reading of trees whose graph lives in their build files, one layout each as real
repositories lay them out: each gives exactly the graph its build files describe, and writes
no link it is not sure of without a `?` (bbc/upkeep/adopt)."""

from __future__ import annotations

import json
from pathlib import Path

from bbc.upkeep import adopt
from bbc.upkeep.adopt import Adoption, Source
from tests.helpers import write


def graph(got: Adoption) -> dict[str, str | None]:
    """Every image's Dockerfile -> its parent's Dockerfile (None for a root)."""
    files = {name: img.file for name, img in got.images.items()}
    return {img.file: files[img.parent] if img.parent else None for img in got.images.values()}


def unsure(got: Adoption) -> set[str]:
    """The Dockerfiles whose link carries a `?`."""
    return {img.file for img in got.images.values() if img.link is not None and not img.link.sure}


def doubts(img: adopt.Image) -> list[str]:
    return [n for n in img.notes if n.startswith("?")]


def make(path: Path, *recipes: str) -> None:
    """A Makefile whose `build` target runs each recipe line (tab-indented as make wants)."""
    write(path, "all: build\n\nbuild:\n" + "".join(f"\t{line}\n" for line in recipes))


# -- tags carrying the variant, a Makefile per folder (osrf/docker_images) -------------------

def ros_tree(root: Path) -> None:
    make(root / "ros/jazzy/Makefile",
         "@docker build --tag=ros:jazzy-ros-core-noble\t\tros-core/.",
         "@docker build --tag=ros:jazzy-ros-base-noble\t\tros-base/.",
         "# @docker build --tag=osrf/ros:jazzy-desktop-noble desktop/.")
    with (root / "ros/jazzy/Makefile").open("a") as f:
        f.write("ci_buildx:\n\t@docker buildx build --pull --push \\\n"
                "\t\t--cache-from=type=registry,ref=osrf/ros:jazzy-desktop-noble \\\n"
                "\t\t--tag=osrf/ros:jazzy-desktop-noble \\\n\t\tdesktop/.\n"
                "\t@if [ 1 = 1 ]; then docker tag osrf/ros:jazzy-desktop-noble osrf/ros:jazzy-desktop; fi\n")
    write(root / "ros/jazzy/ros-core/Dockerfile", "FROM ubuntu:noble\n")
    write(root / "ros/jazzy/ros-base/Dockerfile", "FROM ros:jazzy-ros-core-noble\n")
    write(root / "ros/jazzy/desktop/Dockerfile", "FROM ros:jazzy-ros-base-noble\n")
    write(root / "ros/jazzy/desktop-full/Dockerfile", "FROM osrf/ros:jazzy-desktop\n")  # the alias
    write(root / "ros/jazzy/simulation/Dockerfile", "FROM ros:jazzy-simulation-base-noble\n")  # built by nobody
    # a legacy folder literally named ros, built only by a line commented out
    make(root / "ros/boxturtle/Makefile", "# @docker build --tag=ros:boxturtle-ros-lucid ros/.")
    write(root / "ros/boxturtle/ros/Dockerfile", "FROM ubuntu:lucid\n")
    write(root / "ros/boxturtle/desktop/Dockerfile", "FROM ros:boxturtle-ros-lucid\n")


def test_tags_carrying_the_variant_link_by_repository_and_tag(tmp_path: Path) -> None:
    ros_tree(tmp_path)
    got = adopt.adopt(tmp_path)
    assert graph(got) == {
        "ros/boxturtle/desktop/Dockerfile": "ros/boxturtle/ros/Dockerfile",
        "ros/boxturtle/ros/Dockerfile": None,
        "ros/jazzy/desktop-full/Dockerfile": "ros/jazzy/desktop/Dockerfile",
        "ros/jazzy/desktop/Dockerfile": "ros/jazzy/ros-base/Dockerfile",
        "ros/jazzy/ros-base/Dockerfile": "ros/jazzy/ros-core/Dockerfile",
        "ros/jazzy/ros-core/Dockerfile": None,
        "ros/jazzy/simulation/Dockerfile": None,
    }
    # the commented-out build line is the repository's word, but not for sure
    assert unsure(got) == {"ros/boxturtle/desktop/Dockerfile"}
    desktop = next(i for i in got.images.values() if i.file == "ros/boxturtle/desktop/Dockerfile")
    assert doubts(desktop)[-1:] == ["? a build line commented out: ros/boxturtle/Makefile:4 tags "
                                    "ros:boxturtle-ros-lucid from folder ros/boxturtle/ros"]
    base = next(i for i in got.images.values() if i.file == "ros/jazzy/ros-base/Dockerfile")
    assert (base.parent_ref, base.parent_arg, base.link and base.link.source) == \
        ("ros:jazzy-ros-core-noble", None, Source.MAKEFILE)
    assert "ros:jazzy-ros-core-noble is built by ros/jazzy/Makefile:4" in base.notes
    # a repository the tree builds, with a tag nobody builds: a `?` root and a located line
    sim = next(i for i in got.images.values() if i.file == "ros/jazzy/simulation/Dockerfile")
    assert sim.parent is None and doubts(sim)
    assert ("ros/jazzy/simulation/Dockerfile:1: FROM ros:jazzy-simulation-base-noble names a repository this tree "
            "builds (ros), but no build file produces that tag; left as a root") in got.messages
    assert got.summary == "4 links: Makefile 3, Makefile 1 (?); 3 roots"


# -- placeholder defaults resolved by a kubeflow-like Makefile ----------------------------

COMMON_MK = """\
IMAGE_REF := $(REGISTRY)/$(IMAGE_NAME)
IMAGE_TAGS := $(TAG)
ifeq ($(ALSO_TAG_LATEST),1)
\tIMAGE_TAGS += latest
endif
TAG_ARGS := $(foreach tag_val,$(IMAGE_TAGS),--tag "$(IMAGE_REF):$(tag_val)")

docker-build:
\tdocker build --build-arg BASE_IMG=$(BASE_IMAGE) --progress=plain $(TAG_ARGS) -f Dockerfile .
"""


def notebook(root: Path, folder: str, base_image: str, placeholder: str) -> None:
    write(root / f"{folder}/Makefile", f"""\
        GIT_COMMIT := $(shell git rev-parse HEAD)
        REGISTRY ?= ghcr.io/kubeflow/kubeflow/notebook-servers
        TAG      ?= sha-$(GIT_COMMIT)
        ALSO_TAG_LATEST ?= 0
        IMAGE_NAME := {folder}
        BASE_IMAGE := {base_image}
        include ../common.mk
        """)
    write(root / f"{folder}/Dockerfile", f"#\n# NOTE: use the Makefiles\n#\nARG BASE_IMG={placeholder}\nFROM $BASE_IMG\n")


def test_placeholder_defaults_take_the_base_image_the_makefile_passes(tmp_path: Path) -> None:
    write(tmp_path / "common.mk", COMMON_MK)
    write(tmp_path / "Makefile", "IMAGE_FOLDERS ?= base jupyter jupyter-scipy\n"
                                 "docker-build: $(addprefix docker-build--, $(IMAGE_FOLDERS))\n"
                                 "docker-build--%:\n\t$(MAKE) docker-build -C $*\n")
    notebook(tmp_path, "base", "ubuntu:22.04", "<ubuntu>")
    notebook(tmp_path, "jupyter", "$(REGISTRY)/base:$(TAG)", "<base>")
    notebook(tmp_path, "jupyter-scipy", "$(REGISTRY)/jupyter:$(TAG)", "<jupyter>")
    notebook(tmp_path, "jupyter-pytorch", "$(REGISTRY)/jupyter:$(TAG)", "<jupyter>")
    # a folder without a Makefile: the placeholder alone names the folder, with a doubt
    write(tmp_path / "jupyter-extra/Dockerfile", "ARG BASE_IMG=<jupyter-scipy>\nFROM $BASE_IMG\n")
    got = adopt.adopt(tmp_path)
    assert {n: i.parent for n, i in got.images.items()} == {
        "base": None, "jupyter": "base", "jupyter-pytorch": "jupyter", "jupyter-scipy": "jupyter",
        "jupyter-extra": "jupyter-scipy"}
    assert unsure(got) == {"jupyter-extra/Dockerfile"}
    scipy = got.images["jupyter-scipy"]
    assert (scipy.parent_arg, scipy.parent_ref, dict(scipy.build_args), scipy.link and scipy.link.source) == \
        ("BASE_IMG", None, {}, Source.MAKEFILE)
    assert "ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter:sha-* is built by jupyter/Makefile (common.mk:9)" \
        in scipy.notes
    # the root's placeholder gets the external base the Makefile passes, as a build arg
    base = got.images["base"]
    assert (base.base, dict(base.build_args)) == ("ubuntu:22.04", {"BASE_IMG": "ubuntu:22.04"})
    assert doubts(got.images["jupyter-extra"]) == [
        "? FROM $BASE_IMG defaults to the placeholder <jupyter-scipy> and no build file passes BASE_IMG: taken to "
        "mean image jupyter-scipy (folder jupyter-scipy)"]
    assert got.registry_guess == "ghcr.io/kubeflow/kubeflow/notebook-servers"
    assert got.summary == "4 links: Makefile 3, placeholder 1 (?); 1 root"


# -- bake JSON over one folder of name_version.Dockerfile files, a same-named fixture --------

def test_bake_json_over_one_folder_names_images_by_target_and_skips_fixtures(tmp_path: Path) -> None:
    def target(name: str, tags: list[str], **more: object) -> dict[str, object]:
        return {"context": ".", "dockerfile": f"dockerfiles/{name}.Dockerfile", "tags": tags, **more}

    write(tmp_path / "docker-bake.json", json.dumps({
        "variable": {"OWNER": {"default": "acme"}},
        "group": {"default": {"targets": ["python_3.11", "python_3.12", "django_4.2", "app_1.0"]}},
        "target": {
            "python_3.11": target("python_3.11", ["${OWNER}/python:3.11"]),
            "python_3.12": target("python_3.12", ["${OWNER}/python:3.12"]),
            "django_4.2": target("django_4.2", ["${OWNER}/django:4.2"], args={"PY": "${OWNER}/python:3.11"}),
            "app_1.0": target("app_1.0", ["${OWNER}/app:1.0"], contexts={"django": "target:django_4.2"}),
        }}))
    write(tmp_path / "dockerfiles/python_3.11.Dockerfile", "FROM debian:12\n")
    write(tmp_path / "dockerfiles/python_3.12.Dockerfile", "FROM debian:13\n")
    write(tmp_path / "dockerfiles/django_4.2.Dockerfile", "ARG PY=python:3\nFROM ${PY}\n")
    write(tmp_path / "dockerfiles/app_1.0.Dockerfile",
          "FROM acme/python:3.12 AS wheels\nRUN pip wheel .\nFROM django\nCOPY --from=wheels /w /w\n")
    # fixtures sharing the images' short names: never images, never parents
    write(tmp_path / "tests/fixtures/python/Dockerfile", "FROM debian:12\n")
    write(tmp_path / "tests/fixtures/django/Dockerfile", "FROM acme/python:3.11\n")
    got = adopt.adopt(tmp_path)
    assert {n: (i.path, i.dockerfile, i.parent) for n, i in got.images.items()} == {
        "python_3.11": (".", "dockerfiles/python_3.11.Dockerfile", None),
        "python_3.12": (".", "dockerfiles/python_3.12.Dockerfile", None),
        "django_4.2": (".", "dockerfiles/django_4.2.Dockerfile", "python_3.11"),
        "app_1.0": (".", "dockerfiles/app_1.0.Dockerfile", "django_4.2"),
    }
    assert unsure(got) == set()
    django, app = got.images["django_4.2"], got.images["app_1.0"]
    assert (django.parent_arg, dict(django.build_args)) == ("PY", {})
    assert (app.parent_ref, dict(app.uses)) == ("django", {"acme/python:3.12": "python_3.12"})
    assert "tests/fixtures/python/Dockerfile: a test fixture no build file builds: not an image" in got.messages
    assert got.summary == "2 links: bake 2; 2 roots"


# -- a root Dockerfile.template: children name the tree's repository, no build file says who --

def template_tree(root: Path) -> None:
    write(root / "Dockerfile.template", "FROM buildpack-deps:%%SUITE%%-scm\nRUN echo template\n")
    for suite in ("bookworm", "bullseye"):
        write(root / f"{suite}/curl/Dockerfile", f"FROM debian:{suite}\n")
        write(root / f"{suite}/scm/Dockerfile", f"FROM buildpack-deps:{suite}-curl\n")
        write(root / f"{suite}/Dockerfile", f"FROM buildpack-deps:{suite}-scm\n")


def test_a_root_template_is_no_image_and_children_link_by_tag_with_a_doubt(tmp_path: Path) -> None:
    for folder in ("buildpack-deps", "checkout"):  # the tree's own name, and a checkout named otherwise
        template_tree(tmp_path / folder)
        got = adopt.adopt(tmp_path / folder)
        assert graph(got) == {
            "bookworm/Dockerfile": "bookworm/scm/Dockerfile",
            "bookworm/curl/Dockerfile": None,
            "bookworm/scm/Dockerfile": "bookworm/curl/Dockerfile",
            "bullseye/Dockerfile": "bullseye/scm/Dockerfile",
            "bullseye/curl/Dockerfile": None,
            "bullseye/scm/Dockerfile": "bullseye/curl/Dockerfile",
        }, folder
        # linked by name alone: every link says so, in the file and on stderr
        assert unsure(got) == {"bookworm/Dockerfile", "bookworm/scm/Dockerfile", "bullseye/Dockerfile",
                               "bullseye/scm/Dockerfile"}
        assert "Dockerfile.template: a template no build file builds: not an image" in got.messages
        assert "bookworm/Dockerfile:1: FROM buildpack-deps:bookworm-scm taken to name bookworm-scm by its tag alone " \
               "(check it)" in got.messages
        assert got.summary == "4 links: name only 4 (?); 2 roots"


# -- compose build sections --------------------------------------------------------------

def test_compose_build_sections_tag_what_their_services_build(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", """\
        services:
          base:
            build: ./base
            image: acme/base:1
          api:
            image: acme/api:${TAG:-1}
            build:
              context: ./api
              args:
                - BASE=acme/base:1
                - PIP_INDEX
          worker:
            build: {context: ., dockerfile: worker/Dockerfile}
          job:
            build:
              context: job
              additional_contexts: {api: "service:api"}
          web:
            image: nginx:1.27
        """)
    write(tmp_path / "base/Dockerfile", "FROM debian:12\n")
    write(tmp_path / "api/Dockerfile", "ARG BASE=REPLACE_ME\nFROM $BASE\n")
    write(tmp_path / "worker/Dockerfile", "FROM acme/api:1\n")
    write(tmp_path / "job/Dockerfile", "FROM api\n")
    got = adopt.adopt(tmp_path)
    assert {n: (i.path, i.dockerfile, i.parent) for n, i in got.images.items()} == {
        "base": ("base", "Dockerfile", None),
        "api": ("api", "Dockerfile", "base"),
        "job": ("job", "Dockerfile", "api"),
        "worker": (".", "worker/Dockerfile", "api"),
    }
    assert unsure(got) == set()
    assert (got.images["api"].parent_arg, got.images["job"].parent_ref) == ("BASE", "api")
    assert got.summary == "3 links: compose 3; 1 root"


# -- a bashbrew library file -------------------------------------------------------------

LIBRARY = """\
# this file is generated via generate-stackbrew-library.sh
Maintainers: Jane <jane@example.com> (@jane)
GitRepo: https://example.com/acme/python.git

Tags: 3.12.4-bookworm, 3.12-bookworm,
      3.12
Directory: 3.12/bookworm

Tags: 3.12-slim-bookworm, 3.12-slim
Directory: 3.12/slim-bookworm

Tags: 3.12-onbuild
Directory: 3.12/bookworm
File: Dockerfile.onbuild
"""


def test_a_bashbrew_library_file_says_which_directory_each_tag_is(tmp_path: Path) -> None:
    write(tmp_path / "library/python", LIBRARY)
    write(tmp_path / "3.12/bookworm/Dockerfile", "FROM buildpack-deps:bookworm\n")
    write(tmp_path / "3.12/bookworm/Dockerfile.onbuild", "FROM python:3.12\nONBUILD COPY . /app\n")
    write(tmp_path / "3.12/slim-bookworm/Dockerfile", "FROM debian:bookworm-slim\n")
    write(tmp_path / "tools/Dockerfile", "FROM docker.io/library/python:3.12-slim\n")
    write(tmp_path / "docs/Dockerfile", "FROM python:3.13\n")  # the repository, a tag nobody builds
    got = adopt.adopt(tmp_path)
    assert graph(got) == {
        "3.12/bookworm/Dockerfile": None,
        "3.12/bookworm/Dockerfile.onbuild": "3.12/bookworm/Dockerfile",
        "3.12/slim-bookworm/Dockerfile": None,
        "docs/Dockerfile": None,
        "tools/Dockerfile": "3.12/slim-bookworm/Dockerfile",
    }
    assert unsure(got) == set()
    onbuild = next(i for i in got.images.values() if i.file == "3.12/bookworm/Dockerfile.onbuild")
    assert "python:3.12 is built by library/python:5" in onbuild.notes
    assert "docs/Dockerfile:1: FROM python:3.13 names a repository this tree builds (python), but no build file " \
           "produces that tag; left as a root" in got.messages
    assert got.summary == "2 links: bashbrew library 2; 3 roots"


def test_a_tag_only_known_when_the_build_runs_links_with_a_doubt(tmp_path: Path) -> None:
    write(tmp_path / "Makefile", "VERSION := $(shell cat VERSION)\nbuild:\n\tdocker build -t acme/app:$(VERSION) app\n")
    write(tmp_path / "app/Dockerfile", "FROM debian:12\n")
    write(tmp_path / "plugin/Dockerfile", "FROM acme/app:2.3\n")  # that version, or any the Makefile makes?
    got = adopt.adopt(tmp_path)
    assert graph(got) == {"app/Dockerfile": None, "plugin/Dockerfile": "app/Dockerfile"}
    assert unsure(got) == {"plugin/Dockerfile"}
    assert doubts(got.images["plugin"]) == [
        "? a tag only known when the build runs (acme/app:*): Makefile:3 tags acme/app:2.3 from folder app"]


def test_one_dockerfile_built_two_ways_takes_the_first_and_says_so(tmp_path: Path) -> None:
    write(tmp_path / "Makefile", "build:\n\tdocker build -t acme/py:3.11 --build-arg PY=3.11 py\n"
                                 "\tdocker build -t acme/py:3.12 --build-arg PY=3.12 py\n")
    write(tmp_path / "py/Dockerfile", "FROM debian:12\nARG PY\n")
    write(tmp_path / "app/Dockerfile", "FROM acme/py:3.12\n")
    got = adopt.adopt(tmp_path)
    assert graph(got) == {"app/Dockerfile": "py/Dockerfile", "py/Dockerfile": None}
    assert dict(got.images["py"].build_args) == {"PY": "3.11"}
    # app builds on the 3.12 build, bbc.yaml's py is the 3.11 one: linked, with a doubt
    assert unsure(got) == {"app/Dockerfile"}
    assert doubts(got.images["app"]) == [
        "? built so with other args or target than bbc.yaml's (Makefile:2): Makefile:3 tags acme/py:3.12 from "
        "folder py"]
    assert doubts(got.images["py"]) == [
        "? built 2 ways by the build files (Makefile:2, Makefile:3): bbc.yaml takes Makefile:2's; add images "
        "(another target or Dockerfile) for the others"]


def test_a_root_under_the_namespace_of_the_trees_links_is_said(tmp_path: Path) -> None:
    write(tmp_path / "base/Dockerfile", "FROM debian:12\n")
    write(tmp_path / "python/Dockerfile", "ARG BASE=quay.io/acme/base:1\nFROM $BASE\n")
    write(tmp_path / "web/Dockerfile", "ARG BASE=quay.io/acme/python:1\nFROM $BASE\n")
    write(tmp_path / "tools/Dockerfile", "FROM quay.io/acme/toolbox:1\n")  # no folder toolbox: not silent
    got = adopt.adopt(tmp_path)
    assert graph(got) == {"base/Dockerfile": None, "python/Dockerfile": "base/Dockerfile",
                          "tools/Dockerfile": None, "web/Dockerfile": "python/Dockerfile"}
    assert unsure(got) == set()
    assert doubts(got.images["tools"]) == [
        "? FROM quay.io/acme/toolbox:1 (tools/Dockerfile:1) is under quay.io/acme, where other images of the tree "
        "are, but names none of them: if it is one, set parent"]
    assert got.messages == ("tools/Dockerfile:1: FROM quay.io/acme/toolbox:1 is under quay.io/acme, where other "
                            "images of the tree are, but names none of them; left as a root",)
