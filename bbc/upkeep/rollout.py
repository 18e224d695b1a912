"""After a release, move each downstream project onto it, one branch each (`bbc rollout`,
`bbc upgrade --rollout`).

For every project of bbc.yaml that builds on IMAGE (or on an image below it), the pins of
every blessed image it uses are rewritten to the version in bbc.yaml and the digest the
registry holds for it, and committed on `bbc/<image>-<version>` -- in a temporary
worktree, so the user's checkout is never switched or touched. A project repo with
uncommitted changes is refused. Nothing is pushed without `--push`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bbc.adapters import git, lock
from bbc.upkeep import pins
from bbc.model import refs
from bbc.run import report
from bbc.config.yamledit import replace_file
from bbc.config import Config, ProjectSpec
from bbc.adapters.engine import Engine
from bbc.errors import BbcError, BuildError
from bbc.run.executor import Executor
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import RUN, Plan, ProjectBuild
from bbc.adapters.registry.client import Registry, split_image_name

UPDATED = "updated"
CURRENT = "already current"
FAILED = "failed"
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^[\w.-]+@[\w.-]+:")


@dataclass(frozen=True)
class ImageMove:
    """One blessed image's pin in a project: from `old` to `new` (tag and digest)."""

    image: str
    repository: str
    old: str
    new: str
    old_digest: str | None
    digest: str


@dataclass(frozen=True)
class Outcome:
    project: str
    repo: str
    status: str  # UPDATED | CURRENT | FAILED
    message: str = ""
    branch: str | None = None
    commit: str | None = None
    pushed: bool = False
    images: tuple[ImageMove, ...] = ()
    test: str | None = None  # "passed" | "failed"; None when not run
    test_image: str | None = None


class _Failed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _Releases:
    """Registry answers, asked once per image: image -> manifest digest of its version."""

    config: Config
    warn: Callable[[str], None] = print
    clients: dict[str, Registry] = field(default_factory=dict)
    digests: dict[tuple[str, str], str | None] = field(default_factory=dict)

    def digest(self, image: str, version: str) -> str:
        key = (image, version)
        if key not in self.digests:
            host, repository = split_image_name(self.config.ref(image))
            client = self.clients.setdefault(host, Registry(host))
            manifest = client.manifest(repository, refs.version_tag(version))
            if manifest is not None:  # a refusal is not kept: the next project asking hears it too
                self._verified(client, repository, image, version, manifest.digest)
            self.digests[key] = manifest.digest if manifest else None
        digest = self.digests[key]
        if digest is None:
            raise _Failed(f"{image} {version} is not in the registry; run bbc release first")
        return digest

    def _verified(self, client: Registry, repository: str, image: str, version: str, digest: str) -> None:
        """policy.signed_parents: what is pinned is a release `bbc verify` accepts, by its digest."""
        level = self.config.policy.signed_parents
        if level == "off":
            return
        from bbc.release.signing import trust

        outcome = trust.release(client, repository, digest, trust.public_keys(self.config.signing.public_keys))
        if outcome.ok:
            return
        what = (f"{self.config.where('policy', 'signed_parents')}: {image} {version} ({digest[:19]}) does not "
                f"verify: {outcome.reason}")
        if level == "error":
            raise _Failed(f"{what}; not pinned")
        self.warn(f"warning: {what}; pinned all the same (policy.signed_parents: warn)")


def affected(hierarchy: Hierarchy, image: str | None) -> list[ProjectSpec]:
    """Projects building on `image` or anything below it (all with None), deepest image last."""
    projects = list(hierarchy.config.projects.values())
    if image is not None:
        hierarchy.check_names([image])
        below = hierarchy.closure_down([image])
        projects = [p for p in projects if below.intersection(p.images)]

    def deepest(p: ProjectSpec) -> tuple[int, int]:
        return max((hierarchy.depth(i), hierarchy.order.index(i)) for i in p.images)

    return sorted(projects, key=deepest)  # stable: declaration order among equals


def rollout(
    hierarchy: Hierarchy,
    connect: Callable[[], Engine],
    image: str | None = None,
    *,
    push: bool = False,
    test: bool = False,
    version: str | None = None,
    fmt: str = "table",
    events: report.Events | None = None,
) -> int:
    """`events`: where a command that rolls out as one of its steps (refresh, upgrade) has its
    lines go, the summary table's among them; None: standard output, the table as a table."""
    if version is not None and image is None:
        raise BbcError("--version needs an IMAGE: it overrides that image's version from bbc.yaml")
    say = events.message if events is not None else _print
    projects = affected(hierarchy, image)
    if not projects:
        say("no projects in bbc.yaml" + (f" build on {image} or an image below it" if image else ""))
        if fmt == "json":
            report.dump_json([])
        return 0
    wanted = {n: s.version for n, s in hierarchy.config.images.items()}
    if image is not None and version is not None:
        wanted[image] = version
    releases = _Releases(hierarchy.config, say)
    engine: list[Engine] = []  # connected on the first test build only

    def get_engine() -> Engine:
        if not engine:
            engine.append(connect())
        return engine[0]

    out: list[Outcome] = []
    for project in projects:
        with lock.project_lock(hierarchy.config.root, project.name):  # two rollouts never race on a branch
            outcome = _one(hierarchy, project, image, wanted, releases, get_engine, push=push,
                           test=test or project.test)
        out.append(outcome)
        if fmt != "json":
            say(_event(outcome))
    rows = [(o.project, o.status, o.branch or "-", (o.commit or "-")[:12], "yes" if o.pushed else "no") for o in out]
    if fmt == "json":
        report.dump_json([_as_json(o) for o in out])
    elif events is None:
        report.table(_HEADERS, rows)
    else:
        widths = [max(len(c) for c in column) for column in zip(_HEADERS, *rows)]
        for row in (_HEADERS, *rows):
            events.message("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return 1 if any(o.status == FAILED for o in out) else 0


_HEADERS = ("project", "status", "branch", "commit", "pushed")


def _print(line: str) -> None:
    print(line, flush=True)


def _one(hierarchy: Hierarchy, project: ProjectSpec, image: str | None, wanted: dict[str, str],
         releases: _Releases, engine: Callable[[], Engine], *, push: bool, test: bool) -> Outcome:
    config = hierarchy.config
    moves: tuple[ImageMove, ...] = ()
    try:
        top = _checkout(config, project)
        repo = git.open_repo(top)
        if git.is_dirty(repo):
            raise _Failed("working tree has uncommitted changes")
        if not git.is_tracked(repo, project.file):
            raise _Failed(f"{project.file} is not a file tracked in {project.repo}")
        text = _read(top / project.file)
        new_text, moves = _repin(config, project, text, wanted, releases)
        lead = image if image is not None else _deepest(hierarchy, project)
        branch = f"bbc/{lead}-{wanted[lead]}"
        if new_text == text:
            return Outcome(project.name, project.repo, CURRENT, f"{project.file} already pins these versions",
                           images=moves)
        existing = git.branch_sha(repo, branch)
        if existing is not None:
            if git.show(repo, branch, project.file) != new_text:
                raise _Failed(f"branch {branch} exists with other content; merge or delete it, then run again")
            pushed = _push(repo, branch) if push else False
            return Outcome(project.name, project.repo, CURRENT, f"branch {branch} already has these pins",
                           branch, existing, pushed, moves)
        message = _message(lead, wanted[lead], moves)
        with git.branch_worktree(repo, branch) as tree:
            replace_file(tree / project.file, new_text)
            sha = git.commit_in(tree, [project.file], message)
            test_image = None
            if test:
                try:
                    test_image = _build(hierarchy, project, tree, engine())
                except BuildError as exc:
                    tail = "\n".join(exc.log_tail[-8:])
                    return Outcome(project.name, project.repo, FAILED,
                                   f"build on the new base failed: {exc.message}; branch {branch} kept, not pushed"
                                   + (f"\n{tail}" if tail else ""), branch, sha, False, moves, "failed")
        pushed = _push(repo, branch) if push else False
        return Outcome(project.name, project.repo, UPDATED, "", branch, sha, pushed, moves,
                       "passed" if test else None, test_image)
    except _Failed as exc:
        return Outcome(project.name, project.repo, FAILED, exc.message, images=moves)
    except BbcError as exc:
        return Outcome(project.name, project.repo, FAILED, exc.message, images=moves)


def _checkout(config: Config, project: ProjectSpec) -> Path:
    if _URL.match(project.repo):
        return git.clone_or_fetch(project.repo, config.root / ".bbc" / "projects" / project.name)
    top = (config.root / project.repo).resolve()
    if not top.is_dir():
        raise _Failed(f"{config.where('projects', project.name, 'repo')}: folder {project.repo} does not exist")
    return top


def _repin(config: Config, project: ProjectSpec, text: str, wanted: dict[str, str],
           releases: _Releases) -> tuple[str, tuple[ImageMove, ...]]:
    moves = []
    for image in project.images:
        repository = config.ref(image)
        found = pins.find_image_pins(text, repository)
        if not found:
            raise _Failed(f"{project.file} has no pin of {repository}:TAG; project uses {image} (bbc.yaml)")
        version = wanted[image]
        digest = releases.digest(image, version)
        tag = refs.version_tag(version)
        text = pins.rewrite_image_pins(text, found, tag, digest)
        moves.append(ImageMove(image, repository, found[0].tag, version, found[0].digest, digest))
    return text, tuple(moves)


def _read(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", newline="") as f:  # CRLF stays CRLF
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise _Failed(f"{path}: cannot read: {exc}") from None


def _deepest(hierarchy: Hierarchy, project: ProjectSpec) -> str:
    return max(project.images, key=lambda i: (hierarchy.depth(i), hierarchy.order.index(i)))


def _message(lead: str, version: str, moves: tuple[ImageMove, ...]) -> str:
    lines = [f"bbc rollout: {lead} {version}", ""]
    for m in moves:
        same = m.old == m.new and m.old_digest in (None, m.digest)
        lines.append(f"- {m.image}: {m.old} -> {m.new} ({m.digest})" + (" (unchanged)" if same else ""))
    return "\n".join(lines) + "\n"


def _build(hierarchy: Hierarchy, project: ProjectSpec, tree: Path, engine: Engine) -> str:
    """Build the project's Dockerfile as committed, through the one executor (its log, Ctrl-C
    and engine-loss handling); returns the image ID or raises BuildError with the log's tail."""
    step = ProjectBuild(image=project.name, version="", action=RUN, context=tree, dockerfile=project.file,
                        reasons=("its pins name the new base",))
    result = Executor(engine, hierarchy, report.Quiet()).run(Plan((step,)))[0]
    if not result.ok:
        head, _, tail = result.message.partition("\n")
        raise BuildError(head, log_tail=tail.splitlines())
    return result.image_id or ""


def _push(repo: object, branch: str) -> bool:
    git.push(repo, branch)
    return True


def _event(o: Outcome) -> str:
    moves = ", ".join(f"{m.image} {m.old} -> {m.new}" for m in o.images if (m.old, m.old_digest) != (m.new, m.digest))
    if o.status == FAILED:
        head, _, tail = o.message.partition("\n")
        text = f"[{o.project}] FAILED: {head}"
        return text + ("\n" + "\n".join(f"    | {line}" for line in tail.splitlines()) if tail else "")
    if o.status == CURRENT:
        return f"[{o.project}] already current ({o.message})" + (" - pushed" if o.pushed else "")
    tested = f"; build on the new base {o.test}" if o.test else ""
    where = "pushed to origin" if o.pushed else "not pushed"
    return f"[{o.project}] updated: {moves}; branch {o.branch} at {(o.commit or '')[:12]} ({where}){tested}"


def _as_json(o: Outcome) -> dict[str, object]:
    return {
        "project": o.project, "repo": o.repo, "status": o.status, "message": o.message,
        "branch": o.branch, "commit": o.commit, "pushed": o.pushed,
        "images": [{"image": m.image, "repository": m.repository, "old": m.old, "new": m.new,
                    "old_digest": m.old_digest, "digest": m.digest} for m in o.images],
        "test": o.test, "test_image": o.test_image,
    }
