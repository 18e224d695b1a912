"""Issue 21 without an engine: `uses:` read and validated (each problem located, nothing
built), the hierarchy answering over parent and uses edges, the version cascade, bbc graph."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from bbc import config
from bbc.errors import ConfigError
from bbc.model import platforms, versions
from bbc.model.hierarchy import Hierarchy, loops, order
from tests.cli import bbc, ok
from tests.helpers import write

CHILD = "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n"
APP = ("ARG SOURCE_IMAGE\nARG X\nARG Y\nFROM ${X} AS x\nFROM ${Y} AS y\nFROM ${SOURCE_IMAGE}\n"
       "COPY --from=x /x /x\nCOPY --from=y /y /y\n")
DIAMOND = """\
registry: localhost:5000/acme
images:
  root: {path: root, version: 1.0.0}
  x: {path: x, parent: root, version: 1.0.0}
  y: {path: y, parent: root, version: 2.0.0, cascade: follow-major}
  app:
    path: app
    parent: root
    version: 0.1.0
    uses: {X: x, Y: y}
"""


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    write(tmp_path / "root/Dockerfile", "FROM scratch\n")
    write(tmp_path / "x/Dockerfile", CHILD)
    write(tmp_path / "y/Dockerfile", CHILD)
    write(tmp_path / "app/Dockerfile", APP)
    return tmp_path


def load(tree: Path, text: str) -> config.Config:
    write(tree / "bbc.yaml", text)
    return config.load(tree / "bbc.yaml")


def problems(tree: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tree, text)
    return info.value.problems


def test_uses_are_read_into_the_spec_and_the_hierarchy_answers_over_both_edges(tree: Path) -> None:
    h = Hierarchy.of(load(tree, DIAMOND))
    app = h["app"]
    assert [(u.key, u.image, u.written, u.on_build) for u in app.uses] == [("X", "x", False, False),
                                                                           ("Y", "y", False, False)]
    assert h.order.index("app") > max(h.order.index("x"), h.order.index("y"))
    assert h.needs("app") == ("root", "x", "y") and h.used("app") == ("x", "y")
    assert h.users("x") == ["app"] and h.children("x") == [] and h.dependents("x") == ["app"]
    assert h.descendants("x") == {"app"} and h.descendants("root") == {"x", "y", "app"}
    assert h.closure_up(["app"]) == {"app", "root", "x", "y"} and h.upstream("app") == {"root", "x", "y"}
    assert h.closure_down(["y"]) == {"y", "app"}
    assert h.ancestors("app") == ["root"]  # lineage (tests, layers) stays the parent chain
    assert [(str(e.kind), e.source, e.target, e.key) for e in h.edges() if e.target == "app"] == [
        ("parent", "root", "app", ""), ("uses", "x", "app", "X"), ("uses", "y", "app", "Y")]
    assert h.kind("x") == "intermediate" and h.graph.edges["x", "app"]["kind"] == "uses"


def test_order_and_loops_over_both_kinds_of_edge() -> None:
    needs = {"app": ("root", "x"), "x": ("root",), "root": (), "late": ("app",)}
    assert order(needs, ["app", "late", "x", "root"]) == ("root", "x", "app", "late")
    looped = {"a": ("b",), "b": ("c",), "c": ("a",), "d": ()}
    assert loops(looped) == [["a", "b", "c"]]
    assert order(looped, list(looped)) == ("d",)  # left for validation to report


@pytest.mark.parametrize(("body", "expected"), [
    ("uses: {X: xx, Y: y}", "bbc.yaml:10: images.app.uses.X: unknown image 'xx' (did you mean 'x'?)"),
    ("uses: {X: x, Y: y, Z: y}", "bbc.yaml:10: images.app.uses.Z: no FROM, COPY --from or RUN --mount=from of "
                                 "app/Dockerfile reads ${Z} (nor names Z as written), so 'y' would be ignored; "
                                 "write `ARG Z` and `FROM ${Z} AS y`, then `COPY --from=y ...`"),
    ("uses: {X: x, Y: y, SOURCE_IMAGE: x}", "bbc.yaml:10: images.app.uses.SOURCE_IMAGE: SOURCE_IMAGE carries the "
                                            "parent 'root'; uses: names the other images it reads"),
    ("uses: {X: app, Y: y}", "bbc.yaml:10: images.app.uses.X: an image cannot use itself"),
])
def test_bad_uses_are_located_and_nothing_is_built(tree: Path, body: str, expected: str) -> None:
    text = DIAMOND.replace("uses: {X: x, Y: y}", body)
    assert problems(tree, text) == [expected]


def test_a_cycle_through_parent_and_uses_links_names_its_path(tree: Path) -> None:
    # x uses app, which uses x: using a descendant
    write(tree / "x/Dockerfile", "ARG SOURCE_IMAGE\nARG APP\nFROM ${APP} AS app\nFROM ${SOURCE_IMAGE}\n")
    text = DIAMOND.replace("  x: {path: x, parent: root, version: 1.0.0}",
                           "  x: {path: x, parent: root, version: 1.0.0, uses: {APP: app}}")
    assert problems(tree, text) == [
        "bbc.yaml:4: images.x.uses.APP: cycle through parent and uses links: x -[uses APP]-> app -[uses X]-> x: "
        "'app' builds on 'x', so 'x' cannot use it"]
    # a child used by its parent: the child's parent link closes the loop
    write(tree / "root/Dockerfile", "ARG KID\nFROM ${KID} AS kid\nFROM scratch\n")
    text = DIAMOND.replace("  root: {path: root, version: 1.0.0}",
                           "  root: {path: root, version: 1.0.0, uses: {KID: x}}")
    assert problems(tree, text) == [
        "bbc.yaml:3: images.root.uses.KID: cycle through parent and uses links: root -[uses KID]-> x -[parent]-> "
        "root: 'x' builds on 'root', so 'root' cannot use it"]
    # nothing was built: validation refuses before any engine is asked
    run = bbc(tree, "build")
    assert run.code == 1 and "cannot use it" in run.err and "nothing was built" in run.err


def test_a_key_may_be_a_reference_written_out_and_on_the_build_platform(tree: Path) -> None:
    write(tree / "app/Dockerfile", "ARG SOURCE_IMAGE\nARG X\nFROM --platform=$BUILDPLATFORM ${X} AS x\n"
                                   "FROM ${SOURCE_IMAGE}\nCOPY --from=x /x /x\nCOPY --from=acme/y:2 /y /y\n"
                                   "RUN --mount=type=bind,from=acme/y:2,target=/m true\n")
    h = Hierarchy.of(load(tree, DIAMOND.replace("uses: {X: x, Y: y}", 'uses: {X: x, "acme/y:2": y}')))
    assert [(u.key, u.written, u.on_build) for u in h["app"].uses] == [("X", False, True), ("acme/y:2", True, False)]


def test_a_used_image_must_be_built_for_the_platforms_that_need_it(tree: Path) -> None:
    here, other = platforms.native(), ("linux/arm64" if platforms.native() != "linux/arm64" else "linux/amd64")
    both = f"[{here}, {other}]"
    multi = DIAMOND.replace("  root: {path: root, version: 1.0.0}", f"  root: {{path: root, version: 1.0.0, "
                            f"platforms: {both}}}").replace(
        "  x: {path: x, parent: root, version: 1.0.0}", f"  x: {{path: x, parent: root, version: 1.0.0, "
                                                        f"platform: {here}}}")
    assert problems(tree, multi) == [
        f"bbc.yaml:10: images.app.uses.X: 'x' is not built for {other} (only for {here}), and app is built "
        "for it and reads it there: a used image must be built for every platform that needs it"]
    # read on the build platform, the engine's own build of x is all app needs
    write(tree / "app/Dockerfile", APP.replace("FROM ${X} AS x", "FROM --platform=$BUILDPLATFORM ${X} AS x"))
    units = platforms.expand(Hierarchy.of(load(tree, multi)))
    for platform in (here, other):
        unit = platforms.unit("app", platform)
        assert {u.key: u.image for u in units[unit].uses} == {"X": "x", "Y": platforms.unit("y", platform)}
        assert units.needs(unit) == (platforms.unit("root", platform), "x", platforms.unit("y", platform))


def test_the_version_cascade_follows_used_images(tree: Path) -> None:
    h = Hierarchy.of(load(tree, DIAMOND))
    assert versions.plan_bump(h, {"x": "minor"}) == {"x": ("1.0.0", "1.1.0"), "app": ("0.1.0", "0.1.1")}
    assert versions.plan_bump(h, {"root": "major"}) == {
        "root": ("1.0.0", "2.0.0"), "x": ("1.0.0", "1.0.1"), "y": ("2.0.0", "3.0.0"), "app": ("0.1.0", "0.1.1")}
    run = ok(bbc(tree, "bump", "y", "patch", "--dry-run"))
    assert run.out.startswith("y: 2.0.0 -> 2.0.1\napp: 0.1.0 -> 0.1.1 (follows y, cascade: patch)\n")
    # several of what an image builds on move: the largest bump of its policy wins
    write(tree / "bbc.yaml", DIAMOND.replace("    version: 0.1.0\n", "    version: 0.1.0\n    cascade: follow-major\n"))
    h = Hierarchy.of(config.load(tree / "bbc.yaml"))
    assert versions.plan_bump(h, {"x": "patch", "y": "major"})["app"] == ("0.1.0", "1.0.0")


def test_graph_draws_used_edges_apart_in_every_format(tree: Path) -> None:
    load(tree, DIAMOND)
    assert ok(bbc(tree, "graph")).out == textwrap.dedent("""\
        root 1.0.0 (root, root)
        ├── x 1.0.0 (intermediate, x)
        ├── y 2.0.0 (intermediate, y)
        └── app 0.1.0 (app, app)
                uses: x (X), y (Y)
        """)
    dot = ok(bbc(tree, "graph", "--format", "dot")).out
    assert '"root" -> "app";' in dot and '"x" -> "app" [style=dashed, constraint=false, label="X"];' in dot
    mermaid = ok(bbc(tree, "graph", "--format", "mermaid")).out
    assert "  n0 --> n3\n" in mermaid and "  n1 -.->|uses X| n3\n" in mermaid and "  n2 -.->|uses Y| n3\n" in mermaid
    data = json.loads(ok(bbc(tree, "graph", "--format", "json")).out)
    app = next(i for i in data["images"] if i["name"] == "app")
    assert app["uses"] == {"X": "x", "Y": "y"} and app["parent"] == "root"
    assert next(i for i in data["images"] if i["name"] == "x")["users"] == ["app"]
    assert {"kind": "uses", "from": "y", "to": "app", "key": "Y"} in data["edges"]


def test_dependents_name_users_and_plan_puts_used_images_first(tree: Path) -> None:
    load(tree, DIAMOND)
    out = ok(bbc(tree, "dependents", "x")).out
    assert "children and users of x 1.0.0" in out and "app    0.1.0    root    x (X), y (Y)" in out
    data = json.loads(ok(bbc(tree, "dependents", "root", "--transitive", "--format", "json")).out)
    assert [(i["image"], i["uses"]) for i in data["images"]] == [
        ("x", {}), ("y", {}), ("app", {"X": "x", "Y": "y"})]


def test_the_provenance_lists_each_used_image_by_its_released_digest(tree: Path) -> None:
    # issue 21: what a build copied from is named in its provenance as its parent is, by the
    # digest of its release (bbc verify lists them); not the used images' local builds
    from datetime import datetime, timezone

    from bbc.release import facts
    from bbc.release.signing.provenance import Source, dependencies_of, predicate

    h = Hierarchy.of(load(tree, DIAMOND))
    digests = {"root": "sha256:" + "1" * 64, "x": "sha256:" + "2" * 64, "y": "sha256:" + "3" * 64}
    now = datetime.now(timezone.utc)
    run = facts.Run(tree, Source("https://git.example/acme", "c0ffee"), "1.0", "Docker Engine 20.10")
    facts_of_app = facts.provenance(h, "app", run, facts.raw_config(tree / "bbc.yaml"), None,
                                    digests.__getitem__, now.isoformat())
    written = predicate(facts_of_app)
    assert dependencies_of(written, "parent") == [("localhost:5000/acme/root:1.0.0", digests["root"])]
    assert dependencies_of(written, "uses") == [("localhost:5000/acme/x:1.0.0", digests["x"]),
                                                ("localhost:5000/acme/y:2.0.0", digests["y"])]
    # an image using nothing lists no uses
    assert dependencies_of(predicate(facts.provenance(h, "x", run, facts.raw_config(tree / "bbc.yaml"), None,
                                                      digests.__getitem__, now.isoformat())), "uses") == []
