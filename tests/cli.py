"""Run the real `bbc` process, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def bbc(cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 600) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "bbc.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def ok(run: Run, code: int = 0) -> Run:
    """The run ended with `code` (default success); show its output when not."""
    assert run.code == code, run.out + run.err
    return run


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout
