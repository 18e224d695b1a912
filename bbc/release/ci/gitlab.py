"""GitLab: the pipeline `bbc ci gitlab` writes, as one file or as child pipelines.

Up to `max_jobs` images, one pipeline (`pipeline.yml`): a job per image with `needs:` its
parent's job, and a release job after them. More, and `pipeline.yml` becomes the parent of
child pipelines (grouping.bands: whole levels, or parts of a big one), each triggered with
`strategy: depend`, so a trigger fails when anything in its child does; the release job runs
only after every trigger passed.

GitLab includes a child pipeline from an artifact of a job of the *same* pipeline, while the
files come from the job that ran `bbc ci` (`from_job`) in the pipeline above: `bbc-files`
takes them from there (`needs: pipeline: $PARENT_PIPELINE_ID`, which the trigger of
pipeline.yml passes) and keeps them as its own artifact. Two levels of child pipelines are
GitLab's most: the user's pipeline, pipeline.yml, the groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bbc.errors import BbcError
from bbc.release.ci import grouping
from bbc.release.ci.jobs import Job
from bbc.release.ci.render import TOP
from bbc.release.ci.setup import NOOP, REPORT, Setup

# GitLab's default for how many jobs one job may list in `needs:` (ci_max_needs; GitLab.com too)
MAX_NEEDS = 50
FILES_JOB = "bbc-files"


def job_id(image: str) -> str:
    return f"build-{image}"


def files(found: Sequence[Job], setup: Setup, *, max_jobs: int, folder: str = "bbc-ci",
          from_job: str = "bbc-ci") -> dict[str, dict[str, Any]]:
    """File name (inside `folder`) -> pipeline; `pipeline.yml` is the one to trigger."""
    if len(found) <= max_jobs:
        return {TOP: single(found, setup)}
    groups = grouping.bands(found, max_jobs)
    out = {f"{g.name}.yml": child(found, g, setup) for g in groups}
    out[TOP] = parent(found, groups, setup, folder, from_job)
    return out


def single(found: Sequence[Job], setup: Setup) -> dict[str, Any]:
    """One pipeline: a job per image and the release job."""
    doc: dict[str, Any] = {"stages": ["build", "release"], "default": {"before_script": setup.before}}
    if not found:
        doc["bbc-noop"] = {"stage": "build", "before_script": [], "script": [f'echo "{NOOP}"']}
        return doc
    doc.update(_build_jobs(found, setup))
    doc["release"] = _release(found, [job_id(j.image) for j in found], setup)
    return doc


def child(found: Sequence[Job], group: grouping.Group, setup: Setup) -> dict[str, Any]:
    """A group's child pipeline: its images' jobs, `needs:` within the group (what it needs
    from other groups was built before its trigger started)."""
    mine = set(group.images)
    jobs = [replace(j, needs=tuple(n for n in j.needs if n in mine)) for j in found if j.image in mine]
    return {"stages": ["build"], "default": {"before_script": setup.before}, **_build_jobs(jobs, setup)}


def parent(found: Sequence[Job], groups: Sequence[grouping.Group], setup: Setup, folder: str,
           from_job: str) -> dict[str, Any]:
    """pipeline.yml above the groups: the files job, a trigger per group, the release job."""
    # no `default:` here: only the release job runs bbc (gitlab-ci-local 4.55 would also give
    # a default before_script to the trigger jobs, and fail on them)
    doc: dict[str, Any] = {"stages": ["files", "build", "release"]}
    doc[FILES_JOB] = {
        "stage": "files",
        "needs": [{"pipeline": "$PARENT_PIPELINE_ID", "job": from_job}],
        "script": [f"ls -l {folder}"],
        "artifacts": {"paths": [f"{folder}/"]},
    }
    for g in groups:
        needs = [FILES_JOB, *(_trigger_id(n) for n in g.needs)]
        if len(needs) > MAX_NEEDS:
            raise BbcError(f"bbc ci gitlab: child pipeline {g.name} would wait for {len(needs)} others "
                           f"(GitLab allows {MAX_NEEDS})", tip="pass a larger --max-jobs")
        doc[_trigger_id(g.name)] = {
            "stage": "build",
            "needs": needs,
            "trigger": {"include": [{"artifact": f"{folder}/{g.name}.yml", "job": FILES_JOB}], "strategy": "depend"},
        }
    doc["release"] = {**_release(found, [_trigger_id(g.name) for g in groups], setup), "before_script": setup.before}
    return doc


def _trigger_id(group: str) -> str:
    return f"bbc-{group}"


def _build_jobs(found: Sequence[Job], setup: Setup) -> dict[str, Any]:
    # a platform's job on runners of that platform (`tags:`, from bbc.yaml's ci.runners)
    return {job_id(j.image): {"stage": "build", **({"tags": list(j.tags)} if j.tags else {}),
                              "needs": [job_id(n) for n in j.needs],
                              "script": [setup.bbc(f"release {j.image} --candidates")]} for j in found}


def _release(found: Sequence[Job], after: list[str], setup: Setup) -> dict[str, Any]:
    # past GitLab's needs limit the stage order alone holds it back: a job of a later stage
    # starts only when every job of the earlier ones passed
    return {"stage": "release", **({"needs": after} if len(after) <= MAX_NEEDS else {}),
            "script": [setup.release([j.image for j in found]), setup.report()],
            "artifacts": {"paths": [REPORT], "when": "always"}}
