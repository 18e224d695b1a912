"""`bbc build`: build what is missing or out of date, parents first, in parallel."""

from __future__ import annotations

from bbc import changes, executor, fingerprint, planner, prepare, report
from bbc.engine import Engine
from bbc.executor import BeforeTag, Result
from bbc.hierarchy import Hierarchy
from bbc.planner import Plan, Selection


def selection(hierarchy: Hierarchy, names: tuple[str, ...], *, changed: bool, since: str | None,
              with_dependents: bool = False, force: bool = False) -> Selection:
    """The images a command works on; unknown names fail here, before any engine is asked."""
    hierarchy.check_names(names)
    changed_map = changes.changed_images(hierarchy, since) if changed or since else None
    return Selection(tuple(names), with_dependents, changed_map, force)


def run_prepares(hierarchy: Hierarchy, wanted: set[str], events: report.Events) -> None:
    root = hierarchy.config.root
    for name in hierarchy.sort(wanted):
        spec = hierarchy[name]
        why = prepare.pending(spec, root)
        if why:
            events.message(f"[{name}] prepare: {why}; running {spec.prepare.command if spec.prepare else ''}")
            prepare.run(spec, root, lambda line: events.line(name, line))
            events.message(f"[{name}] prepared")


# Past this many images one listing call beats one inspect per image.
INSPECT_AT_MOST = 300


def make_plan(hierarchy: Hierarchy, engine: Engine, sel: Selection,
              digests: dict[str, fingerprint.ContextDigest] | None = None) -> Plan:
    """Plan against the builds tagged X.Y.Z first (a few cheap inspects); only when something
    looks out of date, list every labelled image (a call whose cost grows with the engine)."""
    chosen, needed = planner.select(hierarchy, sel)
    names = hierarchy.sort(chosen | needed)
    digests = {} if digests is None else digests  # shared by every plan of this run
    if len(names) <= INSPECT_AT_MOST:
        refs = [f"{hierarchy.config.ref(n)}:{hierarchy[n].version}" for n in names]
        tagged = [info for info in engine.inspect_many(refs).values() if info is not None]
        plan = planner.plan(hierarchy, sel, tagged, digests)
        if not plan.to_build:
            return plan
    return planner.plan(hierarchy, sel, engine.images_with_label(fingerprint.LABEL), digests)


def build(
    hierarchy: Hierarchy,
    engine: Engine,
    sel: Selection,
    *,
    jobs: int = 1,
    fail_fast: bool = False,
    dry_run: bool = False,
    fmt: str = "table",
    verbose: bool = False,
    revision: str | None = None,
    before_tag: BeforeTag | None = None,
    pull: bool = True,
) -> int:
    events = report.make_events(json_mode=fmt == "json", verbose=verbose)
    try:
        chosen, needed = planner.select(hierarchy, sel)
        if not dry_run:
            run_prepares(hierarchy, chosen | needed, events)
        digests: dict[str, fingerprint.ContextDigest] = {}
        plan = make_plan(hierarchy, engine, sel, digests)
        if pull and plan.to_build and not dry_run:
            from bbc import remote

            reg, repo_of = remote.registry_for(hierarchy)
            plan = remote.pull_what_registry_has(hierarchy, engine, sel, reg, repo_of, events, plan, digests)
        for warning in plan.warnings:
            events.message(f"warning: {warning}")
        if dry_run:
            report.close(events)
            from bbc.commands.plan import show

            show(hierarchy, plan, fmt)
            return 0
        if not plan.to_build and fmt != "json" and not verbose:
            # the fast path: nothing to do is one line, not a table of 40 "up to date"
            results = executor.Executor(engine, hierarchy, _Quiet(), jobs=jobs).run(plan)
            report.close(events)
            print(f"all {len(results)} images up to date")
            return 0
        results = executor.Executor(
            engine, hierarchy, events, jobs=jobs, fail_fast=fail_fast, revision=revision, before_tag=before_tag,
        ).run(plan)
    finally:
        report.close(events)
    summarize(results, fmt)
    return 1 if any(r.status in (executor.FAILED, executor.SKIPPED) for r in results) else 0


def summarize(results: list[Result], fmt: str) -> None:
    if fmt == "json":
        report.dump_json([
            {"image": r.image, "version": r.version, "result": r.status, "seconds": round(r.seconds, 2),
             "size": r.size, "id": r.image_id, "tags": list(r.tags), "message": r.message}
            for r in results
        ])
        return
    rows = [(r.image, r.version, r.status, f"{r.seconds:.1f}s" if r.seconds else "-", report.human_size(r.size))
            for r in results]
    report.table(("image", "version", "result", "time", "size"), rows)
    failed = [r.image for r in results if r.status == executor.FAILED]
    if failed:
        print(f"failed: {', '.join(failed)}")


class _Quiet:
    def started(self, image: str, step: object) -> None: ...
    def line(self, image: str, text: str) -> None: ...
    def finished(self, result: object) -> None: ...
    def message(self, text: str) -> None: ...
