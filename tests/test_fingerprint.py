"""Which changes alter a fingerprint, and which must not."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

from bbc.adapters.docker import context as docker_context
from bbc import config
from bbc.plan import fingerprint
from tests.helpers import write


@pytest.fixture()
def spec(tmp_path: Path) -> config.ImageSpec:
    write(tmp_path / "app/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nCOPY . /app\n")
    write(tmp_path / "app/main.py", "print('hi')\n")
    write(tmp_path / "app/sub/data.txt", "1\n")
    write(tmp_path / "bbc.yaml", "registry: r\nimages:\n  root: {path: app, version: 1.0.0}\n")
    return config.load(tmp_path / "bbc.yaml").images["root"]


def fp(spec: config.ImageSpec, parent: str | None = "p1") -> str:
    return fingerprint.compute(spec, fingerprint.digest_context(spec.path, spec.dockerfile), parent)


def test_stable(spec: config.ImageSpec) -> None:
    assert fp(spec) == fp(spec)


@pytest.mark.parametrize("change", ["content", "new file", "delete", "mode", "dockerfile", "symlink"])
def test_context_changes_alter_it(spec: config.ImageSpec, change: str) -> None:
    before = fp(spec)
    if change == "content":
        (spec.path / "sub/data.txt").write_text("2\n")
    elif change == "new file":
        (spec.path / "new.txt").write_text("")
    elif change == "delete":
        (spec.path / "main.py").unlink()
    elif change == "mode":
        os.chmod(spec.path / "main.py", 0o755)
    elif change == "dockerfile":
        (spec.path / "Dockerfile").write_text("ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n")
    elif change == "symlink":
        os.symlink("main.py", spec.path / "link")
    assert fp(spec) != before


@pytest.mark.parametrize(
    "field,value",
    [("build_args", {"X": "1"}), ("target", "final"), ("platform", "linux/arm64"), ("version", "1.0.1"),
     ("labels", {"team": "ml"})],
)
def test_build_settings_alter_it(spec: config.ImageSpec, field: str, value: object) -> None:
    assert fp(dataclasses.replace(spec, **{field: value})) != fp(spec)


def test_parent_alters_it(spec: config.ImageSpec) -> None:
    assert fp(spec, "p1") != fp(spec, "p2")


def test_things_docker_never_sees_do_not(spec: config.ImageSpec) -> None:
    write(spec.path / ".dockerignore", "*.log\nbuild/\n")
    before = fp(spec)
    (spec.path / "debug.log").write_text("noise")
    write(spec.path / "build/out.bin", "x")
    os.utime(spec.path / "main.py", (0, 0))  # mtime is not content
    assert fp(spec) == before
    # network mode and the description change how we build, not what
    assert fp(dataclasses.replace(spec, network="none", description="x")) == before


def test_dockerignore_negation_and_dockerfile_always_sent(spec: config.ImageSpec) -> None:
    write(spec.path / ".dockerignore", "*\n!main.py\n")
    files = docker_context.context_files(spec.path, spec.dockerfile)
    assert "main.py" in files and "Dockerfile" in files and "sub/data.txt" not in files
    assert ".dockerignore" not in files  # bbc applies it: no builder gets it to apply again
    before = fp(spec)
    (spec.path / "sub/data.txt").write_text("ignored now\n")
    assert fp(spec) == before
    (spec.path / "main.py").write_text("changed\n")
    assert fp(spec) != before


def test_remembered_file_hashes_never_hide_a_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    context = tmp_path / "ctx"
    data = write(context / "data.txt", "one\n")
    write(context / "Dockerfile", "FROM scratch\nCOPY data.txt /\n")
    cache = tmp_path / ".bbc/cache/files.pickle"
    fresh = fingerprint.FileHashes.load(cache)
    before = fingerprint.digest_context(context, "Dockerfile", fresh).digest
    assert fresh.entries == {}  # written just now: racy, so not remembered
    old = 1_700_000_000
    for p in context.iterdir():
        os.utime(p, (old, old))
    monkeypatch.setattr(fingerprint, "RACY_NS", 0)  # as if 2 s had passed since the last change
    hashes = fingerprint.FileHashes.load(cache)
    assert fingerprint.digest_context(context, "Dockerfile", hashes).digest == before
    hashes.save()
    remembered = fingerprint.FileHashes.load(cache)
    assert set(remembered.entries) == {str(context / "data.txt"), str(context / "Dockerfile")}

    def no_read(full: str, size: int) -> str:
        raise AssertionError(f"{full} read again although unchanged")

    with monkeypatch.context() as m:
        m.setattr(fingerprint, "_hash_file", no_read)
        assert fingerprint.digest_context(context, "Dockerfile", remembered).digest == before
    # same size, mtime put back by hand: the ctime (which nobody can set) still moved; the
    # pause outlasts the kernel's timestamp tick, which the 2 s racy margin covers in real runs
    time.sleep(0.05)
    data.write_text("two\n")
    os.utime(data, (old, old))
    assert fingerprint.digest_context(context, "Dockerfile", remembered).digest != before
    assert fingerprint.digest_context(context, "Dockerfile").digest == fingerprint.digest_context(
        context, "Dockerfile", remembered).digest
