"""A thousand images (bench/gen.py's tree: 1 + 10 + 100 + 889) as pipelines each CI system
accepts: no GitLab pipeline over --max-jobs jobs or a job needing more than 50, no GitHub
matrix over 256 or workflow file of 500 KB, every image built once, after everything it builds
on, and the release job after all of them. The files also pass the systems' own checkers
(actionlint; SchemaStore's GitLab schema). The jobs are made up (no engine, no registry): what
is tested here is how they are cut; tests/commands/test_ci.py runs the cut pipelines."""

from __future__ import annotations

import graphlib
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbc.errors import BbcError
from bbc.release.ci import Job, Setup, github, gitlab, render
from tests.ci_checks import actionlint_ok, schema_ok

SETUP = Setup.of()


def thousand() -> list[Job]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        import gen
    finally:
        sys.path.pop(0)
    return [Job(n.name, "1.0.0", (n.parent,) if n.parent else (), "") for n in gen.tree(1000, 3, 10)]


def before(doc: dict[str, Any], job: str) -> set[str]:
    """Every job `job` waits for, directly or not."""
    seen: set[str] = set()
    todo = [job]
    while todo:
        for need in doc[todo.pop()].get("needs", []):
            name = need if isinstance(need, str) else need["job"]
            if name in doc and name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


@pytest.mark.parametrize("max_jobs", [200, 60])
def test_gitlab_child_pipelines_for_a_thousand_images(tmp_path: Path, max_jobs: int) -> None:
    found = thousand()
    files = gitlab.files(found, SETUP, max_jobs=max_jobs)
    top = files.pop("pipeline.yml")
    home: dict[str, str] = {}
    for name, doc in files.items():
        jobs = {k: v for k, v in doc.items() if k.startswith("build-")}
        assert 0 < len(jobs) <= max_jobs, name
        for key, job in jobs.items():
            assert len(job["needs"]) <= gitlab.MAX_NEEDS and key not in home
            home[key.removeprefix("build-")] = name
    assert sorted(home) == sorted(j.image for j in found)  # every image, once
    triggers = {k for k, v in top.items() if "trigger" in v}
    assert all(len(top[k]["needs"]) <= gitlab.MAX_NEEDS for k in triggers)
    trigger_of = {top[k]["trigger"]["include"][0]["artifact"].removeprefix("bbc-ci/"): k for k in triggers}
    for job in found:  # the parent is built first: in the same child with `needs:`, or in one triggered before
        if job.needs:
            child, parent = home[job.image], home[job.needs[0]]
            if child == parent:
                assert files[child][f"build-{job.image}"]["needs"] == [f"build-{job.needs[0]}"]
            else:
                assert trigger_of[parent] in before(top, trigger_of[child])
    assert set(top["release"].get("needs", triggers)) == triggers and top["release"]["stage"] == "release"
    assert top["stages"][-1] == "release"
    graphlib.TopologicalSorter({k: before(top, k) for k in triggers}).prepare()  # no cycle
    for name, text in render.texts("gitlab", found, {"pipeline.yml": top, **files}, "bbc-ci").items():
        (tmp_path / name).write_text(text)
    schema_ok("vendor.gitlab-ci", *sorted(tmp_path.glob("*.yml")))


def github_matrices(found: list[Job], max_jobs: int, tmp_path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The workflow bbc writes for `found` (under GitHub's size limit, passing actionlint and the
    schema) and image -> the matrix job building it: every image in exactly one matrix of at most
    `max_jobs` and GitHub's limit, each parent's job finished before its child's starts."""
    doc = github.workflow(found, SETUP, max_jobs=max_jobs)
    text = render.texts("github", found, {"bbc.yml": doc}, "bbc-ci")["bbc.yml"]
    assert len(text.encode()) < github.MAX_FILE
    jobs = doc["jobs"]
    home: dict[str, str] = {}
    for key, job in jobs.items():
        if key == "release":
            continue
        images = job["strategy"]["matrix"]["image"]
        assert 0 < len(images) <= min(max_jobs, github.MAX_MATRIX)
        home.update((image, key) for image in images)
    assert sorted(home) == sorted(j.image for j in found) and len(home) == len(found)
    for job in found:  # the parent's level has finished before the child's level starts
        if job.needs:
            assert home[job.needs[0]] in before(jobs, home[job.image])
    path = tmp_path / "bbc.yml"
    path.write_text(text)
    actionlint_ok(path)
    schema_ok("vendor.github-workflows", path)
    return doc, home


@pytest.mark.parametrize("max_jobs", [200, 30])
def test_github_matrices_for_a_thousand_images(tmp_path: Path, max_jobs: int) -> None:
    jobs = github_matrices(thousand(), max_jobs, tmp_path)[0]["jobs"]
    assert set(jobs["release"]["needs"]) == set(jobs) - {"release"}


def test_a_thousand_per_image_jobs_are_more_than_github_starts() -> None:
    """Why the matrices: the per-image layout of a thousand images is over 500 KB (with the
    pinned install line in every job), and bbc refuses to write a file GitHub would not start."""
    found = thousand()
    text = render.dump(github.workflow(found, SETUP, max_jobs=len(found)))
    with pytest.raises(BbcError, match="GitHub starts no workflow file over 500 kB"):
        github.check_size(text, len(found))
    github.check_size(render.dump(github.workflow(found, SETUP, max_jobs=200)), len(found))


def test_the_command_line_default_is_the_one_the_ci_package_names() -> None:
    from bbc.cli.build import ci_command
    from bbc.release import ci

    assert {p.name: p.default for p in ci_command.params}["max_jobs"] == ci.DEFAULT_MAX_JOBS


def two_platforms() -> list[Job]:
    """The thousand, each built for linux/amd64 and linux/arm64: a job per image and platform,
    each platform's build on its parent's build for the same platform (2,000 jobs)."""
    from dataclasses import replace

    from bbc.model.specs import CiSpec
    from bbc.release.ci import runners

    out = []
    for job in thousand():
        for arch in ("amd64", "arm64"):
            platform = f"linux/{arch}"
            out.append(replace(job, image=f"{job.image}@{arch}", needs=tuple(f"{n}@{arch}" for n in job.needs),
                               platform=platform, runs_on=runners.github(CiSpec(), platform),
                               tags=("arm64",) if arch == "arm64" else ()))
    return out


def test_github_matrices_run_each_platform_on_its_runner(tmp_path: Path) -> None:
    doc, home = github_matrices(two_platforms(), 200, tmp_path)  # each platform's parent before it
    jobs = doc["jobs"]
    for key in set(home.values()):
        arch = {image.partition("@")[2] for image in jobs[key]["strategy"]["matrix"]["image"]}
        assert jobs[key]["runs-on"] == {"amd64": "ubuntu-latest", "arm64": "ubuntu-24.04-arm"}[arch.pop()] and not arch
    assert "level-0-ubuntu-24-04-arm" in jobs and "level-3-ubuntu-latest-1" in jobs
    assert jobs["release"]["steps"][2]["run"].startswith("bbc release --no-test r r-1 ")  # each image once


def test_gitlab_child_pipelines_keep_each_platforms_runner_tags(tmp_path: Path) -> None:
    found = two_platforms()
    files = gitlab.files(found, SETUP, max_jobs=200)
    top = files.pop("pipeline.yml")
    seen = 0
    for doc in files.values():
        for key, job in doc.items():
            if key.startswith("build-"):
                seen += 1
                assert job.get("tags") == (["arm64"] if key.endswith("@arm64") else None), key
                assert all(n.rpartition("@")[2] == key.rpartition("@")[2] for n in job["needs"])
    assert seen == 2000
    assert top["release"]["script"][0].count(" r-1 ") == 1
    for name, text in render.texts("gitlab", found, {"pipeline.yml": top, **files}, "bbc-ci").items():
        (tmp_path / name).write_text(text)
    schema_ok("vendor.gitlab-ci", *sorted(tmp_path.glob("*.yml")))
