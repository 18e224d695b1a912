"""`bbc plan`: what a build would do for each image, and why."""

from __future__ import annotations

import json
import sys

from bbc import report
from bbc.commands.build import make_plan
from bbc.engine import Engine
from bbc.hierarchy import Hierarchy
from bbc.planner import Plan, Selection


def plan(hierarchy: Hierarchy, engine: Engine, sel: Selection, *, fmt: str = "table") -> int:
    show(hierarchy, make_plan(hierarchy, engine, sel), fmt)
    return 0


def show(hierarchy: Hierarchy, plan: Plan, fmt: str) -> None:
    config = hierarchy.config
    if fmt == "json":
        steps = [
            {
                "image": s.image,
                "ref": f"{config.ref(s.image)}:{s.version}",
                "version": s.version,
                "kind": hierarchy.kind(s.image),
                "parent": hierarchy.parent(s.image),
                "action": s.action,
                "reasons": list(s.reasons),
                "fingerprint": s.fingerprint,
                "selected": s.selected,
            }
            for s in plan.steps
        ]
        # One step per line, each encoded by json's C encoder (indent= would use the
        # pure-Python one: 0.4 s for 10,000 steps).
        head = json.dumps({"registry": config.registry, "warnings": list(plan.warnings)})[:-1]
        body = ",\n  ".join(json.dumps(step) for step in steps)
        sys.stdout.write(f'{head}, "steps": [\n  {body}\n]}}\n')
        return
    for warning in plan.warnings:
        print(f"warning: {warning}")
    rows = [(s.image, s.version, s.action, "; ".join(s.reasons)) for s in plan.steps]
    report.table(("image", "version", "action", "why"), rows)
    n = len(plan.to_build)
    print(f"{n} to build, {len(plan.steps) - n} up to date")
