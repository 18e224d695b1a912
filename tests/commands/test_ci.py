"""`bbc ci`: the generated GitLab pipelines run for real by gitlab-ci-local (shell executor, the
project's engine and registry), child pipelines too, and the GitHub workflows checked by
actionlint and SchemaStore's schema.

gitlab-ci-local runs no `trigger:` job (its issue #94: a trigger job passes without doing
anything), so the tests play GitLab's part for a split pipeline: each child pipeline file runs
under gitlab-ci-local in the order the triggers' `needs:` give, the first failure stops it
(what `strategy: depend` makes GitLab do), then pipeline.yml itself runs (its release job)."""

from __future__ import annotations

import graphlib
import importlib.metadata
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import bbc as bbc_package
from tests.ci_checks import VENV_BIN, actionlint_ok, gitlab_ci_local, schema_ok
from tests.cli import bbc, git, ok
from tests.helpers import remove_images, tiny_hierarchy
from tests.test_platforms import emulated  # noqa: F401  (a fixture: QEMU for arm64 here)

pytestmark = pytest.mark.docker
INSTALL = ("--install-command", f"export PATH={VENV_BIN}:$PATH")
PINNED = f"python3 -m pip install {bbc_package.DISTRIBUTION}=={bbc_package.__version__}"


@pytest.fixture()
def project(tmp_path: Path, docker_client: Any, registry_addr: str) -> Iterator[tuple[Path, str]]:
    prefix = f"{registry_addr}/ci{uuid.uuid4().hex[:6]}"
    root = tmp_path / "p"
    tiny_hierarchy(root, registry=prefix)
    git(root, "init", "-q")
    try:
        yield root, prefix
    finally:
        remove_images(docker_client, prefix)


def commit(root: Path) -> None:
    git(root, "add", "-A")
    git(root, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qm", "tree")


def run_pipeline(root: Path, pipeline: str) -> Any:
    (root / ".gitlab-ci.yml").write_text(pipeline)
    schema_ok("vendor.gitlab-ci", root / ".gitlab-ci.yml")
    commit(root)
    return gitlab_ci_local(root, ".gitlab-ci.yml")


def released(prefix: str, image: str) -> list[str]:
    """The release tags of `image`, after checking its X.Y.Z's SBOM was published beside it."""
    from bbc.adapters.registry.client import Registry

    host, _, path = f"{prefix}/{image}".partition("/")
    reg = Registry(host)
    tags = reg.tags(path)
    versions = [t for t in tags if t.count(".") == 2 and not t.startswith("sha256-")]
    for version in versions:
        manifest = reg.manifest(path, version)
        # the SBOM a referrer of the image, listed at the referrers tag schema's tag
        assert manifest is not None and manifest.digest.replace(":", "-") in tags, tags
    return [t for t in tags if not t.startswith(("candidate-", "sha256-"))]


def test_the_gitlab_pipeline_builds_tests_and_releases_what_bbc_build_would(project: tuple[Path, str]) -> None:
    root, prefix = project
    text = ok(bbc(root, "ci", "gitlab", *INSTALL)).out
    doc = yaml.safe_load(text)
    assert [k for k in doc if k.startswith("build-")] == ["build-base", "build-mid", "build-a1", "build-a2",
                                                           "build-b1"]
    assert doc["build-a1"]["needs"] == ["build-mid"] and doc["build-base"]["needs"] == []
    assert doc["release"]["needs"] == ["build-base", "build-mid", "build-a1", "build-a2", "build-b1"]
    assert "DOCKER_AUTH_CONFIG" in doc["default"]["before_script"][0]  # credentials only as a variable

    run = run_pipeline(root, text)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    for job in ("build-base", "build-mid", "build-a1", "build-a2", "build-b1", "release"):
        assert f"PASS  {job}" in run.stdout, run.stdout[-4000:]
    pages = list((root / ".gitlab-ci-local").rglob("bbc-report.html"))  # the release job's artifact
    assert pages and 'id="node-a1"' in pages[0].read_text(), run.stdout[-4000:]
    # the same fingerprints as bbc build: nothing left to build here, everything released
    assert "all 5 images up to date" in ok(bbc(root, "build")).out
    assert sorted(released(prefix, "a1")) == ["0", "0.1", "0.1.0", "latest"]
    # now the registry holds everything: an empty plan is one no-op job
    empty = yaml.safe_load(ok(bbc(root, "ci", "gitlab")).out)
    assert [k for k in empty if k not in ("stages", "default")] == ["bbc-noop"]
    again = run_pipeline(root, ok(bbc(root, "ci", "gitlab")).out)
    assert again.returncode == 0 and "PASS  bbc-noop" in again.stdout, again.stdout[-2000:]


def test_a_failing_job_keeps_the_release_job_from_promoting_anything(project: tuple[Path, str]) -> None:
    root, prefix = project
    config = root / "bbc.yaml"
    text = config.read_text()
    assert "  a1:\n    path: images/app/a1\n" in text
    config.write_text(text.replace("  a1:\n    path: images/app/a1\n",  # a1's own test fails
                                   '  a1:\n    path: images/app/a1\n    test: {command: ["sh", "-c", "exit 3"]}\n'))
    run = run_pipeline(root, ok(bbc(root, "ci", "gitlab", *INSTALL)).out)
    assert run.returncode != 0
    assert "FAIL  build-a1" in run.stdout and "PASS  build-mid" in run.stdout, run.stdout[-4000:]
    assert "PASS  release" not in run.stdout
    for image in ("base", "mid", "a1", "a2", "b1"):
        assert released(prefix, image) == [], image  # candidates at most, no release tag


def test_the_github_workflow_has_the_same_jobs_and_edges(project: tuple[Path, str]) -> None:
    root, _ = project
    text = ok(bbc(root, "ci", "github", "--install", "git+https://example.com/acme/bbc.git@v1")).out
    path = root / "bbc.yml"
    path.write_text(text)
    schema_ok("vendor.github-workflows", path)
    actionlint_ok(path)
    jobs = yaml.safe_load(text)["jobs"]
    assert {k: v.get("needs", []) for k, v in jobs.items()} == {
        "build-base": [], "build-mid": ["build-base"], "build-a1": ["build-mid"], "build-a2": ["build-mid"],
        "build-b1": ["build-base"],
        "release": ["build-base", "build-mid", "build-a1", "build-a2", "build-b1"]}
    steps = jobs["build-a1"]["steps"]
    assert steps[1]["run"].endswith("\npython3 -m pip install git+https://example.com/acme/bbc.git@v1")
    assert steps[2]["run"] == "bbc release a1 --candidates"
    assert jobs["release"]["env"] == {"DOCKER_AUTH_CONFIG": "${{ secrets.DOCKER_AUTH_CONFIG }}"}
    # --changed: the changed image, what builds on it, and what it needs that the registry lacks
    commit(root)
    (root / "images/intermediate/mid/data.txt").write_text("mid changed\n")
    changed = yaml.safe_load(ok(bbc(root, "ci", "github", "--changed")).out)["jobs"]
    assert sorted(changed) == ["build-a1", "build-a2", "build-base", "build-mid", "release"]


def install_lines(doc: dict[str, Any], kind: str) -> list[str]:
    """Every line of a pipeline file that puts bbc on a runner."""
    if kind == "gitlab":
        lines = list(doc.get("default", {}).get("before_script", []))
        lines += [line for job in doc.values() if isinstance(job, dict) for line in job.get("before_script", [])]
    else:
        lines = [step["run"] for job in doc["jobs"].values() for step in job["steps"]
                 if step.get("name") == "install bbc"]
    return [line for text in lines for line in text.splitlines() if "install" in line and "AUTH" not in line]


def test_every_generated_pipeline_installs_this_bbc_by_its_own_name(project: tuple[Path, str]) -> None:
    root, _ = project
    # the name pinned is the one this bbc is installed under, at the version it reports
    assert importlib.metadata.version(bbc_package.DISTRIBUTION) == bbc_package.__version__
    assert f"version {bbc_package.__version__}" in ok(bbc(root, "--version")).out
    written = {}
    for kind in ("gitlab", "github"):
        for max_jobs in ("200", "2"):  # one file, and split: child pipelines / per-level matrices
            out = root / f"out-{kind}-{max_jobs}"
            ok(bbc(root, "ci", kind, "--max-jobs", max_jobs, "-o", out.name))
            written[(kind, max_jobs)] = sorted(out.glob("*.yml"))
    assert len(written[("gitlab", "2")]) == 4  # pipeline.yml + levels 0, 1, 2 (2 images each at most)
    for (kind, _), paths in written.items():
        for path in paths:
            doc = yaml.safe_load(path.read_text())
            lines = install_lines(doc, kind)
            assert lines and set(lines) == {PINNED}, (path, lines)
            assert "pip install bbc" not in path.read_text()


def bench_gen() -> Any:
    """bench/gen.py, the generator of the benchmark trees."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        import gen
    finally:
        sys.path.pop(0)
    return gen


def trigger_order(parent: dict[str, Any]) -> list[tuple[str, str]]:
    """(trigger job, child file) in an order the triggers' needs allow."""
    triggers = {k: v for k, v in parent.items() if isinstance(v, dict) and "trigger" in v}
    for job in triggers.values():
        assert job["trigger"]["strategy"] == "depend"
    order = graphlib.TopologicalSorter({k: [n for n in v["needs"] if n in triggers] for k, v in triggers.items()})
    return [(k, triggers[k]["trigger"]["include"][0]["artifact"]) for k in order.static_order()]


def test_forty_images_as_child_pipelines_run_for_real(tmp_path: Path, docker_client: Any, registry_addr: str) -> None:
    prefix = f"{registry_addr}/cib{uuid.uuid4().hex[:6]}"
    root = tmp_path / "t40"
    gen = bench_gen()
    nodes = gen.tree(40, 3, 3)
    gen.write(root, nodes, tiny=False, registry=prefix, salt=uuid.uuid4().hex)
    git(root, "init", "-q")
    try:
        ok(bbc(root, "ci", "gitlab", "--max-jobs", "12", "-o", "bbc-ci", *INSTALL))
        files = sorted((root / "bbc-ci").glob("*.yml"))
        schema_ok("vendor.gitlab-ci", *files)
        parent = yaml.safe_load((root / "bbc-ci/pipeline.yml").read_text())
        order = trigger_order(parent)
        assert len(order) == 5 == len(files) - 1
        assert sorted(parent["release"]["needs"]) == sorted(job for job, _ in order)
        children = {artifact: yaml.safe_load((root / artifact).read_text()) for _, artifact in order}
        built = [k.removeprefix("build-") for doc in children.values() for k in doc if k.startswith("build-")]
        assert sorted(built) == sorted(n.name for n in nodes)  # each image once, in one child
        assert all(sum(k.startswith("build-") for k in doc) <= 12 for doc in children.values())
        commit(root)
        for job, artifact in order:
            run = gitlab_ci_local(root, artifact)
            assert run.returncode == 0, (job, run.stdout[-4000:] + run.stderr[-2000:])
            assert run.stdout.count("PASS  build-") == sum(k.startswith("build-") for k in children[artifact])
        run = gitlab_ci_local(root, "bbc-ci/pipeline.yml")
        assert run.returncode == 0 and "PASS  release" in run.stdout, run.stdout[-4000:] + run.stderr[-2000:]
        assert "all 40 images up to date" in ok(bbc(root, "build")).out  # the same fingerprints
        assert sorted(released(prefix, "r-3-3-3")) == ["1", "1.0", "1.0.0", "latest"]
    finally:
        remove_images(docker_client, prefix)


RUNNERS = "ci:\n  runners:\n    linux/arm64: {github: ubuntu-24.04-arm, gitlab: [arm64]}\n"


@pytest.fixture()
def two_platforms(tmp_path: Path, docker_client: Any, registry_addr: str, emulated: None) -> Iterator[tuple[Path, str]]:
    """base and app for linux/amd64 and linux/arm64 (arm64 under QEMU here), arm64 runners named."""
    from tests.test_platforms import two_platform_hierarchy

    prefix = f"{registry_addr}/cip{uuid.uuid4().hex[:6]}"
    root = tmp_path / "p"
    config = two_platform_hierarchy(root, prefix)
    config.write_text(config.read_text() + RUNNERS)
    git(root, "init", "-q")
    try:
        yield root, prefix
    finally:
        remove_images(docker_client, prefix)


def test_a_gitlab_job_per_image_and_platform_joined_into_one_index_run_for_real(
        two_platforms: tuple[Path, str]) -> None:
    from bbc.adapters.registry.client import OCI_INDEX, Registry

    root, prefix = two_platforms
    text = ok(bbc(root, "ci", "gitlab", *INSTALL)).out
    doc = yaml.safe_load(text)
    jobs = {k: v for k, v in doc.items() if k.startswith("build-")}
    assert {k: (v.get("tags"), v["needs"], v["script"]) for k, v in jobs.items()} == {
        "build-base@amd64": (None, [], ["bbc release base@amd64 --candidates"]),
        "build-base@arm64": (["arm64"], [], ["bbc release base@arm64 --candidates"]),
        "build-app@amd64": (None, ["build-base@amd64"], ["bbc release app@amd64 --candidates"]),
        "build-app@arm64": (["arm64"], ["build-base@arm64"], ["bbc release app@arm64 --candidates"])}
    assert doc["release"]["script"][0] == "bbc release --no-test base app"  # joins each image's platforms

    run = run_pipeline(root, text)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    for job in (*jobs, "release"):
        assert f"PASS  {job}" in run.stdout, run.stdout[-4000:]
    host, _, path = f"{prefix}/app".partition("/")
    index = Registry(host).manifest(path, "0.1.0")
    assert index is not None and index.media_type == OCI_INDEX
    assert sorted(m["platform"]["architecture"] for m in index.json()["manifests"]) == ["amd64", "arm64"]
    tags = Registry(host).tags(path)
    assert sorted(t for t in tags if not t.startswith(("candidate-", "sha256-"))) == ["0", "0.1", "0.1.0", "latest"]
    assert ok(bbc(root, "build")).out.strip() == "all 4 images up to date"  # the same fingerprints


def test_the_github_workflow_runs_each_platform_on_its_runner(two_platforms: tuple[Path, str]) -> None:
    root, _ = two_platforms
    path = root / "bbc.yml"
    path.write_text(ok(bbc(root, "ci", "github")).out)
    schema_ok("vendor.github-workflows", path)
    actionlint_ok(path)
    jobs = yaml.safe_load(path.read_text())["jobs"]
    assert {k: (v["runs-on"], v.get("needs", [])) for k, v in jobs.items() if k != "release"} == {
        "build-base__amd64": ("ubuntu-latest", []), "build-base__arm64": ("ubuntu-24.04-arm", []),
        "build-app__amd64": ("ubuntu-latest", ["build-base__amd64"]),
        "build-app__arm64": ("ubuntu-24.04-arm", ["build-base__arm64"])}
    assert jobs["build-app__arm64"]["steps"][2]["run"] == "bbc release app@arm64 --candidates"
    assert jobs["release"]["steps"][2]["run"].startswith("bbc release --no-test base app\n")
    # runners as configured: several labels are a list
    config = root / "bbc.yaml"
    config.write_text(config.read_text().replace("github: ubuntu-24.04-arm", "github: [self-hosted, arm64]"))
    again = yaml.safe_load(ok(bbc(root, "ci", "github")).out)["jobs"]
    assert again["build-base__arm64"]["runs-on"] == ["self-hosted", "arm64"]
    # split per level past --max-jobs: a matrix per level and runner
    split = yaml.safe_load(ok(bbc(root, "ci", "github", "--max-jobs", "1")).out)["jobs"]
    assert {k: (v["runs-on"], v["strategy"]["matrix"]["image"]) for k, v in split.items() if k != "release"} == {
        "level-0-ubuntu-latest": ("ubuntu-latest", ["base@amd64"]),
        "level-0-self-hosted-arm64": (["self-hosted", "arm64"], ["base@arm64"]),
        "level-1-ubuntu-latest": ("ubuntu-latest", ["app@amd64"]),
        "level-1-self-hosted-arm64": (["self-hosted", "arm64"], ["app@arm64"])}
