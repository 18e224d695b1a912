"""Git behind one module (gitpython): changed files, the current revision, files at a revision."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbc.errors import GitError


@dataclass(frozen=True)
class Changes:
    """Files changed since a revision, relative to the repository's top folder."""

    top: Path
    since: str  # the revision compared against ("HEAD" for the working tree)
    paths: frozenset[str]


def _repo(path: Path) -> Any:
    import git

    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitError(f"{path}: not inside a git repository",
                       tip="--changed needs git history; use `bbc build` without --changed") from None


def top_level(path: Path) -> Path:
    return Path(_repo(path).working_tree_dir).resolve()


def revision(path: Path) -> str | None:
    """The commit sha checked out at `path`, or None outside git / before the first commit."""
    import git

    try:
        repo = git.Repo(path, search_parent_directories=True)
        return str(repo.head.commit.hexsha)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None


def changed_paths(path: Path, since: str | None = None) -> Changes:
    """Files changed in the working tree against `since` (default HEAD), untracked included."""
    import git

    repo = _repo(path)
    rev = since or "HEAD"
    try:
        repo.commit(rev)
    except (git.BadName, ValueError, git.GitCommandError):
        raise GitError(f"unknown revision '{rev}' in {repo.working_tree_dir}",
                       tip="pass a commit, branch or tag that exists, e.g. --since origin/main") from None
    try:
        # --no-renames: a move changes both the old and the new place
        out = repo.git.diff("--name-only", "--no-renames", rev, "--")
        untracked = repo.untracked_files
    except git.GitCommandError as exc:
        raise GitError(f"git diff against '{rev}' failed: {exc.stderr.strip()}") from None
    paths = {p for p in out.splitlines() if p} | set(untracked)
    return Changes(Path(repo.working_tree_dir).resolve(), rev, frozenset(paths))


def file_at(path: Path, rev: str, file: Path) -> str | None:
    """The text of `file` at `rev`, or None when it did not exist there."""
    import git

    repo = _repo(path)
    top = Path(repo.working_tree_dir).resolve()
    rel = file.resolve().relative_to(top).as_posix()
    try:
        return str(repo.git.show(f"{rev}:{rel}"))
    except git.GitCommandError:
        return None


def remote_url(path: Path) -> str | None:
    """The `origin` remote's URL (credentials stripped), or None."""
    import re

    import git

    try:
        repo = git.Repo(path, search_parent_directories=True)
        url = str(repo.remotes.origin.url) if "origin" in [r.name for r in repo.remotes] else None
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None
    return re.sub(r"//[^/@]*@", "//", url) if url else None
