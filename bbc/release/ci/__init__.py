"""CI pipelines from the plan (`bbc ci gitlab|github`): one job per image the registry lacks,
`needs:` from the hierarchy, and one release job that promotes everything at once.

Each image job runs `bbc release IMAGE --candidates`: its parent comes from the registry by
fingerprint (the parent's job pushed it under its candidate tag), the image is built and
tested, and pushed under its own candidate tag; nothing is promoted. The release job runs
only when every image job passed: all or nothing, as `bbc release` is. The plan is made as a
fresh runner sees it (an empty engine, the registry asked), never from what this machine
happens to hold.

- jobs.py: the images to build, from the plan;
- setup.py: what a job runs first (credentials, bbc installed pinned to this version);
- grouping.py: big pipelines cut by level, in the same needs order;
- gitlab.py, github.py: each system's files, inside its limits (child pipelines; matrices).
"""

from __future__ import annotations

from bbc.release.ci.jobs import Job, jobs
from bbc.release.ci.setup import AUTH, NOOP, Setup, default_spec

# Past this many images a pipeline is split: GitLab into child pipelines of at most this many
# jobs (GitLab.com's free tier runs at most 500 per pipeline), GitHub into per-level matrices
DEFAULT_MAX_JOBS = 200

__all__ = ["AUTH", "DEFAULT_MAX_JOBS", "NOOP", "Job", "Setup", "default_spec", "jobs"]
