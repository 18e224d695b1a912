"""What `bbc upgrade` and `bbc refresh` share: a commit that holds only their edits, a run of
the one plan for the images they touched, and the lines that say which versions moved."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bbc.adapters import git
from bbc.run import pipeline, report
from bbc.adapters.engine import Engine
from bbc.errors import BbcError
from bbc.model import versions
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Scope, Selection


def commit_ready(root: Path, files: Iterable[Path]) -> Any:
    """The hierarchy's repository, refusing when a file the commit will hold has other edits."""
    repo = git.open_repo(git.top_level(root))
    dirty = git.changed(repo, files)
    if dirty:
        raise BbcError(f"--commit: uncommitted changes in {', '.join(dirty)}; nothing was changed",
                       tip="commit or stash them first, so the commit holds only this change")
    return repo


def run(hierarchy: Hierarchy, engine: Engine, sel: Selection, scope: Scope, events: report.Events) -> bool:
    """Build (test, release) through the one plan and executor; True when every step succeeded."""
    _, results = pipeline.execute(hierarchy, engine, sel, events, scope=scope)
    return all(r.ok for r in results)


def show_bumps(hierarchy: Hierarchy, bumps: Mapping[str, tuple[str, str]], explicit: list[str],
               events: report.Events) -> None:
    events.message(f"versions ({hierarchy.config.path.name}):")
    for name, (old, new) in bumps.items():
        why = "" if name in explicit else \
            f" (follows {versions.followed(hierarchy, name, bumps)}, cascade: {hierarchy[name].cascade})"
        events.message(f"  {name}: {old} -> {new}{why}")


def bump_lines(bumps: Mapping[str, tuple[str, str]]) -> str:
    return "".join(f"- {name}: {old} -> {new}\n" for name, (old, new) in bumps.items())


def show_diff(events: report.Events, diff: str) -> None:
    """A unified diff (of a file bbc would change), said as it reads."""
    if diff:  # its lines end in newlines; the events add their own
        events.message(diff.removesuffix("\n"))
