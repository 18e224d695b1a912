"""The one error family. Domain code raises these; only cli.py turns them into exit codes."""

from __future__ import annotations

import difflib
from typing import Any


def did_you_mean(word: str, options: Any) -> str:
    """` (did you mean 'python'?)` for a near miss among `options`, else ""."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class BbcError(Exception):
    """A problem the user can act on: printed as one line (plus an optional tip), exit 1."""

    def __init__(self, message: str, *, tip: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.tip = tip

    def __str__(self) -> str:
        return self.message


class ConfigError(BbcError):
    """bbc.yaml is wrong. Carries every problem found, each already located."""

    def __init__(self, problems: list[str], *, tip: str | None = None) -> None:
        super().__init__("\n".join(problems), tip=tip)
        self.problems = list(problems)


class EngineError(BbcError):
    """The Docker engine (or registry) could not be reached or refused a request."""


class EngineLost(EngineError):
    """The engine stopped answering in the middle of a run: nothing more can be done on it."""


class BuildError(BbcError):
    """A docker build failed; `log_tail` holds its last lines."""

    def __init__(self, message: str, *, log_tail: list[str] | None = None) -> None:
        super().__init__(message)
        self.log_tail = list(log_tail or [])


class Interrupted(BbcError):
    """The run is being stopped (Ctrl-C): a step cut short by it reports nothing (its test did
    not fail, its build was not refused); the CLI says "interrupted" once."""


class GitError(BbcError):
    """A git question (changed files, revision) could not be answered."""


class TestFailure(BbcError):
    """An image's tests failed."""

    __test__ = False  # not a pytest class


class RegistryError(BbcError):
    """The registry refused or failed a request."""


class SigningError(BbcError):
    """A signing key could not be read or used, or a signature or attestation did not verify."""
