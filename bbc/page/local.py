"""What this machine knows about each unit: the plan's verdict (up to date, must rebuild and
why), the local build X.Y.Z names, its size and own size from the engine's index, and the last
test result remembered in `.bbc/tests/`. One plan, made as `bbc status` makes it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bbc.adapters import state
from bbc.adapters.engine import Engine, ImageInfo
from bbc.inside import layers
from bbc.model import labels, refs
from bbc.model.hierarchy import Hierarchy
from bbc.page.model import LastTest
from bbc.plan import bases, testplan
from bbc.plan.kinds import Action
from bbc.plan.steps import Build, Plan, RunTest, Scope, Selection
from bbc.run import pipeline

UP = "up to date"
REBUILD = "must rebuild"
NOT_BUILT = "not built"


@dataclass(frozen=True)
class Local:
    build: str  # UP | REBUILD | NOT_BUILT
    why: tuple[str, ...]
    fingerprint: str | None
    info: ImageInfo | None  # the local build X.Y.Z names (the current one when up to date)
    own_size: int | None
    tests: LastTest
    base_moved: bool  # the plan rebuilds it because an external base's tag moved


def plan(hierarchy: Hierarchy, engine: Engine, *, resolve: Callable[[bases.Found], str],
         pull: Callable[[str, str, str], str | None] | None) -> Plan:
    """The plan of everything with its tests, external bases resolved by `resolve` (offline:
    never a registry) and, with `pull`, builds the registry holds counted as there."""
    return pipeline.make_plan(hierarchy, engine, Selection(), Scope(test=True, bases=resolve, pull=pull))


def offline_bases(root: Path, engine: Engine) -> Callable[[bases.Found], str]:
    """External bases without asking any registry: the pinned digest, else the one the last build
    was fingerprinted with (.bbc/state), else the engine's copy."""

    def digest(found: bases.Found) -> str:
        if found.pinned:
            return found.ref.rpartition("@")[2]
        recorded = (state.read_json(state.manifest_path(root, found.image)) or {}).get("bases") or {}
        if isinstance(recorded.get(found.ref), str):
            return str(recorded[found.ref])
        name, _, tag = found.ref.rpartition(":") if ":" in found.ref.rpartition("/")[2] else (found.ref, "", "latest")
        info = engine.inspect(f"{name}:{tag}")
        for entry in info.digests if info else ():
            if entry.partition("@")[0].endswith(name.rpartition("/")[2]):
                return entry.partition("@")[2]
        return "unknown"  # never built here: the plan says so

    return digest


def of_plan(hierarchy: Hierarchy, made: Plan) -> dict[str, Local]:
    """Every unit's local state, from one plan (hierarchy: the units)."""
    config = hierarchy.config
    by_id = {i.id: i for i in made.index.images}
    runs = {s.image: s for s in made.steps if isinstance(s, RunTest)}
    out: dict[str, Local] = {}
    for step in made.builds:
        tagged = step.existing or made.index.by_tag.get(refs.ref(config.ref(step.image), step.version, step.image))
        if tagged is not None:
            by_id.setdefault(tagged.id, tagged)
        why = tuple(r for r in step.reasons if r != "up to date")
        if step.action in (Action.UP_TO_DATE, Action.PULL):
            build = UP
        else:
            build = REBUILD if tagged is not None else NOT_BUILT
        parent = by_id.get(tagged.labels.get(labels.PARENT_ID, "")) if tagged else None
        out[step.image] = Local(
            build, why, step.fingerprint, tagged, _own_size(config.root, tagged, parent),
            _tests(config.root, step, runs.get(step.image)),
            any(r.startswith("base ") and " moved " in r for r in step.reasons))
    return out


def _own_size(root: Path, info: ImageInfo | None, parent: ImageInfo | None) -> int | None:
    """Its own layers' bytes, as the engine counts sizes: the image's size less its parent
    build's. An image that does not start from its parent's layers (one assembled FROM scratch)
    is all its own: the layers read at build time (.bbc/cache/contents) say so, else a size
    below the parent's does."""
    if info is None:
        return None
    if parent is None:
        return info.size if not info.labels.get(labels.PARENT_ID) else None
    content = layers.cached(root, info.id)
    below = layers.cached(root, parent.id) if content is not None else None
    if content is not None and below is not None:
        ids = [layer.diff_id for layer in content.layers]
        theirs = [layer.diff_id for layer in below.layers]
        if ids[:len(theirs)] != theirs:
            return info.size
    own = info.size - parent.size
    return own if own >= 0 else info.size


def _tests(root: Path, build: Build, run: RunTest | None) -> LastTest:
    if run is None:
        return LastTest("no tests")
    path = testplan.record_path(root, build.image)
    record = state.read_json(path)
    when = _mtime(path) if record is not None else None
    if run.action == Action.CACHED:
        return LastTest("passed", when, "on this build, with these tests")
    if record is None:
        return LastTest("not run", None, run.reasons[-1] if run.reasons else "")
    passed = bool(record.get("passed"))
    if run.key is not None and record.get("key") == run.key:
        return LastTest("passed" if passed else "failed", when, "on this build, with these tests")
    return LastTest(f"{'passed' if passed else 'failed'} on an earlier build", when,
                 "the build or its tests changed since" if build.action == Action.UP_TO_DATE else run.reasons[-1])


def _mtime(path: Path) -> str | None:
    try:
        stamp = os.stat(path).st_mtime
    except OSError:
        return None
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="seconds")
