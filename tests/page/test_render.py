"""The page and the JSON rendered from one hand-made Report: the layout, the colours, the
self-containment of the HTML."""

from __future__ import annotations

import json
import re

from bbc.page import html, jsonout, layout, svg
from bbc.page.model import Edge, EdgeKind, Image, Release, Report, State, LastTest


def image(unit: str, parent: str | None, *states: State) -> Image:
    return Image(unit, unit.partition("@")[0], None, "1.0.0", "root" if parent is None else "app", parent, None, "",
                 "fp", "up to date", ("files changed: a.txt",), None, 1000, 10, Release("released", "sha256:" + "a" * 64),
                 (), (), LastTest("passed"), None, (), states or (State.UP_TO_DATE,))


def sample() -> Report:
    images = (image("root", None), image("mid", "root", State.REBUILD, State.BASE_MOVED),
              image("a", "mid", State.TESTS_FAILED), image("b", "mid"), image("other", None, State.NOT_BUILT))
    edges = tuple(Edge(EdgeKind.PARENT, i.parent, i.unit) for i in images if i.parent)
    return Report("localhost:5000/acme", "2026-01-01T00:00:00+00:00", False, False, images,
                  edges + (Edge(EdgeKind.USES, "other", "a"),), (), (), (), ())


def test_a_tree_layout_puts_each_leaf_on_its_own_row_and_a_parent_between_its_children() -> None:
    report = sample()
    placed = layout.place([i.unit for i in report.images], report.edges, {})
    y = {u: b.y for u, b in placed.boxes.items()}
    assert y["a"] < y["b"] < y["other"] and y["mid"] == (y["a"] + y["b"]) / 2 == y["root"]
    x = {u: b.x for u, b in placed.boxes.items()}
    assert x["root"] == x["other"] < x["mid"] < x["a"] == x["b"]
    assert len({(b.x, b.y) for b in placed.boxes.values()}) == 5
    assert placed.height >= y["other"] + layout.BOX_HEIGHT


def test_boxes_are_filled_by_their_worst_state_and_dotted_by_the_others() -> None:
    picture, _ = svg.render(sample())
    assert re.search(r'class="node st-rebuild" id="node-mid"', picture)
    assert 'class="mark st-base-moved"' in picture
    assert 'class="node st-tests-failed dark" id="node-a"' in picture
    assert picture.count('class="edge parent"') == 3 and picture.count('class="edge uses"') == 1
    assert '<a href="#image-mid">' in picture


def test_the_page_fetches_nothing_and_holds_every_row() -> None:
    page = html.render(sample())
    # no external script, style, font, image or frame: no URL at all but the SVG namespace
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"] * 2
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\(", page)
    for unit in ("root", "mid", "a", "b", "other"):
        assert f'<tr id="image-{unit}" data-unit="{unit}">' in page
    data = json.loads(re.search(r'<script type="application/json" id="bbc-graph">(.*?)</script>', page).group(1))
    assert data["parent"] == {"mid": "root", "a": "mid", "b": "mid"} and data["ok"] == ["root", "b"]


def test_json_names_every_state_and_the_worst() -> None:
    data = jsonout.as_data(sample())
    mid = data["images"][1]
    assert mid["states"] == ["must rebuild", "base moved"] and mid["state"] == "must rebuild"
    assert data["edges"][-1] == {"kind": "uses", "source": "other", "target": "a"}
    assert data["schema"] == jsonout.SCHEMA
