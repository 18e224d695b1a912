"""`bbc build`: build what is missing or out of date, parents first, in parallel; with
`--test`, each built image's tests run before it gets its release tags."""

from __future__ import annotations

from bbc.run import pipeline, view as planview, report
from bbc.adapters.engine import Engine
from bbc.run.options import RunOptions
from bbc.run.results import Result, Status
from bbc.model.hierarchy import Hierarchy
from bbc.plan.kinds import Kind
from bbc.plan.steps import Scope, Selection


def build(
    hierarchy: Hierarchy,
    engine: Engine,
    sel: Selection,
    options: RunOptions = RunOptions(),
    *,
    dry_run: bool = False,
    test: bool = False,
) -> int:
    """Build the selection; with `test`, each built image's tests gate its release tags."""
    scope = Scope(gate=test, rerun=options.rerun)
    if dry_run:
        planview.show(hierarchy, pipeline.make_plan(hierarchy, engine, sel, scope), options.fmt)
        return 0
    events = report.make_events(json_mode=options.fmt == "json", verbose=options.verbose)
    quiet = options.fmt != "json" and not options.verbose
    try:
        plan, results = pipeline.execute(hierarchy, engine, sel, events, scope=scope, options=options,
                                         quiet_when_idle=quiet)
    finally:
        report.close(events)
    images = by_image(results)
    if quiet and not plan.busy:
        # the fast path: nothing to do is one line, not a table of 40 "up to date"
        print(f"all {len(images)} images up to date" if len(images) != 1 else "the image is up to date")
        return 0
    summarize(images, options.fmt, engines=len(options.pool) > 1)
    return 1 if any(r.status in (Status.FAILED, Status.SKIPPED) for r in images) else 0


# the steps after an image's build whose failure stops it from being released
_STOPS = (Kind.TEST_LAYER, Kind.TEST_IMAGE, Kind.RUN_TEST, Kind.TAG)


def by_image(results: list[Result]) -> list[Result]:
    """One result per image: its build, or the failure of its tests or tags that stopped it."""
    out: dict[str, Result] = {}
    for r in results:
        if r.kind == Kind.BUILD:
            out[r.image] = r
        elif r.image in out and out[r.image].ok and not r.ok and r.kind in _STOPS:
            what = "tests failed" if r.kind == Kind.RUN_TEST else f"{r.kind.replace('-', ' ')} {r.status}"
            out[r.image] = Result(r.step, r.kind, r.image, r.version, Status.FAILED, r.seconds,
                                  message=f"{what}: {r.message}", log=r.log)
    return list(out.values())


def summarize(results: list[Result], fmt: str, *, engines: bool = False) -> None:
    """The summary table (an engine column when a pool built), or JSON (engine always)."""
    if fmt == "json":
        report.dump_json([
            {"image": r.image, "version": r.version, "result": r.status, "seconds": round(r.seconds, 2),
             "size": r.size, "id": r.image_id, "tags": list(r.tags), "message": r.message, "engine": r.engine}
            for r in results
        ])
        return
    rows = [(r.image, r.version, r.status, f"{r.seconds:.1f}s" if r.seconds else "-", report.human_size(r.size))
            + ((r.engine or "-",) if engines else ()) for r in results]
    report.table(("image", "version", "result", "time", "size") + (("engine",) if engines else ()), rows)
    failed = [r.image for r in results if r.status == Status.FAILED]
    if failed:
        print(f"failed: {', '.join(failed)}")
