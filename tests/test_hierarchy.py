from __future__ import annotations

from pathlib import Path

import pytest

from bbc import config
from bbc.commands.graph import render
from bbc.errors import BbcError
from bbc.model.hierarchy import Hierarchy
from tests.helpers import tiny_hierarchy


@pytest.fixture()
def h(tmp_path: Path) -> Hierarchy:
    return Hierarchy.of(config.load(tiny_hierarchy(tmp_path)))


def test_order_parents_first_declaration_order_among_equals(h: Hierarchy) -> None:
    assert h.order == ("base", "mid", "a1", "a2", "b1")
    assert h.ancestors("a1") == ["mid", "base"]
    assert h.descendants("mid") == {"a1", "a2"}
    assert h.closure_down(["mid"]) == {"mid", "a1", "a2"}
    assert h.closure_up(["a2"]) == {"a2", "mid", "base"}


def test_kinds_follow_graph_and_folder(h: Hierarchy) -> None:
    assert [h.kind(n) for n in h.order] == ["root", "intermediate", "app", "app", "app"]


def test_unknown_name_suggests(h: Hierarchy) -> None:
    with pytest.raises(BbcError, match=r"unknown image 'mdi' \(did you mean 'mid'\?\)"):
        h.check_names(["mdi"])


def test_tree_and_formats(h: Hierarchy) -> None:
    assert render(h, "tree") == (
        "base 1.0.0 (root, images/root/base)\n"
        "├── mid 1.2.0 (intermediate, images/intermediate/mid)\n"
        "│   ├── a1 0.1.0 (app, images/app/a1)\n"
        "│   └── a2 0.1.0 (app, images/app/a2)\n"
        "└── b1 2.0.0 (app, images/app/b1)\n"
    )
    dot = render(h, "dot")
    assert '"base" -> "mid";' in dot and '"mid" -> "a2";' in dot and dot.startswith("digraph bbc {")
    assert "n1 --> n3" in render(h, "mermaid")  # mid -> a1


def test_parent_links_are_followed_in_one_place() -> None:
    from bbc.model.hierarchy import cycles, lineage, topological

    parents: dict[str, str | None] = {"app": "ml", "root": None, "ml": "python", "python": "root", "web": "python"}
    assert topological(parents, list(parents)) == ("root", "python", "ml", "app", "web")
    assert lineage(parents, "app") == ["app", "ml", "python", "root"]
    assert cycles(parents) == []
    looped: dict[str, str | None] = {"root": "ml", "ml": "python", "python": "root", "other": None, "x": "x"}
    assert cycles(looped) == [["root", "ml", "python"], ["x"]]
    assert lineage(looped, "ml") == ["ml", "python", "root"]  # stops before repeating
    assert topological(looped, list(looped)) == ("other",)  # the cycle is left for validation to report


def test_validation_and_config_import_without_a_cycle() -> None:
    import subprocess
    import sys

    for first in ("bbc.config.validate", "bbc.model.specs", "bbc.model.hierarchy", "bbc.config"):
        run = subprocess.run([sys.executable, "-c", f"import {first}; import bbc.config"], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
