"""The fault matrix, on real engines, registries and files: what a run leaves behind when
something fails under it. Nothing half-tagged, no edit lost, no container left, and a re-run
finishes the job. (Failing builds mid-DAG, a registry stopped mid-release, Ctrl-C during a
test, and hanging tests are in tests/commands/test_build.py, test_release.py and test_test.py;
this module holds Ctrl-C during a build and the faults that need an engine of their own or many
processes.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli import bbc, ok
from tests.conftest import Engine
from tests.helpers import tiny_hierarchy, write

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_engine_killed_mid_build_is_one_line_and_nothing_is_tagged(second_engine: Engine, tmp_path: Path) -> None:
    root = tmp_path / "h"
    tiny_hierarchy(root, registry="localhost:5000/fault")
    write(root / "images/intermediate/mid/Dockerfile",
          "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN echo mid-starts && sleep 20\n")
    env = {**second_engine.env, "DOCKER_HOST": second_engine.host}
    proc = subprocess.Popen([sys.executable, "-m", "bbc.cli", "build", "mid", "-j", "1"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = root / ".bbc/logs/mid.log"
    try:
        wait_for(lambda: log.exists() and "mid-starts" in log.read_text(), 120, "mid's RUN to start")
        os.kill(second_engine.pid(), signal.SIGKILL)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, out
    lost = [line for line in out.splitlines() if "stopped answering" in line]
    assert lost == [f"[mid] FAILED after {lost[0].split('after ')[1].split(':')[0]}: engine at {second_engine.host} "
                    "stopped answering while building mid; nothing was tagged"], out
    assert "IncompleteRead" not in out and "Connection broken" not in out

    # `up` sees the dead engine (stale pidfile and socket), starts a fresh one and checks it answers
    up = second_engine.script("up")
    assert up.returncode == 0, up.stderr
    assert "starting dockerd" in up.stderr
    assert subprocess.run(["docker", "version"], env=env, capture_output=True).returncode == 0
    tags = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], env=env,
                          capture_output=True, text=True, check=True).stdout.split()
    assert "localhost:5000/fault/mid:1.2.0" not in tags
    # and a re-run finishes the job
    write(root / "images/intermediate/mid/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN echo mid\n")
    assert "built 1.2.0" in ok(bbc(root, "build", "mid", env=env)).out


def test_engine_up_restarts_an_engine_that_does_not_answer(second_engine: Engine) -> None:
    # a live pid whose socket is gone: `up` must not report success over it
    pid = second_engine.pid()
    os.kill(pid, signal.SIGSTOP)  # alive, but answers nothing
    try:
        up = second_engine.script("up")
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert up.returncode == 0, up.stderr
    assert "does not answer" in up.stderr and "starting dockerd" in up.stderr
    assert second_engine.pid() != pid
    assert subprocess.run(["docker", "version"], env={**second_engine.env, "DOCKER_HOST": second_engine.host},
                          capture_output=True).returncode == 0


def test_two_builds_of_the_same_images_at_once_build_each_once(tmp_path: Path, docker_client: Any) -> None:
    import uuid

    from tests.helpers import remove_images

    prefix = f"localhost:5000/twice{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    tiny_hierarchy(root, registry=prefix)
    write(root / "images/intermediate/mid/Dockerfile",
          "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN sleep 2 && echo mid > /tmp/mid\n")
    try:
        procs = [subprocess.Popen([sys.executable, "-m", "bbc.cli", "build", "--no-pull", "--format", "json"], cwd=root,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        import json

        results = [{r["image"]: r for r in json.loads(out)} for out, _ in outs]
        for name in ("base", "mid", "a1", "a2", "b1"):
            # built by one run; the other found that build when its turn came
            assert sorted(r[name]["result"] for r in results) == ["built", "up-to-date"], (name, outs)
            assert results[0][name]["id"] == results[1][name]["id"]
            tagged = docker_client.images.get(f"{prefix}/{name}:latest")
            assert tagged.id == results[0][name]["id"]
        assert "another bbc run built it meanwhile" in outs[0][1] + outs[1][1]
        # the plan agrees: nothing left to build
        assert "all 5 images up to date" in ok(bbc(root, "build")).out
    finally:
        remove_images(docker_client, prefix)


def test_ctrl_c_during_a_build_exits_130_and_tags_nothing(tmp_path: Path, docker_client: Any) -> None:
    import uuid

    from tests.helpers import container_ids, ctrl_c, remove_images

    prefix = f"localhost:5000/intr{uuid.uuid4().hex[:6]}"
    root = tmp_path / "h"
    tiny_hierarchy(root, registry=prefix)
    # unique, so BuildKit's cache cannot answer it; the log's step header shows the command as
    # written, so the marker waited for is the shell's output ("42-started"), not the header
    write(root / "images/intermediate/mid/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n"
          f"RUN echo {prefix} > /tmp/run && echo $((6*7))-started && sleep 6 && echo mid > /tmp/mid\n")
    before = container_ids(docker_client)
    log = root / ".bbc/logs/mid.log"
    code, out = ctrl_c(["build", "mid", "-j", "1"], root, lambda: log.exists() and "42-started" in log.read_text(),
                       "mid's RUN to start")
    try:
        assert code == 130, out
        time.sleep(8)  # longer than the RUN: a build the engine finished anyway would be tagged by now
        tags = {t for i in docker_client.images.list() for t in i.tags if t.startswith(f"{prefix}/mid:")}
        assert tags == set(), out
        assert f"{prefix}/base:1.0.0" in {t for i in docker_client.images.list() for t in i.tags}  # done before
        assert container_ids(docker_client) == before
        # a re-run finishes the job
        assert "built 1.2.0" in ok(bbc(root, "build", "mid")).out
    finally:
        remove_images(docker_client, prefix)
