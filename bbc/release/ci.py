"""CI pipelines from the plan (`bbc ci gitlab|github`): one job per image the registry lacks,
`needs:` from the hierarchy, and one release job that promotes everything at once.

Each image job runs `bbc release IMAGE --candidates`: its parent comes from the registry by
fingerprint (the parent's job pushed it under its candidate tag), the image is built and
tested, and pushed under its own candidate tag; nothing is promoted. The release job needs every
image job, so a failed job keeps it from running: all or nothing, as `bbc release` is. The plan
is made as a fresh runner sees it (an empty engine, the registry asked), never from what this
machine happens to hold.

Credentials appear only as CI variables: `DOCKER_AUTH_CONFIG` (GitLab's own name for a Docker
config JSON) is written to `~/.docker/config.json`, where bbc reads registry credentials.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bbc.plan import bases, planner, remote
from bbc.plan import steps
from bbc.adapters.engine import Engine
from bbc.model.hierarchy import Hierarchy
from bbc.plan.kinds import Action
from bbc.plan.steps import Scope, Selection

DEFAULT_INSTALL = ("python3 -m pip install bbc",)
AUTH = ('if [ -n "${DOCKER_AUTH_CONFIG:-}" ]; then mkdir -p "$HOME/.docker" && '
        'printf "%s" "$DOCKER_AUTH_CONFIG" > "$HOME/.docker/config.json"; fi')
# GitLab refuses a child pipeline without jobs: an empty plan still gets one
NOOP = "bbc: nothing to build"
REPORT = "bbc-report.html"  # the release job's artifact: `bbc report`'s page (issue 25)


@dataclass(frozen=True)
class Job:
    image: str
    version: str
    needs: tuple[str, ...]  # images of this pipeline it builds on
    why: str


def jobs(hierarchy: Hierarchy, sel: Selection, engine: Engine | None = None) -> list[Job]:
    """The images a fresh runner would have to build (parents first): not held by the registry
    under their version or candidate tag with this exact fingerprint."""
    reg, repo_of = remote.registry_for(hierarchy)
    scope = Scope(pull=remote.holds(reg, repo_of), bases=bases.Resolver(engine, hierarchy.config.mirrors).digest)
    plan = planner.plan(hierarchy, sel, steps.Index.of([]), scope)
    building = {b.image: b for b in plan.builds if b.action == Action.BUILD}
    out = []
    for name in hierarchy.sort(set(building)):
        parent = hierarchy[name].parent
        b = building[name]
        needs = tuple(n for n in hierarchy.needs(name) if n in building)  # the parent and used images (issue 21)
        why = (f"parent {parent} is built in this pipeline" if parent in needs
               else f"{', '.join(needs)} built in this pipeline" if needs
               else "the registry holds no build with its fingerprint")
        out.append(Job(name, b.version, needs, why))
    return out


def _job_id(image: str) -> str:
    return f"build-{image}"


def _github_id(image: str) -> str:
    """GitHub job ids take letters, digits, '-' and '_': an image name's dots become '_'."""
    return _job_id(image).replace(".", "_")


def gitlab(found: Sequence[Job], *, install: Sequence[str] = DEFAULT_INSTALL, config: str | None = None) -> dict[str, Any]:
    """A GitLab (child) pipeline: a job per image and the release job."""
    c = f" -c {config}" if config else ""
    before = [AUTH, *install]
    doc: dict[str, Any] = {"stages": ["build", "release"], "default": {"before_script": before}}
    if not found:
        doc["bbc-noop"] = {"stage": "build", "before_script": [], "script": [f'echo "{NOOP}"']}
        return doc
    for job in found:
        doc[_job_id(job.image)] = {
            "stage": "build",
            "needs": [_job_id(n) for n in job.needs],
            "script": [f"bbc{c} release {job.image} --candidates"],
        }
    doc["release"] = {
        "stage": "release",
        "needs": [_job_id(j.image) for j in found],
        "script": [f"bbc{c} release --no-test " + " ".join(j.image for j in found), f"bbc{c} report --html -o {REPORT}"],
        "artifacts": {"paths": [REPORT], "when": "always"},
    }
    return doc


def github(found: Sequence[Job], *, install: Sequence[str] = DEFAULT_INSTALL, config: str | None = None) -> dict[str, Any]:
    """A GitHub Actions workflow: the same jobs, `needs:` the same edges."""
    c = f" -c {config}" if config else ""
    env = {"DOCKER_AUTH_CONFIG": "${{ secrets.DOCKER_AUTH_CONFIG }}"}

    def steps(command: str) -> list[dict[str, Any]]:
        return [{"uses": "actions/checkout@v4"},
                {"name": "install bbc", "run": "\n".join([AUTH, *install])},
                {"name": "bbc", "run": command}]

    out: dict[str, Any] = {}
    if not found:
        out["bbc-noop"] = {"runs-on": "ubuntu-latest", "steps": [{"run": f'echo "{NOOP}"'}]}
    for job in found:
        out[_github_id(job.image)] = {
            "runs-on": "ubuntu-latest",
            **({"needs": [_github_id(n) for n in job.needs]} if job.needs else {}),
            "env": env,
            "steps": steps(f"bbc{c} release {job.image} --candidates"),
        }
    if found:
        out["release"] = {"runs-on": "ubuntu-latest", "needs": [_github_id(j.image) for j in found],
                          "env": env, "steps": steps(f"bbc{c} release --no-test " + " ".join(j.image for j in found)
                                                     + f"\nbbc{c} report --html -o {REPORT}")
                          + [{"uses": "actions/upload-artifact@v4", "with": {"name": "bbc-report", "path": REPORT}}]}
    return {"name": "bbc", "on": {"push": {"branches": ["main"]}, "workflow_dispatch": {}}, "jobs": out}
