"""`bbc ci gitlab|github`: the plan as CI pipeline files (bbc/release/ci decides the jobs and
how a big pipeline is cut), printed, or written into a folder."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bbc.adapters.engine import Engine
from bbc.errors import BbcError
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Selection
from bbc.release import ci
from bbc.release.ci import render


@dataclass(frozen=True)
class CiOptions:
    install: str | None = None  # what pip installs on a runner (default: this bbc, pinned)
    install_commands: tuple[str, ...] = ()  # lines that put bbc there instead of pip
    config: str | None = None  # the bbc.yaml the jobs name (-c)
    max_jobs: int = ci.DEFAULT_MAX_JOBS  # past this many images: child pipelines / matrices per level
    output: str | None = None  # write the files into this folder instead of printing
    from_job: str = "bbc-ci"  # GitLab child pipelines: the job whose artifact holds the folder


def ci_pipeline(hierarchy: Hierarchy, sel: Selection, kind: str, *, engine: Engine | None = None,
                options: CiOptions = CiOptions()) -> int:
    if options.install and options.install_commands:
        raise BbcError("--install and --install-command: give one (pip installs SPEC, or CMD puts bbc there)")
    setup = ci.Setup.of(options.install, options.install_commands, options.config)
    max_jobs, output, from_job = options.max_jobs, options.output, options.from_job
    found = ci.jobs(hierarchy, sel, engine)
    folder = _folder(output) if output and kind == "gitlab" else "bbc-ci"
    if kind == "gitlab":
        from bbc.release.ci import gitlab

        files = gitlab.files(found, setup, max_jobs=max_jobs, folder=folder, from_job=from_job)
    else:
        from bbc.release.ci import github

        files = {"bbc.yml": github.workflow(found, setup, max_jobs=max_jobs)}
    texts = render.texts(kind, found, files, folder)
    if kind == "github":
        github.check_size(texts["bbc.yml"], len(found))
    if output is None:
        if len(texts) > 1:
            raise BbcError(f"{len(found)} images make {len(texts) - 1} child pipelines (more than --max-jobs "
                           f"{max_jobs} in one): they need a folder", tip="pass -o FOLDER (e.g. -o bbc-ci)")
        sys.stdout.write(next(iter(texts.values())))
    else:
        _write(Path(output), texts)
    for job in found:
        print(f"bbc ci: {job.image} {job.version}: {job.why}", file=sys.stderr)
    return 0


def _folder(output: str) -> str:
    """The folder as the pipeline names it: relative to the project, where artifacts live."""
    path = PurePosixPath(output)
    if path.is_absolute() or ".." in path.parts or str(path) == ".":
        raise BbcError(f"-o {output}: name a folder inside the project (a relative path, e.g. bbc-ci)",
                       tip="GitLab keeps artifacts and includes child pipelines by paths relative to the project")
    return str(path)


def _write(folder: Path, texts: dict[str, str]) -> None:
    from bbc.adapters import state

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yml"):  # a smaller pipeline than last time leaves no stale groups
        if old.name not in texts and _ours(old):
            old.unlink()
    for name, text in texts.items():
        state.atomic_write(folder / name, text, mode=0o644)
        print(f"bbc ci: wrote {folder / name}", file=sys.stderr)


def _ours(path: Path) -> bool:
    """A file an earlier `bbc ci` wrote (never another workflow of the same folder)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline().startswith("# bbc ci ")
    except (OSError, UnicodeDecodeError):
        return False
