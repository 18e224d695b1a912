"""Image tests: which apply to an image, and running them.

The tests of an image are its own plus every ancestor's (test inheritance follows the one
DAG), each named after the image declaring it, minus the ones the image lists in its own
`test.skip`. A test is a command run in the test image and/or `expect` structure checks
read from outside the release image (no shell needed, and test tools cannot hide a
missing or extra file).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bbc.model import platforms
from bbc.config import Expect
from bbc.adapters.engine import Engine, Mount
from bbc.model.hierarchy import Hierarchy

TAIL_LINES = 12


class CheckStatus(StrEnum):
    """How one test (or all the tests of an image) came out."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # of a check: the image's test.skip; of an image: it has no tests


@dataclass(frozen=True)
class Check:
    """One test: declared by `name`, run with the declaring image's mounts, timeout, network."""

    name: str
    command: tuple[str, ...] | None
    expect: Expect | None
    mounts: tuple[Mount, ...]
    timeout: int
    network: str


@dataclass(frozen=True)
class CheckResult:
    name: str
    own: bool  # declared by the tested image itself (else inherited)
    status: CheckStatus
    seconds: float = 0.0
    message: str = ""  # why it failed, or why skipped
    exit_code: int | None = None
    output: str = ""


def checks_for(hierarchy: Hierarchy, name: str) -> tuple[list[Check], list[str]]:
    """(tests that apply to `name`, root's first and its own last; inherited tests it skips)."""
    spec = hierarchy[name]
    skip = set(spec.test.skip) if spec.test else set()
    checks: list[Check] = []
    skipped: list[str] = []
    for declarer in [*reversed(hierarchy.ancestors(name)), name]:
        test = hierarchy[declarer].test
        if test is None or not test.declares_check:
            continue
        if platforms.image_of(declarer) in skip and declarer != name:  # a platform's build: its image's name
            skipped.append(declarer)
            continue
        folder = hierarchy[declarer].path
        mounts = tuple(Mount(folder / source, target) for source, target in test.mounts.items())
        checks.append(Check(declarer, test.command, test.expect, mounts, test.timeout, test.network))
    return checks, skipped


def is_root_user(user: str) -> bool:
    name = user.split(":", 1)[0].strip()
    return name in ("", "0", "root")


def expect_problems(engine: Engine, image: str, expect: Expect) -> list[str]:
    """What in `image` contradicts `expect`; empty when it holds."""
    problems: list[str] = []
    if expect.user is not None:
        actual = engine.user_of(image)
        if expect.user == "non-root":
            if is_root_user(actual):
                problems.append(f"runs as root (User is {actual or 'unset'}), expected non-root")
        elif actual != expect.user:
            problems.append(f"User is '{actual}', expected '{expect.user}'")
    found = engine.path_states(image, [*expect.files, *expect.absent]) if expect.files or expect.absent else {}
    for path in expect.files:
        if found[path].error:
            problems.append(f"cannot check {path}: {found[path].error}")
        elif found[path].dangling:
            problems.append(f"{path} is a dangling symlink (to {found[path].dangling})")
        elif not found[path].exists:
            problems.append(f"{path} is missing")
    for path in expect.absent:
        if found[path].error:
            problems.append(f"cannot check {path}: {found[path].error}")
        elif found[path].exists:
            problems.append(f"{path} must be absent")
    return problems


def run_check(
    engine: Engine,
    check: Check,
    *,
    own: bool,
    test_image: str,
    release_image: str,
    on_line: Callable[[str], None],
    keep: bool = False,
) -> CheckResult:
    """Expect checks on the release image, then the command in the test image."""
    start = time.monotonic()
    problems = expect_problems(engine, release_image, check.expect) if check.expect else []
    for problem in problems:
        on_line(f"expect: {problem}")
    exit_code: int | None = None
    output = ""
    if check.command is not None:
        result = engine.run(test_image, list(check.command), mounts=list(check.mounts), network=check.network,
                            timeout=check.timeout, on_line=on_line, keep=keep)
        exit_code, output = result.exit_code, result.output
        if result.not_started:
            problems.append(f"{result.not_started} in the test image")
        elif result.timed_out:
            problems.append(f"timed out after {check.timeout}s")
        elif exit_code != 0:
            problems.append(f"exit code {exit_code}")
    status = CheckStatus.FAILED if problems else CheckStatus.PASSED
    return CheckResult(check.name, own, status, time.monotonic() - start, "; ".join(problems), exit_code, output)


def failure_message(results: list[CheckResult]) -> str:
    """First line: which tests failed and why; then the last lines of each failing command."""
    failed = [r for r in results if r.status == CheckStatus.FAILED]
    head = f"{len(failed)} of {len(results)} tests failed: " + ", ".join(
        f"{r.name}{' (own)' if r.own else ''}: {r.message}" for r in failed
    )
    body: list[str] = []
    for r in failed:
        lines = [line for line in r.output.splitlines() if line.strip()][-TAIL_LINES:]
        if lines:
            body.append(f"--- {r.name}, last lines:")
            body.extend(_shortened(line) for line in lines)
    return "\n".join([head, *body])


def _shortened(line: str, most: int = 300) -> str:
    """A line as a summary shows it: a long one cut, saying by how much (the log has it whole)."""
    return line if len(line) <= most else f"{line[:most]}... ({len(line) - most} more characters)"


@dataclass(frozen=True)
class ImageResult:
    """The tests of one image; reads like a run Result (bbc/run/results.py) for report.event_line."""

    image: str
    version: str
    status: CheckStatus
    seconds: float = 0.0
    checks: tuple[CheckResult, ...] = ()
    message: str = ""
    log: str = ""
    test_image: str = ""
    reused: bool = False  # passed before on the same image with the same tests
