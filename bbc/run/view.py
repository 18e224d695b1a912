"""Showing a Plan: a table of what each step will do and why, or JSON for CI fan-out."""

from __future__ import annotations

import json
import sys

from bbc.plan import steps as kinds
from bbc.plan.kinds import Action
from bbc.model import platforms, refs
from bbc.run import report
from bbc.model.hierarchy import Hierarchy



def show(hierarchy: Hierarchy, plan: kinds.Plan, fmt: str) -> None:
    hierarchy = platforms.expand(hierarchy)  # the plan's steps are per platform
    config = hierarchy.config
    only_builds = all(isinstance(s, (kinds.Build, kinds.Prepare)) for s in plan.steps)
    if fmt == "json":
        steps = []
        for s in plan.steps:
            step = {
                "id": s.id,
                "kind": s.kind,
                "image": s.image,
                "version": s.version,
                "action": s.action,
                "reasons": list(s.reasons),
                "needs": list(s.needs),
                "selected": s.selected,
            }
            if isinstance(s, kinds.Build):
                step.update({"ref": refs.ref(config.ref(s.image), s.version, s.image), "image_kind": hierarchy.kind(s.image),
                             "parent": hierarchy.parent(s.image),
                             "uses": {u.key: u.image for u in hierarchy[s.image].uses}, "fingerprint": s.fingerprint})
            elif isinstance(s, (kinds.TestPart, kinds.Push)):
                step["fingerprint"] = s.fingerprint
            elif isinstance(s, kinds.RunTest):
                step["reused"] = s.action == Action.CACHED
            steps.append(step)
        # One step per line, each encoded by json's C encoder (indent= would use the
        # pure-Python one: 0.4 s for 10,000 steps).
        head = json.dumps({"registry": config.registry, "warnings": list(plan.warnings)})[:-1]
        body = ",\n  ".join(json.dumps(step) for step in steps)
        sys.stdout.write(f'{head}, "steps": [\n  {body}\n]}}\n')
        return
    for warning in plan.warnings:
        print(f"warning: {warning}")
    if only_builds:
        rows = [(s.image, s.version, s.action, "; ".join(s.reasons)) for s in plan.steps
                if isinstance(s, kinds.Build)]
        report.table(("image", "version", "action", "why"), rows)
    else:
        report.table(("step", "action", "why"), [(s.id, s.action, "; ".join(s.reasons)) for s in plan.steps])
    n = len(plan.to_build)
    busy = len(plan.busy)
    print(f"{n} to build, {len(plan.builds) - n} up to date"
          + ("" if only_builds else f"; {busy} of {len(plan.steps)} steps to run"))
