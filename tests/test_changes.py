"""--changed on real git repositories."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from bbc.plan import changes
from bbc import config
from bbc.errors import GitError
from bbc.model.hierarchy import Hierarchy
from tests.helpers import tiny_hierarchy, write


@pytest.fixture()
def repo(tmp_path: Path) -> git.Repo:
    tiny_hierarchy(tmp_path)
    r = git.Repo.init(tmp_path)
    r.git.add(A=True)
    r.index.commit("initial")
    return r


def changed(repo: git.Repo, since: str | None = None) -> dict[str, list[str]]:
    h = Hierarchy.of(config.load(Path(repo.working_tree_dir) / "bbc.yaml"))
    return changes.changed_images(h, since)


def test_clean_tree_changes_nothing(repo: git.Repo) -> None:
    assert changed(repo) == {}


def test_modified_and_untracked_files_map_to_their_image(repo: git.Repo) -> None:
    top = Path(repo.working_tree_dir)
    (top / "images/app/a1/data.txt").write_text("new\n")
    (top / "images/intermediate/mid/new.txt").write_text("untracked\n")
    (top / "README.txt").write_text("not an image\n")
    assert changed(repo) == {"mid": ["images/intermediate/mid/new.txt"], "a1": ["images/app/a1/data.txt"]}


def test_since_a_revision_includes_commits(repo: git.Repo) -> None:
    top = Path(repo.working_tree_dir)
    first = repo.head.commit.hexsha
    (top / "images/app/a2/data.txt").write_text("v2\n")
    repo.git.add(A=True)
    repo.index.commit("a2")
    assert changed(repo) == {}
    assert changed(repo, first) == {"a2": ["images/app/a2/data.txt"]}


def test_a_moved_file_changes_both_places(repo: git.Repo) -> None:
    top = Path(repo.working_tree_dir)
    repo.git.mv("images/app/a1/data.txt", "images/app/a2/moved.txt")
    assert changed(repo) == {"a1": ["images/app/a1/data.txt"], "a2": ["images/app/a2/moved.txt"]}
    assert (top / "images/app/a2/moved.txt").exists()


def test_watch_globs(repo: git.Repo) -> None:
    top = Path(repo.working_tree_dir)
    text = (top / "bbc.yaml").read_text().replace("version: 2.0.0\n", "version: 2.0.0\n    watch: [shared/*.cfg]\n")
    (top / "bbc.yaml").write_text(text)
    repo.git.add(A=True)
    repo.index.commit("watch")
    write(top / "shared/app.cfg", "x=1\n")
    assert changed(repo) == {"b1": ["shared/app.cfg"]}


def test_an_edited_entry_in_bbc_yaml_counts_only_for_that_image(repo: git.Repo) -> None:
    top = Path(repo.working_tree_dir)
    text = (top / "bbc.yaml").read_text().replace("version: 1.2.0", "version: 1.3.0")
    (top / "bbc.yaml").write_text(text)
    assert changed(repo) == {"mid": ["bbc.yaml (images.mid)"]}


def test_unknown_revision_is_a_clear_error(repo: git.Repo) -> None:
    with pytest.raises(GitError, match="unknown revision 'nope'"):
        changed(repo, "nope")


def test_outside_git(tmp_path: Path) -> None:
    tiny_hierarchy(tmp_path)
    h = Hierarchy.of(config.load(tmp_path / "bbc.yaml"))
    with pytest.raises(GitError, match="not inside a git repository"):
        changes.changed_images(h, None)
