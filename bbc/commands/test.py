"""`bbc test`: build each image's test image (its own Dockerfile on a test layer over the
parent's release build) and run its own and inherited tests, as steps of the one plan.
Release builds the tests need come first (and get their local tags); a pass on the same
image with the same tests is remembered and reused unless `rerun`."""

from __future__ import annotations

from pathlib import Path

from bbc.run import junit, pipeline, report
from bbc.plan import planner, testing
from bbc.adapters.engine import Engine
from bbc.run.options import RunOptions
from bbc.run.results import Result, Status
from bbc.model.hierarchy import Hierarchy
from bbc.plan.kinds import Kind
from bbc.plan.steps import Scope, Selection
from bbc.plan.testing import CheckStatus, ImageResult


def test(
    hierarchy: Hierarchy,
    engine: Engine,
    sel: Selection,
    options: RunOptions = RunOptions(),
    *,
    junit_xml: Path | None = None,
) -> int:
    """Test the selected images; 1 when any failed."""
    fmt = options.fmt
    events = report.make_events(json_mode=fmt == "json", verbose=options.verbose)
    try:
        # no line per up-to-date release build; builds the registry holds are pulled
        _, results = pipeline.execute(hierarchy, engine, sel, report.BuildsOnly(events),
                                      scope=Scope(test=True, rerun=options.rerun), options=options)
    finally:
        report.close(events)
    hierarchy, sel = pipeline.units(hierarchy, sel)  # a result per platform: JUnit names it
    chosen, _ = planner.select(hierarchy, sel)
    images = per_image(hierarchy, hierarchy.sort(chosen), results)
    if junit_xml is not None:
        junit.write(images, junit_xml)
    summarize(images, fmt)
    if options.keep and any(r.status == CheckStatus.FAILED for r in images) and fmt != "json":
        print("kept the containers of failed tests: docker ps -a --filter label=bbc.test-container")
    return 1 if any(r.status == CheckStatus.FAILED for r in images) else 0


def per_image(hierarchy: Hierarchy, names: list[str], results: list[Result]) -> list[ImageResult]:
    """One test result per selected image, naming what stopped it when the tests never ran."""
    by_step = {r.step: r for r in results}
    out = []
    for name in names:
        spec = hierarchy[name]
        run = by_step.get(f"run-test:{name}")
        if run is None:
            skips = tuple(testing.CheckResult(s, False, CheckStatus.SKIPPED, message=f"skipped by {name}'s test.skip")
                          for s in testing.checks_for(hierarchy, name)[1])
            out.append(ImageResult(name, spec.version, CheckStatus.SKIPPED, checks=skips, message="no tests"))
            continue
        if run.status == Status.PASSED:
            out.append(ImageResult(name, spec.version, CheckStatus.PASSED, run.seconds, run.checks,
                                   log=run.log, test_image=run.image_id))
            continue
        if run.status == Status.CACHED:
            checks, skipped = testing.checks_for(hierarchy, name)
            remembered = tuple(testing.CheckResult(c.name, c.name == name, CheckStatus.PASSED, message="passed before")
                               for c in checks)
            skips = tuple(testing.CheckResult(s, False, CheckStatus.SKIPPED, message=f"skipped by {name}'s test.skip")
                          for s in skipped)
            out.append(ImageResult(name, spec.version, CheckStatus.PASSED, checks=(*remembered, *skips), reused=True))
            continue
        if run.status == Status.FAILED:
            out.append(ImageResult(name, spec.version, CheckStatus.FAILED, run.seconds, run.checks, run.message,
                                   run.log, run.image_id))
            continue
        cause = _cause(by_step, run)
        if cause.kind in (Kind.TEST_LAYER, Kind.TEST_IMAGE):
            message = f"test image build failed: {cause.message}"
        elif cause.kind == Kind.BUILD:
            message = f"release build {cause.message.partition(chr(10))[0] or cause.status}"
        else:
            message = cause.message or cause.status
        out.append(ImageResult(name, spec.version, CheckStatus.FAILED, cause.seconds, message=message, log=cause.log))
    return out


def _cause(by_step: dict[str, Result], result: Result) -> Result:
    """The failed step at the bottom of a chain of skips."""
    seen = result
    for r in by_step.values():
        if r.status == Status.FAILED and r.image == result.image:
            return r
    if seen.status == Status.SKIPPED:
        for r in by_step.values():
            if r.status == Status.FAILED:
                return r
    return seen


def tests_column(result: ImageResult) -> str:
    """"debian, python, own" (inherited root first), and what the image skips."""
    ran = [c for c in result.checks if c.status != CheckStatus.SKIPPED]
    text = ", ".join("own" if c.own else c.name for c in ran) or "-"
    skipped = [c.name for c in result.checks if c.status == CheckStatus.SKIPPED]
    return text + (f" (skips {', '.join(skipped)})" if skipped else "")


def summarize(results: list[ImageResult], fmt: str) -> None:
    if fmt == "json":
        report.dump_json([
            {"image": r.image, "version": r.version, "result": r.status, "reused": r.reused,
             "seconds": round(r.seconds, 2), "message": r.message, "log": r.log, "test_image": r.test_image,
             "tests": [{"name": c.name, "own": c.own, "result": c.status, "seconds": round(c.seconds, 2),
                        "exit_code": c.exit_code, "message": c.message} for c in r.checks]}
            for r in results
        ])
        return
    rows = [(r.image, tests_column(r),
             "no tests" if r.message == "no tests" else ("passed before" if r.reused else r.status),
             f"{r.seconds:.1f}s" if r.seconds else "-") for r in results]
    report.table(("image", "tests", "result", "time"), rows)
    for r in results:
        if r.status == CheckStatus.FAILED:
            print(f"failed: {r.image}: {r.message.partition(chr(10))[0]}" + (f" (log: {r.log})" if r.log else ""))
