"""What a release says about each manifest it signs, gathered from bbc.yaml, the plan, the build
records and the registry: the SLSA provenance's input (bbc/release/signing/provenance.py) and
the SBOM document attested beside it.

- the bbc.yaml entry (canonical JSON of the image's own mapping, as written) and the
  Dockerfile, each by digest, with their paths in the repository;
- the git commit and whether the tracked files differ from it;
- the build's start and end (recorded by the build, `.bbc/state/<image>.json`; an image pulled
  or built before the records had them: the image's creation time for both);
- bbc's version and the engine's;
- the parent's and every used image's released digest (the X.Y.Z the same release writes, or
  the one the registry holds), every external base's digest as fingerprinted, the prepare
  inputs' digests;
- the build args (a build secret's id only: its value never leaves the machine).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bbc.adapters import state
from bbc.adapters.engine import Engine
from bbc.errors import BbcError
from bbc.model import platforms, refs
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Build
from bbc.release.signing.provenance import Dependency, ProvenanceInput, Source
from bbc.release.signing.statement import canonical


@dataclass(frozen=True)
class Run:
    """What is the same for every manifest of one release."""

    top: Path  # the repository's top folder (bbc.yaml's folder outside git)
    source: Source
    bbc_version: str
    engine_version: str
    invocation_id: str = ""  # the CI job's URL, when a CI system says it


def of_run(root: Path, engine: Engine) -> Run:
    """The repository, its commit and state, and the versions of bbc and `engine`."""
    from bbc import __version__
    from bbc.adapters import git

    commit = git.revision(root)
    top, dirty = root, False
    if commit:
        repo = git.open_repo(root)
        top, dirty = Path(repo.working_tree_dir), git.is_dirty(repo)
    url = git.remote_url(root) or top.resolve().as_uri()
    return Run(top.resolve(), Source(url, commit, dirty), __version__, engine.version(), _invocation())


def _invocation() -> str:
    """The CI job's URL (GitLab, GitHub Actions), else ""."""
    if os.environ.get("CI_JOB_URL"):
        return os.environ["CI_JOB_URL"]
    server, repo, run = (os.environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else ""


def entry_digest(raw: Mapping[str, Any], image: str) -> str:
    """sha256 of the image's bbc.yaml entry as written (canonical JSON)."""
    entry = (raw.get("images") or {}).get(image)
    return "sha256:" + hashlib.sha256(canonical(entry if entry is not None else {})).hexdigest()


def raw_config(path: Path) -> Mapping[str, Any]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def provenance(units: Hierarchy, name: str, run: Run, raw: Mapping[str, Any], step: Build | None,
               released: Callable[[str], str], created: str = "") -> ProvenanceInput:
    """The provenance input of `name` (a unit, or a multi-platform image's index: then the
    facts its units share). `step`: its build step in the plan; `released(image)`: the digest
    of an image's release (raising when there is none); `created`: the image's creation time."""
    image = platforms.image_of(name)
    spec = units[name if name in units.config.images else (units.units or {}).get(image, (image,))[0]]
    started, finished = _times(units.config.root, name, created)
    deps: list[Dependency] = []
    if spec.parent:
        parent = platforms.image_of(spec.parent)
        version = units[spec.parent].version
        deps.append(Dependency("parent", f"{units.config.ref(parent)}:{refs.version_tag(version)}", released(parent),
                               parent))
    for used in spec.used:  # what it copies or mounts from: each by the digest of its release
        image_used = platforms.image_of(used)
        deps.append(Dependency("uses", f"{units.config.ref(image_used)}:{refs.version_tag(units[used].version)}",
                               released(image_used), image_used))
    for found, digest in (step.bases if step is not None else ()):
        deps.append(Dependency("base", found.ref.partition("@")[0], digest, found.where))
    deps += _prepare_inputs(spec.path, spec.prepare.inputs if spec.prepare else (), run.top)
    return ProvenanceInput(
        image=name, version=spec.version, config_path=_rel(units.config.path, run.top),
        config_entry_digest=entry_digest(raw, image), dockerfile=_rel(spec.dockerfile_path, run.top),
        dockerfile_digest=_file_digest(spec.dockerfile_path), source=run.source, bbc_version=run.bbc_version,
        engine_version=run.engine_version, started=started, finished=finished,
        platform=spec.platform or "" if name != image else "",
        build_args={k: v for k, v in spec.build_args.items() if k not in spec.secrets},
        secrets=tuple(sorted(spec.secrets)), dependencies=tuple(deps), invocation_id=run.invocation_id)


def _times(root: Path, name: str, created: str) -> tuple[datetime, datetime]:
    record = state.read_json(state.manifest_path(root, name)) or {}
    built = record.get("built") or {}
    try:
        return datetime.fromisoformat(built["started"]), datetime.fromisoformat(built["finished"])
    except (KeyError, TypeError, ValueError):
        pass
    # an image inspected says `2026-05-01T12:00:00.123456789Z`, a listing seconds since the epoch
    try:
        moment = (datetime.fromtimestamp(int(created), timezone.utc) if created.isdigit()
                  else datetime.fromisoformat(created))
    except ValueError:
        moment = datetime.now(timezone.utc)
    return moment, moment


def _prepare_inputs(folder: Path, patterns: tuple[str, ...], top: Path) -> list[Dependency]:
    import glob

    files: set[str] = set()
    for pattern in patterns:
        files.update(glob.glob(pattern, root_dir=folder, recursive=True))
    return [Dependency("prepare-input", _rel(folder / rel, top), _file_digest(folder / rel), rel)
            for rel in sorted(files) if (folder / rel).is_file()]


def _file_digest(path: Path) -> str:
    try:
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise BbcError(f"{path}: cannot read it for the provenance: {exc.strerror}") from None


def _rel(path: Path, top: Path) -> str:
    try:
        return path.resolve().relative_to(top).as_posix()
    except ValueError:
        return path.resolve().as_posix()
