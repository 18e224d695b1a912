"""The one atomic write (bbc/adapters/state.py) every file bbc replaces goes through."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bbc.adapters.state import atomic_write


def test_atomic_write_replaces_the_file_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "bbc.yaml"
    path.write_text("old\n")
    path.chmod(0o640)
    atomic_write(path, "new ✓\n", sync=True)
    assert path.read_text(encoding="utf-8") == "new ✓\n"
    assert path.stat().st_mode & 0o777 == 0o640
    atomic_write(path, b"bytes\n", mode=0o644)
    assert path.read_bytes() == b"bytes\n" and path.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bbc.yaml"]


def test_a_new_file_is_private_unless_a_mode_is_given(tmp_path: Path) -> None:
    atomic_write(tmp_path / "record.json", "{}")
    assert (tmp_path / "record.json").stat().st_mode & 0o777 == 0o600
    atomic_write(tmp_path / "sbom.json", "{}", mode=0o644)
    assert (tmp_path / "sbom.json").stat().st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM scratch\n")

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        atomic_write(path, "FROM busybox\n")
    assert path.read_text() == "FROM scratch\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Dockerfile"]
