"""`bbc check` against the repository's own build files (bbc/upkeep/adopt/agree.py), and `bbc init`
then `bbc check` on each layout of tests/upkeep/adopt/test_layouts.py, run as a user runs them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli import bbc, ok
from tests.helpers import write
from tests.upkeep.adopt import test_layouts as layouts


def built_by_make(root: Path) -> None:
    write(root / "Makefile", "build:\n\tdocker build -t acme/a:1 a\n\tdocker build -t acme/b:1 b\n")
    write(root / "a/Dockerfile", "FROM debian:12\n")
    write(root / "b/Dockerfile", "FROM debian:12\n")
    write(root / "c/Dockerfile", "FROM acme/b:1\n")
    write(root / "e/Dockerfile", "FROM acme/a:1\n")
    write(root / "d/Dockerfile", "FROM debian:12 AS tools\nFROM debian:12\nCOPY --from=acme/a:1 /etc/a /etc/a\n")


def test_check_says_where_bbc_yaml_and_the_build_files_disagree(tmp_path: Path) -> None:
    built_by_make(tmp_path)
    config = """\
        registry: localhost:5000/acme
        images:
          a: {path: a, version: 1.0.0}
          b: {path: b, version: 1.0.0}
          c: {path: c, version: 1.0.0, parent: a, parent_ref: "acme/b:1"}
          d: {path: d, version: 1.0.0}
          e: {path: e, version: 1.0.0}
        """
    write(tmp_path / "bbc.yaml", config)
    run = bbc(tmp_path, "check")
    assert run.code == 1
    line = next(n for n, text in enumerate((tmp_path / "bbc.yaml").read_text().splitlines(), 1)
                if text.startswith("  c:"))
    assert run.out.splitlines()[1:4] == [
        f"conflict: c/Dockerfile:1: FROM acme/b:1 names acme/b:1, which Makefile:3 builds as image b, but "
        f"bbc.yaml:{line}: images.c.parent is a: the build files and bbc.yaml disagree; make them agree",
        "note: d/Dockerfile:3: d reads acme/a:1 (acme/a:1), which Makefile:2 builds as image a, but bbc.yaml does not "
        "link them: bbc does not rebuild d when a changes",
        "note: e/Dockerfile:1: e is a root, but FROM acme/a:1 names acme/a:1, which Makefile:2 builds as image a: it "
        "builds on whatever that tag holds, not on bbc's build of a (give it `parent: a` if that is meant)",
    ]
    # the name-based drift check says nothing more about a line the build files spoke for
    assert sum(line.startswith("note: e/Dockerfile:1") for line in run.out.splitlines()) == 1
    # agreeing with the build files: notes only, exit 0
    write(tmp_path / "bbc.yaml", config.replace("parent: a,", "parent: b,"))
    agreed = ok(bbc(tmp_path, "check"))
    assert "conflict" not in agreed.out and "c/Dockerfile" not in agreed.out


@pytest.mark.parametrize("layout", [layouts.ros_tree, layouts.template_tree], ids=["ros", "template"])
def test_init_on_a_layout_writes_what_check_accepts(tmp_path: Path, layout: Callable[[Path], None]) -> None:
    layout(tmp_path)
    run = ok(bbc(tmp_path, "init"))
    assert run.out.startswith("wrote bbc.yaml: ")
    checked = ok(bbc(tmp_path, "check"))
    assert "conflict" not in checked.out
    # what init left out (templates) is not a Dockerfile no image covers
    assert "Dockerfile.template" not in checked.out


def test_init_writes_build_args_and_the_images_an_image_reads(tmp_path: Path) -> None:
    built_by_make(tmp_path)
    write(tmp_path / "f/Dockerfile", "ARG TOOLS=acme/b:1\nFROM ${TOOLS} AS tools\nFROM acme/a:1\n"
                                     "COPY --from=tools /bin/t /bin/t\n")
    with (tmp_path / "Makefile").open("a") as f:
        f.write("\tdocker build -t acme/f:1 --build-arg MODE=fast --build-arg TOOLS=acme/b:1 f\n")
    run = ok(bbc(tmp_path, "init", "--print"))
    block = re.search(r"^  f:\n(?:    .*\n)*", run.out, re.MULTILINE)
    assert block is not None
    block = block.group()
    assert "    parent: a\n    parent_ref: acme/a:1" in block
    assert "    build_args:   # as the build files pass them\n      MODE: fast\n" in block
    assert "    uses:   # other images of the tree it reads: bbc passes their exact builds\n      TOOLS: b\n" in block
    assert "bbc init: 3 links: Makefile 3; 3 roots" in run.err
