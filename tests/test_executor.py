"""Scheduling logic against the fake engine: order, -j, failure propagation, fail-fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbc import config
from bbc.plan import planner
from bbc.plan import steps
from bbc.run.executor import Executor
from bbc.run.options import RunOptions
from bbc.model.hierarchy import Hierarchy
from bbc.run.report import PlainEvents
from tests.fakes import FakeEngine
from tests.helpers import tiny_hierarchy


@pytest.fixture()
def h(tmp_path: Path) -> Hierarchy:
    return Hierarchy.of(config.load(tiny_hierarchy(tmp_path)))


def run(h: Hierarchy, engine: FakeEngine, *, jobs: int = 1, fail_fast: bool = False) -> dict[str, str]:
    plan = planner.plan(h, steps.Selection(), steps.Index.of(engine.images_with_label("bbc.fingerprint")))
    results = Executor(engine, h, PlainEvents(), RunOptions(jobs=jobs, fail_fast=fail_fast)).run(plan)
    return {r.image: r.status for r in results}


def test_parents_before_children_and_tags_after(h: Hierarchy) -> None:
    engine = FakeEngine()
    assert run(h, engine) == dict.fromkeys(h.order, "built")
    started = engine.started()
    for name in h.order:
        parent = h.parent(name)
        if parent:
            assert engine.span(parent)[1] <= engine.span(name)[0]
            assert started.index(parent) < started.index(name)
    assert engine.tags["localhost:5000/t/mid:1.2"] == engine.tags["localhost:5000/t/mid:1.2.0"]
    assert set(engine.tags) >= {f"localhost:5000/t/a1:{t}" for t in ("0.1.0", "0.1", "0", "latest")}


def test_second_run_builds_nothing(h: Hierarchy) -> None:
    engine = FakeEngine()
    run(h, engine)
    engine.events.clear()
    assert run(h, engine) == dict.fromkeys(h.order, "up-to-date")
    assert engine.started() == []


def test_jobs_run_siblings_at_once_as_soon_as_parent_is_done(h: Hierarchy) -> None:
    engine = FakeEngine(delay=0.2)
    run(h, engine, jobs=2)
    assert engine.max_running == 2
    # b1 only needs base: it must not wait for mid's generation
    assert engine.span("b1")[0] < engine.span("mid")[1]


def test_jobs_1_never_overlaps(h: Hierarchy) -> None:
    engine = FakeEngine()
    run(h, engine, jobs=1)
    assert engine.max_running == 1


def test_failure_skips_descendants_and_independent_branches_go_on(h: Hierarchy) -> None:
    engine = FakeEngine(fail={"mid"})
    assert run(h, engine) == {"base": "built", "mid": "failed", "a1": "skipped", "a2": "skipped", "b1": "built"}
    assert not any(ref.startswith("localhost:5000/t/mid:") for ref in engine.tags)


def test_fail_fast_starts_nothing_new(h: Hierarchy) -> None:
    engine = FakeEngine(fail={"mid"})
    statuses = run(h, engine, jobs=1, fail_fast=True)
    assert statuses == {"base": "built", "mid": "failed", "a1": "skipped", "a2": "skipped", "b1": "skipped"}
    assert engine.started() == ["base", "mid"]
