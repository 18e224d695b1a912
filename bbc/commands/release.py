"""`bbc release`: build what is needed, test it, push, and only then promote — all steps of
the one plan.

- `X.Y.Z` is write-once: different content under an existing X.Y.Z is refused before anything
  is built; the same content is a no-op.
- All or nothing: every affected image is pushed under a candidate tag; the one promote step
  needs every build, test and push to have succeeded, so a failure anywhere (a registry that
  fails mid-run included) leaves every release tag as it was; re-running finishes the job.
- An image whose fingerprint the registry already holds is pulled, not rebuilt.
- `--candidates` stops before promotion: the builds, tests and candidate pushes of the images
  asked for (a CI job per image, `bbc ci`); a later `bbc release` promotes them all at once.
"""

from __future__ import annotations

from typing import Any

from bbc import executor, pipeline, report
from bbc.engine import Engine
from bbc.hierarchy import Hierarchy
from bbc.planner import Scope, Selection
from bbc.promote import Registry, Released


def release(
    hierarchy: Hierarchy,
    engine: Engine,
    sel: Selection,
    *,
    jobs: int = 1,
    test: bool = True,
    rerun: bool = False,
    fmt: str = "table",
    registry: Registry | None = None,
    image_lock: executor.ImageLock | None = None,
    candidates: bool = False,
    pool: list[executor.Slot] | None = None,
) -> int:
    events = report.make_events(json_mode=fmt == "json")
    try:
        plan, results = pipeline.execute(hierarchy, engine, sel, events, scope=Scope(
            test=test, release=True, rerun=rerun, promote=not candidates), jobs=jobs, registry=registry,
            image_lock=image_lock, pool=pool)
        if candidates:
            return _candidates(plan.builds, results, fmt, events)
        promoted = next((r for r in results if r.kind == "promote"), None)
        if promoted is None or not promoted.ok:
            failed = [r for r in results if r.status == executor.FAILED]
            events.message("release stopped: " + (", ".join(f"{r.image} ({r.kind})" for r in failed) or "promote")
                           + " failed; no release tag was moved (run `bbc release` again to finish)")
            first = {r.image: r for r in reversed(failed)}
            out = [Released(b.image, b.version, "not released",
                            message=(first[b.image].message.partition("\n")[0] if b.image in first
                                     else "release stopped")) for b in plan.builds]
            return _finish(out, fmt, 1)
    finally:
        report.close(events)
    return _finish(list(promoted.released), fmt, 0)


def _candidates(builds: Any, results: list[executor.Result], fmt: str, events: report.Events) -> int:
    """The outcome of `--candidates`: each image's candidate tag and digest, or why not."""
    pushed = {r.image: r for r in results if r.kind == "push-candidate" and r.ok}
    failed = {r.image: r for r in reversed(results) if r.status == executor.FAILED}
    out = []
    for b in builds:
        if b.image in pushed:
            r = pushed[b.image]
            out.append(Released(b.image, b.version, "candidate pushed", r.digest, r.tags))
        else:
            why = failed[b.image].message.partition("\n")[0] if b.image in failed else "not pushed"
            out.append(Released(b.image, b.version, "not pushed", message=why))
    if failed:
        events.message("candidates stopped: " + ", ".join(f"{r.image} ({r.kind})" for r in failed.values())
                       + " failed; no release tag was moved")
    return _finish(out, fmt, 1 if failed or len(pushed) < len(out) else 0)


def _finish(results: list[Released], fmt: str, code: int) -> int:
    if fmt == "json":
        report.dump_json([{"image": r.image, "version": r.version, "result": r.status, "digest": r.digest,
                           "tags": list(r.tags), "message": r.message} for r in results])
    else:
        report.table(("image", "version", "result", "digest", "tags"),
                     [(r.image, r.version, r.status, r.digest[:19] or "-", ", ".join(r.tags) or "-") for r in results])
    return code
