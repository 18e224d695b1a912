"""Git behind one module (gitpython).

Reads answer questions about the hierarchy's repository (changed files, the revision, files
at a revision). Writes serve `bbc upgrade` and `bbc rollout` (commits, clones, worktrees,
pushes) and never lose a user's edits: commits name their paths explicitly, and a rollout
commits in a temporary worktree, so the user's checkout, branch and index are never touched.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
        # closed on the way out: GitPython keeps a `git cat-file` process per Repo, which
        # otherwise outlives the call (and warns when garbage-collected)
        with git.Repo(path, search_parent_directories=True) as repo:
            return str(repo.head.commit.hexsha)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None


def visible_files(folder: Path) -> list[str] | None:
    """Files below `folder` that git tracks or would add (`.gitignore` respected), relative to
    `folder`, posix; None when `folder` is not inside a git work tree."""
    import git

    try:  # run in `folder`: ls-files answers relative to where it runs
        out = git.Git(str(folder)).ls_files("-z", "--cached", "--others", "--exclude-standard", "--", ".")
    except (git.GitCommandError, OSError):
        return None
    return sorted({f for f in out.split("\0") if f})


def changed_paths(path: Path, since: str | None = None) -> Changes:
    """Files changed in the working tree against `since` (default HEAD), untracked included.
    Inside a submodule, the files changed since the commit the superproject recorded at
    `since` (its own commits and its working tree alike); the submodule's path itself when
    that cannot be told (not checked out, that commit not fetched, added or removed)."""
    import git

    with _repo(path) as repo:
        rev = since or "HEAD"
        try:
            repo.commit(rev)
        except (git.BadName, ValueError, git.GitCommandError):
            raise GitError(f"unknown revision '{rev}' in {repo.working_tree_dir}",
                           tip="pass a commit, branch or tag that exists, e.g. --since origin/main") from None
        try:
            paths = _changed_in(repo, rev, 0)
        except git.GitCommandError as exc:
            raise GitError(f"git diff against '{rev}' failed: {exc.stderr.strip()}") from None
        return Changes(Path(repo.working_tree_dir).resolve(), rev, frozenset(paths))


_NESTED = 8  # submodules inside submodules followed this deep


def _changed_in(repo: Any, rev: str, depth: int) -> set[str]:
    # --no-renames: a move changes both the old and the new place
    out = repo.git.diff("--name-only", "-z", "--no-renames", rev, "--")
    paths = {p for p in out.split("\0") if p} | set(repo.untracked_files)
    for rel, recorded in _submodules(repo, rev).items():
        inner = _submodule_changes(Path(repo.working_tree_dir) / rel, recorded, depth + 1) \
            if depth < _NESTED else None
        if inner is not None:  # else its path stands for all of it (added, not checked out, ...)
            paths.discard(rel)
            paths |= {f"{rel}/{p}" for p in inner}
    return paths


def _submodules(repo: Any, rev: str) -> dict[str, str]:
    """Submodule path -> the commit `rev` records for it, for the submodules `.gitmodules`
    names (none without the file: no git call)."""
    top = Path(repo.working_tree_dir)
    if not (top / ".gitmodules").is_file():
        return {}
    import git

    try:
        listed = repo.git.config("-z", "--file", ".gitmodules", "--get-regexp", r"\.path$")
    except git.GitCommandError:
        return {}
    paths = [entry.split("\n", 1)[1] for entry in listed.split("\0") if "\n" in entry]
    if not paths:
        return {}
    out: dict[str, str] = {}
    for entry in repo.git.ls_tree("-z", rev, "--", *paths).split("\0"):
        meta, _, rel = entry.partition("\t")
        mode, _, sha = (meta.split() + ["", "", ""])[:3]
        if mode == "160000":
            out[rel] = sha
    return out


def _submodule_changes(folder: Path, since: str, depth: int) -> set[str] | None:
    """Files changed in the submodule checked out at `folder` since its commit `since`; None
    when that cannot be told."""
    import git

    if not (folder / ".git").exists():
        return None
    try:
        with git.Repo(folder) as sub:
            sub.commit(since)
            return _changed_in(sub, since, depth)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, git.BadName, ValueError, git.GitCommandError):
        return None


def file_at(path: Path, rev: str, file: Path) -> str | None:
    """The text of `file` at `rev`, or None when it did not exist there."""
    import git

    with _repo(path) as repo:
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
        with git.Repo(path, search_parent_directories=True) as repo:
            url = str(repo.remotes.origin.url) if "origin" in [r.name for r in repo.remotes] else None
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None
    return re.sub(r"//[^/@]*@", "//", url) if url else None


# -- writes ---------------------------------------------------------------------------

def open_repo(path: Path) -> Any:
    """The repository whose top folder is `path` (not a folder above it)."""
    import git

    try:
        return git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitError(f"{path}: not a git repository") from None


def clone_or_fetch(url: str, dest: Path) -> Path:
    """Clone `url` into `dest`, or fetch `origin` and fast-forward a clone already there."""
    import git

    try:
        if (dest / ".git").exists():
            repo = git.Repo(dest)
            repo.remotes.origin.fetch()
            if not repo.head.is_detached and repo.active_branch.tracking_branch() is not None:
                repo.git.merge("--ff-only", "@{u}")
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            git.Repo.clone_from(url, dest)
    except git.GitCommandError as exc:
        raise GitError(f"{url}: {_stderr(exc)}") from None
    return dest


def is_dirty(repo: Any) -> bool:
    """Uncommitted changes to tracked files, staged or not (untracked files do not count)."""
    return bool(repo.is_dirty(index=True, working_tree=True, untracked_files=False))


def changed(repo: Any, paths: Iterable[Path]) -> list[str]:
    """Which of `paths` differ from HEAD (staged, unstaged or untracked)."""
    top = Path(repo.working_tree_dir).resolve()
    rels = [p.resolve().relative_to(top).as_posix() for p in paths]
    if not rels:
        return []
    out = repo.git.status("--porcelain", "--untracked-files=all", "--", *rels)
    return sorted({line[3:] for line in out.splitlines() if line})


def is_tracked(repo: Any, rel: str) -> bool:
    return bool(repo.git.ls_files("--", rel).strip())


def branch_sha(repo: Any, branch: str) -> str | None:
    import git

    try:
        return str(repo.git.rev_parse("--verify", "--quiet", f"refs/heads/{branch}"))
    except git.GitCommandError:
        return None


def show(repo: Any, rev: str, rel: str) -> str | None:
    """The exact text of `rel` at `rev` in `repo`, or None when it did not exist there."""
    import git

    try:
        return str(repo.git.show(f"{rev}:{rel}", strip_newline_in_stdout=False))
    except git.GitCommandError:
        return None


def commit_paths(repo: Any, paths: Iterable[Path], message: str) -> str:
    """Commit exactly `paths` (other staged work stays staged, out of the commit); return the sha."""
    import git

    top = Path(repo.working_tree_dir).resolve()
    rels = sorted({p.resolve().relative_to(top).as_posix() for p in paths})
    try:
        repo.git.add("--", *rels)
        repo.git.commit("-m", message, "--only", "--", *rels)
    except git.GitCommandError as exc:
        raise GitError(f"git commit in {top}: {_stderr(exc)}") from None
    return str(repo.head.commit.hexsha)


@contextmanager
def branch_worktree(repo: Any, branch: str) -> Iterator[Path]:
    """A temporary worktree on a new `branch` started at HEAD; removed afterwards.

    The branch is deleted again when no commit was made on it (a failed attempt leaves
    nothing behind); the user's own checkout is never switched.
    """
    import git

    start = str(repo.head.commit.hexsha)
    holder = Path(tempfile.mkdtemp(prefix="bbc-worktree-"))
    tree = holder / "tree"
    try:
        repo.git.worktree("add", "--quiet", "-b", branch, str(tree), start)
    except git.GitCommandError as exc:
        shutil.rmtree(holder, ignore_errors=True)
        raise GitError(f"git worktree add ({branch}): {_stderr(exc)}") from None
    try:
        yield tree
    finally:
        try:
            repo.git.worktree("remove", "--force", str(tree))
        except git.GitCommandError:
            shutil.rmtree(tree, ignore_errors=True)
            repo.git.worktree("prune")
        shutil.rmtree(holder, ignore_errors=True)
        if branch_sha(repo, branch) == start:
            repo.git.branch("-D", branch)


def commit_in(tree: Path, rels: Iterable[str], message: str) -> str:
    """Commit `rels` in the worktree `tree`; return the sha."""
    import git

    repo = git.Repo(tree)
    try:
        repo.git.add("--", *rels)
        repo.git.commit("-m", message)
    except git.GitCommandError as exc:
        raise GitError(f"git commit: {_stderr(exc)}") from None
    return str(repo.head.commit.hexsha)


def push(repo: Any, branch: str, remote: str = "origin") -> None:
    import git

    try:
        repo.git.push(remote, f"refs/heads/{branch}:refs/heads/{branch}")
    except git.GitCommandError as exc:
        raise GitError(f"git push {remote} {branch}: {_stderr(exc)}") from None


def _stderr(exc: Any) -> str:
    text = str(getattr(exc, "stderr", "") or exc).strip()
    text = text.removeprefix("stderr:").strip().strip("'").strip()
    return text.splitlines()[-1] if text else "failed"
