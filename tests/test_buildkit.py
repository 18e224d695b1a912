"""The BuildKit helpers: the context archive the daemon must recognise, and progress lines
decoded from a trace recorded from this machine's engine (docker.io 20.10, a RUN that
prints `one`, `two`, `three` without a final newline, then exits 3)."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

from bbc.adapters.docker import context as docker_context
from bbc.adapters.docker.buildkit import Progress, context_archive
from tests.helpers import write

TRACE = Path(__file__).parent / "data" / "buildkit-trace.json"


def test_progress_lines_from_a_recorded_failing_build() -> None:
    progress = Progress()
    lines: list[str] = []
    errors = []
    for chunk in json.loads(TRACE.read_text()):
        if chunk.get("id") == "moby.buildkit.trace":
            lines += progress.feed(chunk["aux"])
        else:
            errors.append(chunk["error"])
    lines += progress.flush()
    run = '#4 [2/2] RUN ["/bin/busybox", "sh", "-c", "echo one; echo two; printf three; exit 3"]'
    assert run in lines
    output = [line for line in lines if line.startswith("#4 ") and line != run]
    # the unterminated `three` arrives before the step's end and is not lost
    assert output == ["#4 one", "#4 two", "#4 three",
                      "#4 ERROR: executor failed running [/bin/busybox sh -c echo one; echo two; printf three; "
                      "exit 3]: exit code: 3"]
    assert "#3 [1/2] COPY busybox /bin/busybox" in lines and "#2 CACHED" in lines
    assert len(lines) == len(set(lines))  # each step named once, finished once
    assert errors and errors[0].endswith("exit code: 3")


def test_unreadable_trace_costs_lines_not_the_build() -> None:
    progress = Progress()
    assert progress.feed("not base64 protobuf!") == []
    assert progress.feed("CgM=") == []  # a vertex cut short


def test_context_archive_is_a_plain_tar_of_what_the_fingerprint_hashed(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    write(ctx / "Dockerfile", "FROM scratch\nCOPY . /\n")
    write(ctx / "app" / "main.py", "print('hi')\n")
    write(ctx / "secret.env", "TOKEN=x\n")
    write(ctx / ".dockerignore", "secret.env\n")
    os.utime(ctx / "app" / "main.py", (1_700_000_000.25, 1_700_000_000.75))  # a fractional mtime
    buf = io.BytesIO()
    name = context_archive(ctx, "Dockerfile", buf)
    data = buf.getvalue()
    assert name == "Dockerfile"
    # the daemon reads only the first block to tell a tar from a Dockerfile: no PAX header
    assert tarfile.TarInfo.frombuf(data[:512], "utf-8", "surrogateescape").type not in (tarfile.XHDTYPE,
                                                                                         tarfile.XGLTYPE)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = sorted(tar.getnames())
        main = tar.getmember("app/main.py")
        assert tar.extractfile(main).read() == b"print('hi')\n"  # type: ignore[union-attr]
    assert names == docker_context.context_files(ctx, "Dockerfile")
    assert "secret.env" not in names
    assert main.mtime == 1_700_000_000


def test_a_dockerfile_outside_the_context_travels_inside_the_archive(tmp_path: Path) -> None:
    write(tmp_path / "ctx" / "file.txt", "x\n")
    write(tmp_path / "elsewhere" / "Dockerfile.test", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n")
    buf = io.BytesIO()
    name = context_archive(tmp_path / "ctx", "../elsewhere/Dockerfile.test", buf)
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tar:
        assert sorted(tar.getnames()) == sorted(["file.txt", name])
        assert tar.extractfile(name).read() == b"ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n"  # type: ignore[union-attr]
