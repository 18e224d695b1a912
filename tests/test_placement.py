"""Placement by platform in a pool (issue 24), against fake engines: a platform's builds go to
the engines that build it natively (declared in bbc.yaml or reported by the engine), to
emulation only when no engine of the pool does. The real engines: tests/test_pool.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbc import config
from bbc.model import platforms
from bbc.model.hierarchy import Hierarchy
from bbc.plan import planner, steps
from bbc.run.executor import Executor
from bbc.run.options import RunOptions
from bbc.run.pool import Slot
from bbc.run.report import PlainEvents
from tests.fakes import FakeEngine
from tests.helpers import tiny_hierarchy

TWO = "  platforms: [linux/amd64, linux/arm64]\n"


def hierarchy(root: Path, defaults: str = "") -> Hierarchy:
    path = tiny_hierarchy(root)
    path.write_text(path.read_text().replace("defaults:\n", "defaults:\n" + defaults))
    return platforms.expand(Hierarchy.of(config.load(path)))


def where(h: Hierarchy, *slots: Slot, moved: bool = False) -> dict[str, str]:
    """image (unit) -> the engine its build was placed on (all built there, unless a parent had
    to be `moved`: without a registry that fails, after placement)."""
    plan = planner.plan(h, steps.Selection(), steps.Index.of([]))
    results = Executor(slots[0].engine, h, PlainEvents(), RunOptions(jobs=2, pool=slots)).run(plan)
    assert moved or all(r.status == "built" for r in results), results
    return {r.image: r.engine for r in results if r.engine}


def test_each_platform_builds_on_its_native_engine(tmp_path: Path) -> None:
    h = hierarchy(tmp_path, TWO)
    arm = Slot("B", FakeEngine(delay=0.01), 1, platforms=("linux/arm64",))  # declared (QEMU behind it here)
    placed = where(h, Slot("A", FakeEngine(delay=0.01)), arm)  # A reports linux/amd64
    assert placed == {**{f"{n}@amd64": "A" for n in ("base", "mid", "a1", "a2", "b1")},
                      **{f"{n}@arm64": "B" for n in ("base", "mid", "a1", "a2", "b1")}}


def test_an_engine_that_reports_the_platform_counts_as_native(tmp_path: Path) -> None:
    h = hierarchy(tmp_path, TWO)
    placed = where(h, Slot("A", FakeEngine(delay=0.01, platform="linux/arm64")),
                   Slot("B", FakeEngine(delay=0.01)))
    assert {n: e for n, e in placed.items() if n.endswith("@arm64")} == dict.fromkeys(
        (f"{n}@arm64" for n in ("base", "mid", "a1", "a2", "b1")), "A")
    assert set(e for n, e in placed.items() if n.endswith("@amd64")) == {"B"}


def test_without_a_native_engine_a_platform_goes_anywhere(tmp_path: Path) -> None:
    h = hierarchy(tmp_path, "  platform: linux/s390x\n")
    engines = [FakeEngine(delay=0.2), FakeEngine(delay=0.2)]
    placed = where(h, Slot("A", engines[0]), Slot("B", engines[1]), moved=True)
    assert placed["b1"] == "B" and placed["base"] == "A"  # emulated, spread as before: b1 beside mid


def test_images_naming_no_platform_stay_on_engines_of_this_machine(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platforms, "native", lambda: "linux/amd64")
    h = hierarchy(tmp_path)
    placed = where(h, Slot("A", FakeEngine(delay=0.1)), Slot("B", FakeEngine(delay=0.1), 1, platforms=("linux/arm64",)))
    assert set(placed.values()) == {"A"}
