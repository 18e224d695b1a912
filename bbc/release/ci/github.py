"""GitHub Actions: the workflow `bbc ci github` writes.

Up to `max_jobs` images, a job per image with `needs:` its parent's job. More, and a job per
level (or part of a level, grouping.matrices) builds its images as a matrix: GitHub expands a
matrix into at most 256 jobs, and starts no workflow file over 500 KB, which a thousand
per-image jobs come close to. A level's images are independent of each other; each level
waits for the parts of the level above that hold its parents. The release job needs every
build job, so a failed image keeps anything from being promoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bbc.errors import BbcError
from bbc.release.ci import grouping, runners
from bbc.release.ci.jobs import Job
from bbc.release.ci.setup import NOOP, REPORT, Setup

MAX_MATRIX = 256  # jobs one matrix may expand into
MAX_FILE = 500_000  # bytes: GitHub starts no workflow from a bigger file
ENV = {"DOCKER_AUTH_CONFIG": "${{ secrets.DOCKER_AUTH_CONFIG }}"}
RUNNER = "ubuntu-latest"


def job_id(image: str) -> str:
    """GitHub job ids take letters, digits, '-' and '_': an image name's dots become '_', the
    '@' of one platform's job (`static@arm64`) '__' (image names never hold two in a row)."""
    return f"build-{image}".replace(".", "_").replace("@", "__")


def workflow(found: Sequence[Job], setup: Setup, *, max_jobs: int) -> dict[str, Any]:
    """The workflow: per-image jobs, or per-level matrices past `max_jobs` images."""
    jobs = _per_image(found, setup) if len(found) <= max_jobs else _per_level(found, setup, min(max_jobs, MAX_MATRIX))
    if found:
        jobs["release"] = {"runs-on": RUNNER, "needs": [k for k in jobs], "env": ENV,
                           "steps": _steps(setup, setup.release([j.image for j in found]) + "\n" + setup.report())
                           + [{"uses": "actions/upload-artifact@v4", "with": {"name": "bbc-report", "path": REPORT}}]}
    else:
        jobs["bbc-noop"] = {"runs-on": RUNNER, "steps": [{"run": f'echo "{NOOP}"'}]}
    return {"name": "bbc", "on": {"push": {"branches": ["main"]}, "workflow_dispatch": {}}, "jobs": jobs}


def check_size(text: str, images: int) -> None:
    """Refuse a workflow file GitHub would not start."""
    size = len(text.encode())
    if size >= MAX_FILE:
        raise BbcError(f"the workflow for {images} images would be {size // 1000} kB: GitHub starts no workflow "
                       f"file over {MAX_FILE // 1000} kB", tip="build fewer images per workflow (bbc ci github IMAGES...)")


def _steps(setup: Setup, command: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return [{"uses": "actions/checkout@v4"},
            {"name": "install bbc", "run": "\n".join(setup.before)},
            {"name": "bbc", **({"env": env} if env else {}), "run": command}]


def _per_image(found: Sequence[Job], setup: Setup) -> dict[str, Any]:
    # each platform's job on a runner of that platform (runners.py)
    return {job_id(j.image): {"runs-on": runners.runs_on(j.runs_on),
                              **({"needs": [job_id(n) for n in j.needs]} if j.needs else {}),
                              "env": ENV, "steps": _steps(setup, setup.bbc(f"release {j.image} --candidates"))}
            for j in found}


def _per_level(found: Sequence[Job], setup: Setup, size: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    by_image = {j.image: j for j in found}
    for g in grouping.matrices(found, size, runner=lambda job: " ".join(job.runs_on)):
        out[g.name] = {
            "name": f"{g.name}: ${{{{ matrix.image }}}}",
            "runs-on": runners.runs_on(by_image[g.images[0]].runs_on),  # one runner per group
            **({"needs": list(g.needs)} if g.needs else {}),
            # an image that fails does not cancel its level: the others' candidates still land,
            # and the next level (and the release) waits for the whole level anyway
            "strategy": {"fail-fast": False, "matrix": {"image": list(g.images)}},
            "env": ENV,
            # the image name through the environment, never pasted into the script
            "steps": _steps(setup, setup.bbc('release "$IMAGE" --candidates'), {"IMAGE": "${{ matrix.image }}"}),
        }
    return out
