"""`bbc dependents` (graph + projects) and `bbc ancestry` / `--built-on` (image labels)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import bbc, ok
from tests.helpers import tiny_hierarchy, write

PROJECTS = """\
projects:
  shop:
    repo: ../shop
    images: [a1]
  ops:
    repo: ../ops
    images: [b1, mid]
"""


def add_yaml(config: Path, extra: str) -> Path:
    """Append top-level keys (tiny_hierarchy's `extra` loses its indentation to a dedent)."""
    config.write_text(config.read_text() + extra)
    return config



def remove_built(client: Any, root: Path, registry: str, *, extra_labels: dict[str, str] | None = None) -> None:
    """Remove the tags under `registry`, then every image bbc built from contexts under `root`
    (identical builds are shared between hierarchies: those only lose our tags). One list
    call each: the engine is shared and holds many images."""
    api = client.api
    for row in api.images(filters={"label": "bbc.image"}):
        for tag in row.get("RepoTags") or ():
            if tag.startswith(registry + "/"):
                _quietly(api.remove_image, tag)
    wanted = [row["Id"] for row in api.images(all=True, filters={"label": "bbc.image"})
              if ((row.get("Labels") or {}).get("org.opencontainers.image.source") or "").startswith(str(root))]
    for key, value in (extra_labels or {}).items():
        wanted += [row["Id"] for row in api.images(all=True, filters={"label": f"{key}={value}"})]
    for _ in range(6):  # a parent goes only after its children
        wanted = [i for i in wanted if not _quietly(api.remove_image, i)]
        if not wanted:
            break


def _quietly(remove: Any, ref: str) -> bool:
    """Remove; True when gone (also when someone else removed it first)."""
    try:
        remove(ref, force=True)
    except Exception as exc:
        return "No such image" in str(exc) or "404" in str(exc)
    return True


def registry_of(root: Path) -> str:
    return (root / "bbc.yaml").read_text().splitlines()[0].split()[1]


@pytest.fixture()
def hier(tmp_path: Path) -> Path:
    root = tmp_path / "hier"
    add_yaml(tiny_hierarchy(root, registry=f"localhost:5000/t{uuid.uuid4().hex[:8]}"), PROJECTS)
    return root


def test_children_transitive_and_projects(hier: Path) -> None:
    run = ok(bbc(hier, "dependents", "base", "--format", "json"))
    data = json.loads(run.out)
    assert [i["image"] for i in data["images"]] == ["mid", "b1"]
    assert [p["project"] for p in data["projects"]] == ["ops"]  # shop builds on a1, a grandchild
    data = json.loads(ok(bbc(hier, "dependents", "base", "--transitive", "--format", "json")).out)
    assert [(i["image"], i["depth"]) for i in data["images"]] == [("mid", 1), ("a1", 2), ("a2", 2), ("b1", 1)]
    assert [p["project"] for p in data["projects"]] == ["shop", "ops"]
    # IMAGE itself counts for projects: ops uses mid directly
    data = json.loads(ok(bbc(hier, "dependents", "mid", "--format", "json")).out)
    assert [p["project"] for p in data["projects"]] == ["shop", "ops"]


def test_table_output_and_leaf(hier: Path) -> None:
    out = ok(bbc(hier, "dependents", "mid")).out
    assert "children of mid 1.2.0" in out
    assert "a1     0.1.0    mid" in out
    assert "shop     ../shop  a1" in out
    out = ok(bbc(hier, "dependents", "a2")).out
    assert out == "a2 has no children\nno projects in bbc.yaml build on a2\n"


def test_unknown_image_is_one_clear_line(hier: Path) -> None:
    run = bbc(hier, "dependents", "midd")
    assert run.code == 1
    assert "bbc: error: unknown image 'midd' (did you mean 'mid'?)" in run.err


@pytest.fixture()
def built(hier: Path, docker_client: Any) -> Iterator[Path]:
    yield hier
    remove_built(docker_client, hier, registry_of(hier))


@pytest.mark.docker
def test_ancestry_and_built_on_after_a_partial_rebuild(built: Path, docker_client: Any) -> None:
    root = built
    registry = registry_of(root)
    ok(bbc(root, "build"))
    ids = {n: docker_client.images.get(f"{registry}/{n}:latest").id for n in ("base", "mid", "a1", "a2", "b1")}

    data = json.loads(ok(bbc(root, "ancestry", f"{registry}/a1:0.1.0", "--format", "json")).out)
    assert [(lv["image"], lv["version"], lv["id"]) for lv in data] == [
        ("a1", "0.1.0", ids["a1"]), ("mid", "1.2.0", ids["mid"]), ("base", "1.0.0", ids["base"])]
    table = ok(bbc(root, "ancestry", ids["a2"])).out
    assert table.splitlines()[0].split() == ["image", "version", "id", "via"]
    assert table.splitlines()[2].split() == ["mid", "1.2.0", ids["mid"][7:19], "parent", "of", "a2"]

    # the root moves to 2.0.0; only base -> mid -> a1 are rebuilt
    ok(bbc(root, "bump", "base", "major", "--no-cascade"))
    ok(bbc(root, "build", "a1"))
    old = json.loads(ok(bbc(root, "dependents", "base", "--built-on", "<2.0.0", "--format", "json")).out)
    # a2 and b1 still run on the old root; the old mid and a1 builds lost their tags to the
    # rebuilds, so nothing refers to them any more
    assert [(r["image"], r["version"], r["current"], r["on"]["version"], r["on"]["id"]) for r in old] == [
        ("a2", "0.1.0", True, "1.0.0", ids["base"]),
        ("b1", "2.0.0", True, "1.0.0", ids["base"]),
    ]
    assert [r["id"] for r in old] == [ids["a2"], ids["b1"]]
    new = json.loads(ok(bbc(root, "dependents", "base", "--built-on", ">=2.0.0,<3.0.0", "--format", "json")).out)
    assert sorted((r["image"], r["current"]) for r in new) == [("a1", True), ("mid", True)]
    table = ok(bbc(root, "dependents", "base", "--built-on", "<2.0.0")).out
    assert "local images built on base <2.0.0" in table
    lines = table.splitlines()
    assert lines[1].split() == ["image", "version", "id", "base", "current", "tags"]
    assert lines[2].split()[:5] == ["a2", "0.1.0", ids["a2"][7:19], "1.0.0", "yes"]
    assert "a2:0.1.0" in lines[2] and len(lines) == 4


@pytest.mark.docker
def test_ancestry_refuses_images_bbc_did_not_build(busybox_image: str, docker_client: Any, tmp_path: Path) -> None:
    write(tmp_path / "x.txt", "x")
    run = bbc(tmp_path, "ancestry", busybox_image)
    assert run.code == 1
    assert "was not built by bbc (it has no bbc.image label)" in run.err
    run = bbc(tmp_path, "ancestry", "localhost:5000/nope/never:1.0.0")
    assert run.code == 1 and "no image 'localhost:5000/nope/never:1.0.0' on this engine" in run.err


def test_bad_range_is_explained(hier: Path) -> None:
    run = bbc(hier, "dependents", "base", "--built-on", "<2.3")
    assert run.code == 1
    assert "--built-on: '<2.3' is not a version range" in run.err
