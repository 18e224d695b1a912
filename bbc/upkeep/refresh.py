"""The maintenance window (`bbc refresh`): take upstream's updates, bump, build, test, commit.

What `bbc outdated` finds (bbc/upkeep/updates.py) - a pinned external base whose tag now
names another digest (the pin is rewritten), an unpinned base that moved since the last build,
a pinned Python package with a newer release within a level (the pins are rewritten), OS
package updates a `prepare.refresh` step takes - bumps the owning images (patch, cascading),
builds and tests the affected subgraph (release tags only after the tests pass), and with
`commit` makes one commit listing every change per image; `release` and `rollout` go on as
`bbc release` / `bbc rollout` would. Any failure restores every file refresh changed, names
the step, and changes nothing else; nothing is committed. What it says goes to the events.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bbc import config as config_mod
from bbc.adapters import lock
from bbc.adapters.engine import Engine
from bbc.config import yamledit
from bbc.errors import BbcError
from bbc.model import versions
from bbc.model.hierarchy import Hierarchy
from bbc.model.specs import Config
from bbc.plan.steps import Scope, Selection
from bbc.run import report
from bbc.upkeep import maintenance
from bbc.upkeep import rollout as rollouts
from bbc.upkeep import updates
from bbc.upkeep.updates import Change, restore


class Status(enum.StrEnum):
    NOTHING = "nothing"
    DRY_RUN = "dry-run"
    REFRESHED = "refreshed"
    FAILED = "failed"


@dataclass(frozen=True)
class RefreshRequest:
    """What `bbc refresh` was asked to do."""

    images: tuple[str, ...] = ()  # only these images (default: all)
    use_bases: bool = True  # external bases whose tag moved
    level: str | None = "minor"  # pinned Python packages newer within this level; None: not asked
    index_url: str | None = None  # the package index (default: pip's configuration)
    use_os: bool = False  # run `prepare.refresh` steps again where the built image has OS updates
    commit: bool = False
    release: bool = False
    rollout: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did: the exit code, and the one report a nightly job reads."""

    code: int
    status: Status
    changes: tuple[Change, ...] = ()
    bumps: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    failed_step: str | None = None
    message: str = ""
    commit: str | None = None
    error: BbcError | None = None  # what stopped it: a caller raises it, or reports it (JSON)

    def as_json(self) -> dict[str, Any]:
        return {"result": self.status.value, "failed_step": self.failed_step, "message": self.message,
                "changes": [{"image": c.image, "where": c.where, "what": c.what, "old": c.old, "new": c.new}
                            for c in self.changes],
                "bumps": {n: {"old": old, "new": new} for n, (old, new) in self.bumps.items()},
                "commit": self.commit}


def refresh(hierarchy: Hierarchy, connect: Callable[[], Engine], request: RefreshRequest,
            events: report.Events) -> RefreshResult:
    """bbc.yaml's lock is held from reading it to the commit: a bump meanwhile waits."""
    try:
        if request.dry_run:
            return _refresh(hierarchy, connect, request, events)
        with lock.config_lock(hierarchy.config.path):
            return _refresh(config_mod.load_hierarchy(hierarchy.config.path), connect, request, events)
    except BbcError as exc:
        return RefreshResult(1, Status.FAILED, failed_step="finding updates", message=exc.message, error=exc)


@dataclass(frozen=True)
class _Plan:
    """The changes found, the versions they bump, and each file's text before and after."""

    changes: tuple[Change, ...]
    owners: tuple[str, ...]
    bumps: dict[str, tuple[str, str]]
    texts: dict[Path, tuple[str, str]]

    def result(self, code: int, status: Status, *, failed_step: str | None = None, message: str = "",
               commit: str | None = None, error: BbcError | None = None) -> RefreshResult:
        return RefreshResult(code, status, self.changes, self.bumps, failed_step, message, commit, error)


def _refresh(hierarchy: Hierarchy, connect: Callable[[], Engine], request: RefreshRequest,
             events: report.Events) -> RefreshResult:
    hierarchy.check_names(request.images)
    outputs: dict[Path, bytes] = {}  # prepare outputs as they were, restored on failure (and after a dry run)
    images = request.images
    changes = (updates.base_changes(hierarchy, images) if request.use_bases else []) + (
        updates.package_changes(hierarchy, images, request.level, request.index_url) if request.level else [])
    if request.use_os:
        changes += updates.os_changes(hierarchy, images, connect(), outputs, events.message)
    if request.dry_run or not changes:
        restore(outputs)
    if not changes:
        events.message("nothing to refresh: every external base and pinned package is current")
        return RefreshResult(0, Status.NOTHING)
    owners = hierarchy.sort({c.image for c in changes})
    plan = _Plan(tuple(changes), tuple(owners), versions.plan_bump(hierarchy, {name: "patch" for name in owners}),
                 _edited(changes))
    events.message("changes:")
    for c in changes:
        events.message(f"  {c.image}: {c.what} {_short(c.old)} -> {_short(c.new)} ({c.where})")
    maintenance.show_bumps(hierarchy, plan.bumps, owners, events)
    events.message(f"will rebuild and test: {', '.join(hierarchy.sort(hierarchy.closure_down(owners)))}")
    if request.dry_run:
        _show_diffs(hierarchy.config, plan, events)
        return plan.result(0, Status.DRY_RUN)
    try:
        return _apply(hierarchy.config, plan, connect, request, events, outputs)
    except BbcError as exc:
        return plan.result(1, Status.FAILED, failed_step="finding updates", message=exc.message, error=exc)


def _show_diffs(config: Config, plan: _Plan, events: report.Events) -> None:
    import difflib

    for path, (old, new) in plan.texts.items():
        rel = path.relative_to(config.root).as_posix()
        maintenance.show_diff(events, "".join(difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"a/{rel}", tofile=f"b/{rel}")))
    maintenance.show_diff(events, yamledit.set_versions(config.path, _new_versions(plan), dry_run=True))
    events.message("dry run: nothing changed")


def _apply(config: Config, plan: _Plan, connect: Callable[[], Engine], request: RefreshRequest,
           events: report.Events, outputs: dict[Path, bytes]) -> RefreshResult:
    """Write the changes, build and test, commit: all of it, or every file as it was."""
    files = sorted(plan.texts) + [config.path]
    try:
        repo = maintenance.commit_ready(config.root, files) if request.commit else None
    except BbcError:
        restore(outputs)
        raise
    saved = {path: path.read_bytes() for path in files}
    owners = list(plan.owners)
    sha: str | None = None
    step = "writing the changes"
    try:
        for path, (_, new) in plan.texts.items():
            yamledit.replace_file(path, new)
        yamledit.set_versions(config.path, _new_versions(plan))
        step = "build and tests"
        fresh = config_mod.load_hierarchy(config.path)
        engine = connect()
        if not maintenance.run(fresh, engine, Selection(tuple(owners), True, None, False), Scope(gate=True), events):
            raise BbcError("a build or test failed (its log is named above)")
        if repo is not None:
            step = "the commit"
            from bbc.adapters import git

            sha = git.commit_paths(repo, files, _message(list(plan.changes), plan.bumps))
            events.message(f"committed {sha[:12]}: bbc refresh: {', '.join(owners)}")
    except BbcError as exc:
        for path, data in saved.items():
            if path.read_bytes() != data:
                yamledit.replace_file(path, data.decode("utf-8"))
        restore(outputs)
        events.message(f"refresh failed at {step}: {exc.message}; every file bbc changed is restored, nothing committed")
        return plan.result(1, Status.FAILED, failed_step=step, message=exc.message)
    events.message(f"refreshed {len(owners)} images: {', '.join(owners)}")
    done = plan.result(0, Status.REFRESHED, commit=sha)
    try:
        return _go_on(config, plan.owners, done, engine, request, events)
    except BbcError as exc:
        return replace(done, code=1, status=Status.FAILED, failed_step="finding updates", message=exc.message,
                       error=exc)


def _go_on(config: Config, owners: tuple[str, ...], done: RefreshResult, engine: Engine, request: RefreshRequest,
           events: report.Events) -> RefreshResult:
    """Release and roll out what was refreshed, when asked."""
    if not (request.release or request.rollout):
        return done
    fresh = config_mod.load_hierarchy(config.path)
    if request.release and not maintenance.run(fresh, engine, Selection(tuple(owners), True, None, False),
                                               Scope(test=True, release=True), events):
        events.message("release failed: no rollout")
        return replace(done, code=1, status=Status.FAILED, failed_step="the release", message="a release step failed")
    code = 0
    if request.rollout:
        for name in owners:
            code = max(code, rollouts.rollout(fresh, lambda: engine, name, events=events))
    return replace(done, code=code)


def _new_versions(plan: _Plan) -> dict[str, str]:
    return {n: new for n, (_, new) in plan.bumps.items()}


def _short(text: str) -> str:
    return text[:19] + "…" if text.startswith("sha256:") else text


def _edited(changes: list[Change]) -> dict[Path, tuple[str, str]]:
    """{file: (text now, text after every change to it)}, before anything is written."""
    out: dict[Path, tuple[str, str]] = {}
    # offsets are into the file as read: apply those edits from the end, before any by line
    for c in sorted(changes, key=lambda c: (c.start < 0, -c.start)):
        if c.edit is None or c.path is None:
            continue
        if c.path not in out:
            with c.path.open(encoding="utf-8", newline="") as f:
                text = f.read()
            out[c.path] = (text, text)
        old, new = out[c.path]
        out[c.path] = (old, c.edit(new))
    return out


def _message(changes: list[Change], bumps: Mapping[str, tuple[str, str]]) -> str:
    lines = [f"bbc refresh: {', '.join(sorted({c.image for c in changes}))}", ""]
    for c in changes:
        lines.append(f"- {c.image}: {c.what} {c.old} -> {c.new} ({c.where})")
    return "\n".join(lines) + "\n\n" + maintenance.bump_lines(bumps)
