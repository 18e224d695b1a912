"""`bbc test`: build each image's test image (its own Dockerfile on a test layer over the
parent's release build) and run its own and inherited tests. `gate` is the same check as
a `bbc build --test` hook that refuses release tags to an image whose tests fail."""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bbc import executor, junit, planner, report, testing
from bbc.commands import build as build_cmd
from bbc.engine import Engine
from bbc.errors import TestFailure
from bbc.executor import BeforeTag
from bbc.hierarchy import Hierarchy
from bbc.planner import Selection
from bbc.testing import ImageResult


def test(
    hierarchy: Hierarchy,
    engine: Engine,
    sel: Selection,
    *,
    jobs: int = 1,
    keep: bool = False,
    junit_xml: Path | None = None,
    fmt: str = "table",
    verbose: bool = False,
    revision: str | None = None,
) -> int:
    """Test the selected images; 1 when any failed. Release builds they need come first,
    through the same planner and executor as `bbc build` (and get its local tags)."""
    events = report.make_events(json_mode=fmt == "json", verbose=verbose)
    try:
        chosen, _ = planner.select(hierarchy, sel)
        names = hierarchy.sort(chosen)
        testable = [n for n in names if testing.checks_for(hierarchy, n)[0]]
        releases = _release_builds(hierarchy, engine, testable, events, jobs=jobs, revision=revision)

        def one(name: str) -> ImageResult:
            spec = hierarchy[name]
            own = releases.get(name)
            parent = releases.get(spec.parent) if spec.parent else None
            if name not in testable:
                result = ImageResult(name, spec.version, testing.SKIPPED,
                                     checks=_skips(hierarchy, name), message="no tests")
            elif own is None or own.status not in executor.OK or (parent is not None and parent.status not in executor.OK):
                why = own.message.partition("\n")[0] if own and own.message else (own.status if own else "not built")
                result = ImageResult(name, spec.version, testing.FAILED, message=f"release build {why}")
            else:
                result = testing.test_image(engine, hierarchy, name, release_id=own.image_id,
                                            parent_id=parent.image_id if parent else None, events=events, keep=keep)
            if name in testable:
                events.finished(result)
            return result

        if jobs == 1:
            # in this thread, so Ctrl-C reaches the running container's `finally` and removes it
            results = [one(n) for n in names]
        else:
            pool = ThreadPoolExecutor(max_workers=jobs)
            try:
                results = list(pool.map(one, names))
            finally:
                # on Ctrl-C start nothing new; running tests end (at the latest at their
                # timeout) and Engine.run removes their containers
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        report.close(events)
    if junit_xml is not None:
        junit.write(results, junit_xml)
    summarize(results, fmt)
    if keep and any(r.status == testing.FAILED for r in results) and fmt != "json":
        print("kept the containers of failed tests: docker ps -a --filter label=bbc.test-container")
    return 1 if any(r.status == testing.FAILED for r in results) else 0


def _skips(hierarchy: Hierarchy, name: str) -> tuple[testing.CheckResult, ...]:
    return tuple(testing.CheckResult(s, False, testing.SKIPPED, message=f"skipped by {name}'s test.skip")
                 for s in testing.checks_for(hierarchy, name)[1])


def _release_builds(hierarchy: Hierarchy, engine: Engine, names: list[str], events: report.Events, *,
                    jobs: int, revision: str | None) -> dict[str, executor.Result]:
    """The release builds of `names` and their ancestors, found by fingerprint or built."""
    if not names:
        return {}
    sel = Selection(tuple(names))
    build_cmd.run_prepares(hierarchy, hierarchy.closure_up(names), events)
    plan = build_cmd.make_plan(hierarchy, engine, sel)
    for warning in plan.warnings:
        events.message(f"warning: {warning}")
    results = executor.Executor(engine, hierarchy, _BuildsOnly(events), jobs=jobs, revision=revision).run(plan)
    return {r.image: r for r in results}


class _BuildsOnly:
    """Pass build events through, but not a line per up-to-date release build."""

    def __init__(self, events: report.Events) -> None:
        self.events = events

    def started(self, image: str, step: Any) -> None:
        self.events.started(image, step)

    def line(self, image: str, text: str) -> None:
        self.events.line(image, text)

    def finished(self, result: Any) -> None:
        if result.status != executor.UP_TO_DATE:
            self.events.finished(result)

    def message(self, text: str) -> None:
        self.events.message(text)


def tests_column(result: ImageResult) -> str:
    """"debian, python, own" (inherited root first), and what the image skips."""
    ran = [c for c in result.checks if c.status != testing.SKIPPED]
    text = ", ".join("own" if c.own else c.name for c in ran) or "-"
    skipped = [c.name for c in result.checks if c.status == testing.SKIPPED]
    return text + (f" (skips {', '.join(skipped)})" if skipped else "")


def summarize(results: list[ImageResult], fmt: str) -> None:
    if fmt == "json":
        report.dump_json([
            {"image": r.image, "version": r.version, "result": r.status, "seconds": round(r.seconds, 2),
             "message": r.message, "log": r.log, "test_image": r.test_image,
             "tests": [{"name": c.name, "own": c.own, "result": c.status, "seconds": round(c.seconds, 2),
                        "exit_code": c.exit_code, "message": c.message} for c in r.checks]}
            for r in results
        ])
        return
    rows = [(r.image, tests_column(r), "no tests" if r.message == "no tests" else r.status,
             f"{r.seconds:.1f}s" if r.seconds else "-") for r in results]
    report.table(("image", "tests", "result", "time"), rows)
    failed = [r for r in results if r.status == testing.FAILED]
    for r in failed:
        print(f"failed: {r.image}: {r.message.partition(chr(10))[0]}" + (f" (log: {r.log})" if r.log else ""))


def gate(hierarchy: Hierarchy, engine: Engine, *, verbose: bool) -> BeforeTag:
    """A `before_tag` hook for the executor: test each freshly built image before it gets
    release tags; raise TestFailure so a failing image is never tagged (and the executor
    skips its descendants). Images that were already up to date are not re-tested."""
    events = report.PlainEvents(sys.stderr, verbose=verbose)

    def before_tag(image: str, image_id: str) -> None:
        if not testing.checks_for(hierarchy, image)[0]:
            return
        parent_id = None
        if hierarchy.parent(image) is not None:
            info = engine.inspect(image_id)
            parent_id = info.labels.get(planner.PARENT_LABEL) if info else None
        start = time.monotonic()
        result = testing.test_image(engine, hierarchy, image, release_id=image_id, parent_id=parent_id,
                                    events=events)
        if result.status == testing.FAILED:
            raise TestFailure(result.message + (f"\nfull test log: {result.log}" if result.log else ""))
        events.message(f"[{image}] tests passed in {time.monotonic() - start:.1f}s ({tests_column(result)})")

    return before_tag
