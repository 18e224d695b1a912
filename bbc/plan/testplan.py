"""The test steps of one image in the plan: the sandwich's builds (test layer, test image) and
the run of its own and inherited tests, with the key under which a pass is remembered.

A pass is recorded in `.bbc/tests/<image>.json` with its key; a later plan whose key is the
same reuses it ("passed before: same image, same tests") and needs no test image at all.
Failures and timeouts are never recorded. The key covers the release build (its ID and
fingerprint), every test image's fingerprint, and every test that applies: command, mounts
(the content of the mounted folders), expect checks, timeout, network, and the skips.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from bbc.plan import fingerprint, sandwich, testing
from bbc.model import labels
from bbc.adapters import state
from bbc.model.hierarchy import Hierarchy
from bbc.plan.kinds import Action
from bbc.plan.context import PlanContext
from bbc.plan.steps import Build, RunTest, Step, TestPart


def testable(hierarchy: Hierarchy, name: str) -> bool:
    return bool(testing.checks_for(hierarchy, name)[0])


def record_path(root: Path, image: str) -> Path:
    return state.bbc_dir(root) / "tests" / f"{image}.json"


def steps(p: PlanContext, name: str) -> list[Step]:
    """The sandwich parts of `name` (unless a recorded pass makes them unnecessary) and its
    run-test; its build (and the builds below) are planned already."""
    selected = name in p.chosen
    own = p.builds[name]
    parts = _parts(p, name, selected)
    known = own.action == Action.UP_TO_DATE and own.existing is not None and all(t.fingerprint for t in parts)
    key = run_key(p.hierarchy, name, own.existing.id, own.fingerprint or "",
                  [t.fingerprint for t in parts]) if known and own.existing else None
    record = state.read_json(record_path(p.root, name)) if key else None
    cached = bool(key and not p.scope.rerun and record and record.get("key") == key and record.get("passed"))
    names = [c.name for c in testing.checks_for(p.hierarchy, name)[0]]
    test_image = parts[-1].id if parts else own.id
    used = p.hierarchy.used(name)
    # issue 21: a used image's tests are its own; a change to it rebuilds this image, which reruns these
    aside = (f"not inherited from used images: {', '.join(used)}",) if used else ()
    run = RunTest(image=name, version=own.version, action=Action.CACHED if cached else Action.RUN,
                  reasons=(f"tests: {', '.join(names)}", *aside, _why_run(p, own, record, cached)),
                  needs=(own.id,) if cached else tuple(dict.fromkeys((own.id, test_image))), selected=selected,
                  key=key, test_image=test_image, release=own.id)
    return [run] if cached else [*parts, run]


def _parts(p: PlanContext, name: str, selected: bool) -> list[TestPart]:
    """The test layer and test image of `name`, each on the one below (the parent's or the
    image's release build, or scratch), reused when built already with this fingerprint."""
    recipe = sandwich.recipe(p.hierarchy, name)
    base = p.builds[recipe.base]
    parts: list[TestPart] = []
    below: Step = base
    below_fp, below_id = base.fingerprint, base.existing.id if base.existing else None
    for part in recipe.parts:
        scratch = part.arg is None
        if scratch:
            below_fp, below_id = None, None
        digest = p.digest(part.spec)
        external = p.external(part.spec, digest, part.arg)
        used = tuple((u.key, p.builds[u.image].fingerprint or "") for u in part.spec.uses)
        known = (scratch or below_fp) and all(fp for _, fp in used)
        fp = fingerprint.compute(part.spec, digest, below_fp, variant=part.variant,
                                 bases=[(f.ref, d) for f, d in external], uses=used) if known else ""
        repository, tag = sandwich.test_ref(p.hierarchy, name, part.suffix)
        ref = f"{repository}:{tag}"
        # Only the image carrying this test tag counts: the builder stages of a multi-stage
        # Dockerfile inherit the labels (fingerprint too) of the image they start from.
        current = p.index.by_tag.get(ref)
        reusable = (current is not None and fp and current.labels.get(labels.FINGERPRINT) == fp
                    and (scratch or (below_id is not None and current.labels.get(labels.PARENT_ID) == below_id)))
        step = TestPart(image=name, version=p.hierarchy[name].version,
                        action=Action.REUSE if reusable else Action.BUILD,
                        reasons=(part.what,) if reusable else (part.what, _why_part(current, fp, below)),
                        needs=tuple(dict.fromkeys(([] if scratch else [below.id]) + [
                            p.tagged_by[u.image] for u in part.spec.uses])),
                        selected=selected, variant=part.variant, part=part,
                        fingerprint=fp, ref=ref, existing=current if reusable else None,
                        below=None if scratch else below.id, bases=external)
        parts.append(step)
        below, below_fp, below_id = step, fp or None, current.id if reusable and current else None
    return parts


def _why_run(p: PlanContext, own: Build, record: dict[str, Any] | None, cached: bool) -> str:
    if cached:
        return "passed before: same image, same tests"
    if own.action != Action.UP_TO_DATE:
        return f"{own.image} is being built"
    if p.scope.rerun and record:
        return "--rerun"
    if record and not record.get("passed"):
        return "failed last time"
    return "not run on this image with these tests yet"


def _why_part(current: Any, fp: str, below: Step) -> str:
    if below.action not in (Action.UP_TO_DATE, Action.REUSE):
        return f"{below.kind} {below.image} is being built"
    if current is None:
        return "not built yet"
    return "changed"


def run_key(hierarchy: Hierarchy, name: str, image_id: str, fp: str, part_fps: list[str]) -> str:
    """The key a pass of `name`'s tests on the release build `image_id` is remembered under."""
    checks, skipped = testing.checks_for(hierarchy, name)
    payload = {
        "image": image_id,
        "fingerprint": fp,
        "parts": part_fps,
        "checks": [{
            "name": c.name,
            "command": list(c.command) if c.command else None,
            "expect": repr(c.expect),
            "timeout": c.timeout,
            "network": c.network,
            "mounts": [[m.target, _folder_digest(m.source)] for m in c.mounts],
        } for c in checks],
        "skipped": skipped,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _folder_digest(path: Path) -> str:
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if not path.exists():
        return "missing"
    return fingerprint.digest_context(path, "").digest


def remember(root: Path, image: str, key: str, *, passed: bool) -> None:
    """Record a pass under its key; a failure clears any recorded pass."""
    state.write_json(record_path(root, image), {"key": key, "passed": passed})


__all__ = ["testable", "steps", "run_key", "remember"]
