"""What every generated job runs before bbc: the registry credentials, then bbc itself.

bbc is installed on the runner as the distribution it is published under (bbc.DISTRIBUTION;
`bbc` on PyPI is another project), pinned to the version that wrote the pipeline: a pipeline
written by 0.4.0 runs 0.4.0 until it is written again. `--install SPEC` names another
requirement (a path, a git URL, another version), `--install-command` replaces the line.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from bbc import DISTRIBUTION, __version__

# Credentials appear only as a CI variable: `DOCKER_AUTH_CONFIG` (GitLab's own name for a Docker
# config JSON) is written to ~/.docker/config.json, where bbc reads registry credentials.
AUTH = ('if [ -n "${DOCKER_AUTH_CONFIG:-}" ]; then mkdir -p "$HOME/.docker" && '
        'printf "%s" "$DOCKER_AUTH_CONFIG" > "$HOME/.docker/config.json"; fi')
# GitLab refuses a child pipeline without jobs: an empty plan still gets one
NOOP = "bbc: nothing to build"


def default_spec() -> str:
    """The requirement that installs this very bbc."""
    return f"{DISTRIBUTION}=={__version__}"


def pip_line(spec: str) -> str:
    return f"python3 -m pip install {shlex.quote(spec)}"


REPORT = "bbc-report.html"  # the release job's artifact: `bbc report`'s page


@dataclass(frozen=True)
class Setup:
    install: tuple[str, ...]  # shell lines that put bbc on the runner
    config: str | None = None  # bbc.yaml for every bbc command (-c), when not the default

    @classmethod
    def of(cls, spec: str | None = None, commands: Sequence[str] = (), config: str | None = None) -> Setup:
        """pip installs `spec` (default: this bbc, pinned), unless `commands` are given instead."""
        return cls(tuple(commands) or (pip_line(spec or default_spec()),), config)

    @property
    def before(self) -> list[str]:
        """The lines a job runs before its bbc command."""
        return [AUTH, *self.install]

    def bbc(self, args: str) -> str:
        """A bbc command line."""
        return f"bbc -c {shlex.quote(self.config)} {args}" if self.config else f"bbc {args}"

    def release(self, images: Sequence[str]) -> str:
        """The release job's command: promote every image of the pipeline at once; the jobs
        of one image's platforms (`static@arm64`) join in its index, so it is named once."""
        from bbc.model.platforms import image_of

        return self.bbc("release --no-test " + " ".join(dict.fromkeys(image_of(i) for i in images)))

    def report(self) -> str:
        """The release job's last command: `bbc report`'s page, published as its artifact (issue 25)."""
        return self.bbc(f"report --html -o {REPORT}")
