"""The one plan: which steps each command's scope holds, what they need, and how the one
executor runs them (scheduling only: the fake engine; real images are tested elsewhere)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbc import config
from bbc.run import executor, pipeline
from bbc.run.options import RunOptions
from bbc.run.results import Status
from bbc.plan import planner
from bbc.plan import steps
from bbc.plan.kinds import Action
from bbc.model import refs
from bbc.adapters.engine import ImageInfo
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Index, Scope, Selection
from bbc.run.report import PlainEvents
from tests.fakes import FakeEngine
from tests.helpers import tiny_hierarchy, write

TESTS = """\
registry: localhost:5000/t
defaults: {network: host}
images:
  base:
    path: images/root/base
    version: 1.0.0
    test: {layer: Dockerfile.test, command: [test, -w, /tmp]}
  mid:
    path: images/intermediate/mid
    parent: base
    version: 1.2.0+b7
  a1:
    path: images/app/a1
    parent: mid
    version: 0.1.0
    test: {command: [true]}
  a2:
    path: images/app/a2
    parent: mid
    version: 0.1.0
  b1:
    path: images/app/b1
    parent: base
    version: 2.0.0
"""


@pytest.fixture()
def h(tmp_path: Path) -> Hierarchy:
    path = tiny_hierarchy(tmp_path)
    path.write_text(TESTS)
    write(tmp_path / "images/root/base/Dockerfile.test", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n")
    return Hierarchy.of(config.load(path))


def plan(h: Hierarchy, engine: FakeEngine, scope: Scope = Scope(), *names: str) -> steps.Plan:
    return planner.plan(h, Selection(tuple(names)), Index.of(engine.images_with_label("bbc.fingerprint")), scope)


def run(h: Hierarchy, engine: FakeEngine, scope: Scope = Scope(), *names: str) -> dict[str, str]:
    results = executor.Executor(engine, h, PlainEvents(), RunOptions(jobs=2)).run(plan(h, engine, scope, *names))
    return {r.step: r.status for r in results}


def test_every_step_comes_after_what_it_needs(h: Hierarchy) -> None:
    p = plan(h, FakeEngine(), Scope(test=True, release=True))
    seen: set[str] = set()
    for step in p.steps:
        assert set(step.needs) <= seen, step.id
        seen.add(step.id)
    kinds = [s.kind for s in p.steps]
    assert kinds.count("build") == 5 and kinds.count("push-candidate") == 5 and kinds[-1] == "promote"
    # a1 inherits base's test layer: layer on mid's release build, then a1's own Dockerfile on top
    assert p["test-layer:a1"].needs == ("build:mid",)
    assert p["test-image:a1"].needs == ("test-layer:a1",)
    assert set(p["run-test:a1"].needs) == {"build:a1", "test-image:a1"}
    assert set(p["push-candidate:a1"].needs) == {"build:a1", "run-test:a1"}
    assert set(p["promote"].needs) == {f"push-candidate:{n}" for n in h.order}
    # a root's test layer goes on its own release build
    assert p["test-layer:base"].needs == ("build:base",)


def test_build_scope_holds_builds_only_and_test_scope_only_the_selected_tests(h: Hierarchy) -> None:
    engine = FakeEngine()
    assert {s.kind for s in plan(h, engine).steps} == {"build"}
    tested = plan(h, engine, Scope(test=True), "a1")
    assert [s.id for s in tested.steps if s.kind == "run-test"] == ["run-test:a1"]  # not its ancestors'
    assert not tested["build:mid"].selected and tested["build:a1"].selected
    assert [s.image for s in tested.builds] == ["base", "mid", "a1"]


def test_tests_run_after_builds_and_a_pass_is_reused(h: Hierarchy) -> None:
    engine = FakeEngine()
    first = run(h, engine, Scope(test=True))
    assert first["run-test:a1"] == first["run-test:base"] == Status.PASSED
    assert first["test-layer:a1"] == Status.BUILT
    engine.events.clear()
    second = plan(h, engine, Scope(test=True))
    # base's test is inherited by every image: five runs, no test image needed any more
    assert [s.id for s in second.steps if s.kind != "build"] == [f"run-test:{n}" for n in h.order]
    assert all(s.action == Action.CACHED for s in second.steps if s.kind == "run-test")
    assert {r for r in run(h, engine, Scope(test=True)).values()} == {Status.UP_TO_DATE, Status.CACHED}
    assert engine.started() == []
    # --rerun: the tests run again on the test images already built
    rerun = run(h, engine, Scope(test=True, rerun=True))
    assert rerun["run-test:a1"] == Status.PASSED and rerun["test-layer:a1"] == Status.REUSED
    assert engine.started() == []


def test_a_failed_build_skips_its_tests_pushes_and_the_promotion(h: Hierarchy) -> None:
    engine = FakeEngine(fail={"mid"})
    results = run(h, engine, Scope(test=True, release=True))
    assert results["build:mid"] == Status.FAILED
    assert results["test-layer:a1"] == results["run-test:a1"] == results["push-candidate:a1"] == Status.SKIPPED
    assert results["push-candidate:b1"] == Status.PUSHED  # an independent branch goes on
    assert results["promote"] == Status.SKIPPED  # all or nothing


def test_gate_tags_only_after_the_tests(h: Hierarchy) -> None:
    engine = FakeEngine()
    p = plan(h, engine, Scope(gate=True))
    assert p["tag:base"].needs == ("run-test:base",)
    assert "tag:base" in p["build:mid"].needs  # children start on a tested parent
    assert p["build:b1"].needs == ("tag:base",)
    statuses = run(h, engine, Scope(gate=True))
    assert statuses["tag:base"] == Status.TAGGED
    assert engine.tags["localhost:5000/t/mid:1.2.0_b7"] == engine.tags["localhost:5000/t/mid:1.2"]


def test_build_metadata_is_one_tag_everywhere(h: Hierarchy) -> None:
    assert refs.local_tags("1.2.0+b7") == ["1.2.0_b7", "1.2", "1", "latest"]
    assert refs.local_tags("1.3.0-rc.1+b2") == ["1.3.0-rc.1_b2"]
    assert str(refs.version_of_tag("1.2.0_b7")) == "1.2.0+b7"
    assert refs.version_of_tag("latest") is None and refs.version_of_tag("candidate-0123") is None
    engine = FakeEngine()
    run(h, engine)
    assert "localhost:5000/t/mid:1.2.0_b7" in engine.tags
    assert plan(h, engine).to_build == []  # found again under the same tag


class CountingEngine(FakeEngine):
    """Counts the two kinds of question make_plan can ask."""

    def __init__(self) -> None:
        super().__init__()
        self.listings = 0
        self.by_name: list[str] = []

    def images_with_label(self, label: str) -> list[ImageInfo]:
        self.listings += 1
        return super().images_with_label(label)

    def inspect_many(self, refs: list[str]) -> dict[str, ImageInfo | None]:
        self.by_name += refs
        return super().inspect_many(refs)


def test_an_up_to_date_plan_asks_for_the_release_tags_by_name_and_lists_nothing(h: Hierarchy) -> None:
    engine = CountingEngine()
    first = pipeline.make_plan(h, engine, Selection())
    assert len(first.to_build) == 5 and engine.listings == 1  # busy: one listing finds what can be reused
    executor.Executor(engine, h, PlainEvents(), RunOptions(jobs=2)).run(first)
    engine.listings, engine.by_name = 0, []
    assert pipeline.make_plan(h, engine, Selection()).to_build == []
    assert engine.listings == 0 and "localhost:5000/t/mid:1.2.0_b7" in engine.by_name and len(engine.by_name) == 5
    # a release tag moved to another build: the by-name answer would rebuild, so one listing
    # finds mid's build (still under its other tags) and the executor tags it again
    mid = engine.tags["localhost:5000/t/mid:1.2.0_b7"]
    engine.events.clear()
    engine.tag(engine.tags["localhost:5000/t/base:1.0.0"], "localhost:5000/t/mid", "1.2.0_b7")
    moved = pipeline.make_plan(h, engine, Selection())
    assert moved.to_build == [] and engine.listings == 1
    executor.Executor(engine, h, PlainEvents(), RunOptions(jobs=2)).run(moved)
    assert engine.tags["localhost:5000/t/mid:1.2.0_b7"] == mid and engine.started() == []
    # past INSPECT_AT_MOST images the listing is cheaper than the names
    engine.listings, engine.by_name = 0, []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "INSPECT_AT_MOST", 2)
        pipeline.make_plan(h, engine, Selection())
    assert engine.by_name == [] and engine.listings == 1
