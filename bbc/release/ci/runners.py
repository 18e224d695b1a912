"""Which runner builds a job's platform (issue 24): a job per image and platform, each on a
runner of its own architecture, as docker-stacks builds them, so no build runs under QEMU
where a native runner exists.

bbc.yaml's `ci: {runners: {PLATFORM: {github: LABELS, gitlab: TAGS}}}` says where; without it,
GitHub's hosted runners (`ubuntu-latest`, amd64; `ubuntu-24.04-arm` for linux/arm64) and, on
GitLab, the project's default runners (no `tags:`). A platform with no runner of its own runs
on the default one, under emulation (the runner must have QEMU's binfmt_misc entries). An
image that names no platform is built on linux/amd64's runner.
"""

from __future__ import annotations

from bbc.model.specs import CiSpec

DEFAULT_PLATFORM = "linux/amd64"  # what an image naming no platform is built on
GITHUB_DEFAULT = ("ubuntu-latest",)
# GitHub's hosted Linux runners by architecture
GITHUB_HOSTED = {"linux/amd64": ("ubuntu-latest",), "linux/arm64": ("ubuntu-24.04-arm",)}


def github(ci: CiSpec, platform: str | None) -> tuple[str, ...]:
    """The job's `runs-on` labels."""
    platform = platform or DEFAULT_PLATFORM
    found = ci.runners.get(platform)
    if found is not None and found.github:
        return found.github
    return GITHUB_HOSTED.get(platform, GITHUB_DEFAULT)


def gitlab(ci: CiSpec, platform: str | None) -> tuple[str, ...]:
    """The job's runner `tags:` (none: the project's default runners)."""
    found = ci.runners.get(platform or DEFAULT_PLATFORM)
    return found.gitlab if found is not None else ()


def runs_on(labels: tuple[str, ...]) -> str | list[str]:
    """`runs-on` as GitHub reads it: one label as a string, several as a list."""
    return labels[0] if len(labels) == 1 else list(labels)
