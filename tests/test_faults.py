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
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import bbc, ok
from tests.conftest import Engine
from tests.helpers import container_ids, ctrl_c, remove_images, tiny_hierarchy, write

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


# -- faults in what bbc reads (issue 27): the tree, bbc.yaml, Dockerfiles, the registry ------

def planned(root: Path, *args: str) -> list[str]:
    """The images `bbc plan ARGS` selects and would build, parents first."""
    import json

    run = ok(bbc(root, "plan", "--format", "json", *args))
    return [s["image"] for s in json.loads(run.out)["steps"]
            if s["kind"] == "build" and s["selected"] and s["action"] == "build"]


def commit_all(repo: Path, message: str) -> None:
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, capture_output=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], cwd=repo,
                   check=True, capture_output=True)


def test_changed_sees_a_submodule_a_symlinked_folder_and_a_dockerfile_outside(tmp_path: Path) -> None:
    child = "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nCOPY . /srv/\n"
    upstream = tmp_path / "upstream"  # the submodule's own repository
    write(upstream / "Dockerfile", child)
    write(upstream / "f.txt", "1\n")
    subprocess.run(["git", "init", "-q", str(upstream)], check=True)
    commit_all(upstream, "upstream")
    root = tmp_path / "h"
    config = tiny_hierarchy(root, registry="localhost:5000/changed")
    with config.open("a") as f:
        f.write("  sub: {path: images/app/sub, parent: base, version: 1.0.0}\n"
                "  linked: {path: images/app/linked, parent: base, version: 1.0.0}\n"
                "  outside: {path: images/app/outside, dockerfile: ../../../shared/Dockerfile, parent: base,"
                " version: 1.0.0}\n")
    write(root / "shared/app/Dockerfile", child)
    write(root / "shared/app/data.txt", "1\n")
    write(root / "shared/Dockerfile", child)
    write(root / "images/app/outside/data.txt", "1\n")
    (root / "images/app/linked").symlink_to("../../shared/app")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(upstream),
                    "images/app/sub"], cwd=root, check=True, capture_output=True)
    commit_all(root, "hierarchy")
    assert planned(root, "--changed") == []
    # bbc check knows the two Dockerfiles are covered: by a symlinked path and by `dockerfile:`
    assert "no image covers" not in ok(bbc(root, "check")).out

    # a commit inside the submodule, then the commit of its new pointer
    sub = root / "images/app/sub"
    write(sub / "f.txt", "2\n")
    commit_all(sub, "inside")
    assert planned(root, "--changed") == ["sub"]
    commit_all(root, "pointer")
    assert planned(root, "--changed") == []
    assert planned(root, "--changed", "--since", "HEAD~1") == ["sub"]
    write(sub / "new.txt", "untracked in the submodule\n")
    assert planned(root, "--changed") == ["sub"]
    (sub / "new.txt").unlink()

    # a file where the symlinked folder leads, and the Dockerfile outside the image's folder
    write(root / "shared/app/data.txt", "2\n")
    assert planned(root, "--changed") == ["linked"]
    write(root / "shared/Dockerfile", child + "RUN true\n")
    assert planned(root, "--changed") == ["linked", "outside"]
    commit_all(root, "shared")
    assert planned(root, "--changed", "--since", "HEAD~1") == ["linked", "outside"]


def test_a_heredoc_body_is_content_that_check_plan_and_pin_leave_alone(tmp_path: Path, server: Any,
                                                                        docker_client: Any) -> None:
    from tests.test_bases import publish_upstream

    evil = f"{server.addr}/upstream/evil:latest"  # a real image: on main, bbc pin pinned it in the body
    publish_upstream(docker_client, evil, "evil", tmp_path)
    root = tmp_path / "h"
    tiny_hierarchy(root, registry=f"{server.addr}/here")
    a1 = write(root / "images/app/a1/Dockerfile",
               f"ARG SOURCE_IMAGE\nFROM ${{SOURCE_IMAGE}}\nCOPY <<EOF /etc/notes.txt\nFROM {evil}\nEOF\n")
    a2 = write(root / "images/app/a2/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n"
               "RUN <<-EOF sh && <<\"END\" cat > /etc/x\n\techo ok\n\tEOF\nFROM 127.0.0.1:9/nowhere/evil:1\nEND\n")
    before = {a1: a1.read_text(), a2: a2.read_text()}
    try:
        check = ok(bbc(root, "check"))
        assert "pinned" not in check.out + check.err and "evil" not in check.out + check.err
        assert planned(root, "a1", "a2") == ["a1", "a2"]  # nothing to resolve in a body
        assert "every external base is pinned" in ok(bbc(root, "pin", "a1", "a2")).out
        assert {a1: a1.read_text(), a2: a2.read_text()} == before
    finally:
        remove_images(docker_client, server.addr)


def unprivileged(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`bbc ARGS` as a user without CAP_DAC_OVERRIDE: root here, with the capabilities that
    read past file permissions dropped (setpriv), so a chmod 000 file cannot be read."""
    drop = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]
    return subprocess.run([*(drop if os.geteuid() == 0 else []), sys.executable, "-m", "bbc.cli", *args], cwd=root,
                          capture_output=True, text=True, timeout=300)


def test_an_unreadable_file_or_folder_of_a_context_is_one_located_error(tmp_path: Path, docker_client: Any) -> None:
    prefix = _prefix("unread")
    root = tmp_path / "h"
    tiny_hierarchy(root, registry=prefix)
    secret = write(root / "images/app/a1/secret.txt", "s\n")
    locked = write(root / "images/app/a2/locked/f", "x\n").parent
    secret.chmod(0)
    locked.chmod(0)
    try:
        for image, where, kind in (("a1", "images/app/a1/secret.txt", "file"),
                                   ("a2", "images/app/a2/locked", "folder")):
            for verb in ("plan", "build"):
                run = unprivileged(root, verb, image)
                assert (run.returncode, run.stdout, run.stderr.splitlines()) == (1, "", [
                    f"bbc: error: {where}: cannot read this {kind} of {image}'s build context (Permission denied)",
                    "bbc: tip: nothing was built; a build context must be readable by bbc (as by `docker build`): "
                    "fix its permissions, or leave it out with .dockerignore"]), (verb, run.stdout + run.stderr)
        assert not [t for i in docker_client.images.list() for t in i.tags if t.startswith(prefix)]
        # left out with .dockerignore, as the tip says, it builds
        write(root / "images/app/a2/.dockerignore", "locked\n")
        run = unprivileged(root, "build", "a2")
        assert run.returncode == 0 and "[a2] built 0.1.0" in run.stdout, run.stdout + run.stderr
        # an unreadable Dockerfile is not a missing one
        (root / "images/app/a2/Dockerfile").chmod(0)
        run = unprivileged(root, "check")
        assert run.returncode == 1 and run.stderr.splitlines()[0].endswith(
            "images.a2.path: cannot read 'images/app/a2/Dockerfile' (Permission denied)"), run.stderr
    finally:
        (root / "images/app/a2/Dockerfile").chmod(0o644)
        secret.chmod(0o644)
        locked.chmod(0o755)
        remove_images(docker_client, prefix)


def test_one_fingerprint_one_context_on_buildkit_and_the_legacy_builder(tmp_path: Path, docker_client: Any) -> None:
    prefix = _prefix("ctx")
    root = tmp_path / "h"
    tiny_hierarchy(root, registry=prefix)
    copy_all = "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nCOPY . /ctx/\n"
    for image, ignore in (("a1", "*\n!app.sh\n!dir/keep\n"), ("a2", "Dockerfile\ndata.txt\n")):
        write(root / f"images/app/{image}/Dockerfile", copy_all)
        write(root / f"images/app/{image}/.dockerignore", ignore)
        write(root / f"images/app/{image}/app.sh", "echo app\n")
        write(root / f"images/app/{image}/dir/keep", "keep\n")
        write(root / f"images/app/{image}/dir/drop", "drop\n")
    # b1's Dockerfile is outside its folder: it travels as .dockerfile.bbc, on every builder
    write(root / "shared/Dockerfile", copy_all)
    config = root / "bbc.yaml"
    config.write_text(config.read_text().replace("path: images/app/b1\n",
                                                 "path: images/app/b1\n    dockerfile: ../../../shared/Dockerfile\n"))
    images = {"a1": "0.1.0", "a2": "0.1.0", "b1": "2.0.0"}
    built: dict[str, dict[str, tuple[str, list[str]]]] = {}
    try:
        for builder, env in (("buildkit", {}), ("legacy", {"DOCKER_BUILDKIT": "0"})):
            for row in docker_client.api.images():  # they build again, on this builder
                for tag in row.get("RepoTags") or ():
                    if tag.startswith(tuple(f"{prefix}/{image}:" for image in images)):
                        docker_client.images.remove(tag, force=True)
            out = ok(bbc(root, "build", *images, env=env)).out
            assert all(f"[{image}] built {version}" in out for image, version in images.items()), out
            assert ("Step 1/" in (root / ".bbc/logs/a1.log").read_text()) == (builder == "legacy")
            built[builder] = {}
            for image, version in images.items():
                ref = f"{prefix}/{image}:{version}"
                listing = docker_client.containers.run(ref, ["find", "/ctx"], remove=True, network_mode="none")
                built[builder][image] = (docker_client.images.get(ref).labels["bbc.fingerprint"],
                                         sorted(listing.decode().split()))
        assert built["legacy"] == built["buildkit"]
        # what .dockerignore keeps, the Dockerfile always (the builder reads it from the
        # context), .dockerignore never
        assert built["buildkit"]["a1"][1] == ["/ctx", "/ctx/Dockerfile", "/ctx/app.sh", "/ctx/dir", "/ctx/dir/keep"]
        assert built["buildkit"]["a2"][1] == ["/ctx", "/ctx/Dockerfile", "/ctx/app.sh", "/ctx/dir", "/ctx/dir/drop",
                                              "/ctx/dir/keep"]
        assert built["buildkit"]["b1"][1] == ["/ctx", "/ctx/.dockerfile.bbc", "/ctx/Dockerfile", "/ctx/data.txt"]
    finally:
        remove_images(docker_client, prefix)


def test_init_force_never_overwrites_a_backup(tmp_path: Path) -> None:
    write(tmp_path / "a/Dockerfile", "FROM scratch\n")
    mine = write(tmp_path / "bbc.yaml", "# written by hand, kept through every --force\nregistry: acme\n").read_text()
    kept = []
    for run in range(3):
        out = ok(bbc(tmp_path, "init", "--force", "--registry", f"localhost:5000/run{run}"))
        name = "bbc.yaml.bak" + (f".{run}" if run else "")
        assert f"bbc init: kept the old bbc.yaml as {name}\n" in out.err
        kept.append((tmp_path / name).read_text())
    assert kept[0] == mine
    assert ["registry: localhost:5000/run0\n" in kept[1], "registry: localhost:5000/run1\n" in kept[2]] == [True, True]
    assert "registry: localhost:5000/run2\n" in (tmp_path / "bbc.yaml").read_text()


def test_build_metadata_does_not_get_around_write_once(tmp_path: Path, server: Any, docker_client: Any) -> None:
    from bbc.adapters.registry.client import Registry

    prefix = _prefix("meta", server.addr)
    root = tmp_path / "h"
    config = tiny_hierarchy(root, registry=prefix)
    repository = f"{prefix.split('/', 1)[1]}/b1"
    reg = Registry(server.addr)

    def release_as(version: str, content: str) -> Any:
        text = config.read_text()
        current = text.split("b1:", 1)[1].split("version: ", 1)[1].split("\n", 1)[0]
        config.write_text(text.replace(f"version: {current}", f"version: {version}"))
        write(root / "images/app/b1/data.txt", content)
        return bbc(root, "release", "--no-test", "b1")

    def tags() -> dict[str, str]:
        return {t: reg.manifest(repository, t).digest for t in reg.tags(repository)  # type: ignore[union-attr]
                if not t.startswith(("candidate-", "sha256-"))}  # release tags, not what goes beside them

    try:
        ok(release_as("2.0.0+build.7", "seven\n"))
        released = tags()
        assert set(released) == {"2.0.0_build.7", "2.0", "2", "latest"} and len(set(released.values())) == 1
        for version in ("2.0.0+build.6", "2.0.0"):  # equal precedence to semver, other content
            run = release_as(version, "six\n")
            line = next(n for n, text in enumerate(config.read_text().splitlines(), 1)
                        if text.strip() == f"version: {version}")
            assert (run.code, run.err.splitlines()[:1]) == (1, [
                f"bbc: error: bbc.yaml:{line}: images.b1.version: {version} is the same release as 2.0.0+build.7, "
                f"already in {prefix}/b1 with other content (versions that differ only in build metadata have "
                "equal precedence); release tags are write-once: `bbc bump b1 patch`"]), run.out + run.err
            assert tags() == released  # nothing moved, nothing added
        # a real bump moves them on
        ok(release_as("2.0.1+build.8", "eight\n"))
        assert tags()["latest"] == tags()["2.0.1_build.8"] != released["latest"]
    finally:
        remove_images(docker_client, prefix)


def test_bbc_yaml_mistakes_are_each_said_in_full(tmp_path: Path) -> None:
    from tests.conftest import busybox_context

    busybox_context(tmp_path / "root")
    long = "x" * 250

    def check(images: str) -> list[str]:
        write(tmp_path / "bbc.yaml", "registry: localhost:5000/acme\nimages:\n" + images)
        run = bbc(tmp_path, "check")
        assert run.code == 1 and run.out == "" and "Traceback" not in run.err, run.out + run.err
        return [line for line in run.err.splitlines() if not line.startswith("bbc: tip:")]

    # a name Docker refuses says why; one it accepts (a__b) is accepted (built in the next test)
    assert check("  A: {path: root, version: 1.0.0}\n  b-: {path: root, version: 1.0.0, target: x}\n"
                 "  a._b: {path: root, version: 1.0.0, target: y}\n  a__b: {path: root, version: 1.0.0, target: z}\n"
                 f"  {long}: {{path: root, version: 1.0.0, target: w}}\n") == [
        "bbc: error: bbc.yaml:3: images.A: not a name Docker accepts: Docker repository names are lower-case: 'a'",
        "bbc: error: bbc.yaml:4: images.b-: not a name Docker accepts: an image name starts and ends with a "
        "lower-case letter or digit",
        "bbc: error: bbc.yaml:5: images.a._b: not a name Docker accepts: '._' cannot separate the parts of an image "
        "name: one '.', one '_', '__', or dashes",
        f"bbc: error: bbc.yaml:7: images.{long}: 270 characters with the registry (localhost:5000/acme/...): Docker "
        "refuses repository names longer than 255; shorten the name to 235 at most"]
    # every duplicate key, not the first alone
    assert check("  a:\n    path: root\n    path: other\n    version: 1.0.0\n    version: 2.0.0\n") == [
        "bbc: error: bbc.yaml:5: images.a.path: duplicate key (first set on line 4); YAML would silently keep only "
        "the last one",
        "bbc: error: bbc.yaml:7: images.a.version: duplicate key (first set on line 6); YAML would silently keep "
        "only the last one"]
    # a tab, named as such
    assert check("  a:\n\tpath: root\n") == [
        "bbc: error: bbc.yaml:4: a tab in the indentation (column 1); YAML indents with spaces only"]
    # a path that names the Dockerfile, not its folder
    assert check("  a: {path: root/Dockerfile, version: 1.0.0}\n") == [
        "bbc: error: bbc.yaml:3: images.a.path: 'root/Dockerfile' is a file; path names the image's folder (its "
        "build context): `path: root`"]


def test_names_docker_accepts_build(tmp_path: Path, docker_client: Any) -> None:
    prefix = _prefix("names")
    root = tmp_path / "h"
    config = tiny_hierarchy(root, registry=prefix)
    config.write_text(config.read_text().replace("  a1:\n", "  a__1:\n").replace("  a2:\n", "  a--2:\n"))
    try:
        run = ok(bbc(root, "build", "a__1", "a--2"))
        assert "[a__1] built 0.1.0" in run.out and "[a--2] built 0.1.0" in run.out
        tags = {t for i in docker_client.images.list() for t in i.tags}
        assert {f"{prefix}/a__1:0.1.0", f"{prefix}/a--2:0.1.0"} <= tags
    finally:
        remove_images(docker_client, prefix)


def test_fifos_and_sockets_in_a_context_are_said_and_sent_by_no_builder(tmp_path: Path, docker_client: Any) -> None:
    import socket

    prefix = _prefix("fifo")
    root = tmp_path / "h"
    tiny_hierarchy(root, registry=prefix)
    os.mkfifo(root / "images/app/a1/pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "images/app/a1/sock"))
    try:
        for builder, env in (("buildkit", {}), ("legacy", {"DOCKER_BUILDKIT": "0"})):
            remove_images(docker_client, prefix)
            run = ok(bbc(root, "build", "a1", env=env))
            assert [line for line in run.out.splitlines() if line.startswith("warning:")] == [
                f"warning: images/app/a1/{name}: a {kind} in a1's build context is not sent to the builder (only "
                "files, folders and symlinks are)" for name, kind in (("pipe", "FIFO"), ("sock", "socket"))], builder
            listing = docker_client.containers.run(f"{prefix}/a1:0.1.0", ["ls", "/srv/a1"], remove=True,
                                                   network_mode="none")
            assert listing.decode().split() == ["Dockerfile", "data.txt"], builder
    finally:
        sock.close()
        remove_images(docker_client, prefix)


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
    prefix = _prefix("twice")
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
    prefix = _prefix("intr")
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


# -- issue 27, the run/test/release half: what a run leaves and says when something under it fails --

def _tree(root: Path, prefix: str, images: str, *, base_extra: str = "") -> Path:
    """A busybox root `base` (a fingerprint of its own: a unique file in its context, and
    `base_extra` appended to its Dockerfile) and `b1` on it, plus the `images:` entries given;
    bbc.yaml at root."""
    import textwrap

    from tests.conftest import busybox_context

    ctx = busybox_context(root / "images/root/base")
    (ctx / "unique.txt").write_text(uuid.uuid4().hex)
    if base_extra:
        (ctx / "Dockerfile").write_text((ctx / "Dockerfile").read_text() + base_extra)
    write(root / "images/app/b1/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nCOPY data.txt /srv/b1\n")
    write(root / "images/app/b1/data.txt", "b1\n")
    return write(root / "bbc.yaml", f"registry: {prefix}\ndefaults:\n  network: host\nimages:\n"
                 + textwrap.indent(textwrap.dedent(images), "  "))


def _prefix(what: str, registry: str = "localhost:5000") -> str:
    """A repository prefix of this test's own, so that no two tests share a tag."""
    return f"{registry}/{what}{uuid.uuid4().hex[:6]}"


def _release_tags(client: Any, repository: str) -> dict[str, str]:
    """tag -> image ID of the local tags of `repository`."""
    return {t: row["Id"] for row in client.api.images() for t in row.get("RepoTags") or ()
            if t.rpartition(":")[0] == repository}


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a tmpfs of its own, 3 MB (busybox takes 2 of them)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where = tmp_path / "small"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(folder: Path) -> Path:
    """Fill the file system of `folder` to the last byte; the filler file."""
    import errno

    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return filler


@pytest.mark.parametrize("unwritable", ["manifest", "log"])
def test_a_build_failing_on_a_full_disk_moves_no_tag_and_names_the_file(
        small_disk: Path, docker_client: Any, unwritable: str) -> None:
    # issue 27 item 1: `[b1] FAILED ...: OSError: [Errno 28] No space left on device`, exit 1, yet
    # b1:2.0.0, 2.0, 2 and latest had moved to the new build (the engine tagged it as it built)
    prefix = _prefix("full")
    root = small_disk / "h"
    tiny_hierarchy(root, registry=prefix)
    try:
        ok(bbc(root, "build", "b1"))
        before = _release_tags(docker_client, f"{prefix}/b1")
        assert len(before) == 4 and len(set(before.values())) == 1
        (root / "images/app/b1/data.txt").write_text("changed\n")
        log = root / ".bbc/logs/b1.log"
        if unwritable == "log":
            log.write_text("")  # truncating it frees nothing: its first line finds the disk full
            target = log
        else:
            log.write_text(log.read_text() + "OLD RUN\n")  # the new log fits in what truncating it frees
            target = root / ".bbc/state/b1.json"
        filler = _fill(small_disk)
        run = bbc(root, "build", "b1")
        out = run.out + run.err
        assert run.code == 1, out
        assert _release_tags(docker_client, f"{prefix}/b1") == before, out
        failed = [line for line in out.splitlines() if line.startswith("[b1] FAILED")]
        assert len(failed) == 1 and failed[0].endswith(
            f": cannot write {target}: No space left on device; nothing was tagged"), out
        assert "Errno" not in out and "OSError" not in out and "Traceback" not in out
        # a log it points to is this run's (never an older run's, never one it could not write)
        pointed = [line.split("full log: ", 1)[1] for line in out.splitlines() if "full log: " in line]
        if unwritable == "log":
            assert pointed == [], out
        for path in pointed:
            assert "OLD RUN" not in Path(path).read_text()
        # room again: a re-run finishes the job
        filler.unlink()
        assert "[b1] built 2.0.0" in ok(bbc(root, "build", "b1")).out
        after = _release_tags(docker_client, f"{prefix}/b1")
        assert set(after) == set(before) and len(set(after.values())) == 1 and after != before
    finally:
        remove_images(docker_client, prefix)


def test_a_failing_test_that_prints_a_lot_keeps_its_last_lines(tmp_path: Path, docker_client: Any) -> None:
    # issue 27 item 2: the log was cut at ~6 MB and "REAL ERROR HERE" never appeared (the runner
    # waited 10 s for the output, then removed the container); 100 MB on one line: an empty log
    prefix = _prefix("loud")
    root = tmp_path / "h"
    _tree(root, prefix, """\
        base:
          path: images/root/base
          version: 1.0.0
          test:
            command: ["/bin/sh", "-c", "yes line | head -c 10000000; echo REAL ERROR HERE; exit 3"]
        b1:
          path: images/app/b1
          parent: base
          version: 1.0.0
          test:
            skip: [base]
            command: ["/bin/sh", "-c", "head -c 100000000 /dev/zero | tr '\\\\0' x; echo; echo REAL ERROR TOO; exit 4"]
        """)
    try:
        run = bbc(root, "test", "-j", "2")
        out = run.out + run.err
        assert run.code == 1, out[-3000:]
        assert "base (own): exit code 3" in out and "    | REAL ERROR HERE" in out, out[-3000:]
        assert "b1 (own): exit code 4" in out and "    | REAL ERROR TOO" in out, out[-3000:]
        assert max(len(line) for line in out.splitlines()) < 1000  # a 100 MB line is not printed whole
        for image, last in (("base", "REAL ERROR HERE"), ("b1", "REAL ERROR TOO")):
            log = root / f".bbc/logs/{image}.test.log"
            size = log.stat().st_size
            assert 0 < size < 8_000_000, size  # capped ...
            lines = log.read_text().splitlines()
            assert lines[-2:] == [last, f"== test {image}: failed (exit code {3 if image == 'base' else 4})"]
            assert any("bytes of its output cut here" in line for line in lines)  # ... and says where
            assert lines[1].startswith("line" if image == "base" else "xxxx")  # ... keeping the head too
    finally:
        remove_images(docker_client, prefix)


@pytest.mark.parametrize("had_tags", [True, False])
def test_release_tags_that_cannot_all_move_are_put_back(tmp_path: Path, docker_client: Any, had_tags: bool) -> None:
    # issue 27 item 1: tags move all or none. The engine refuses the third of b1's four tags:
    # the two moved before it go back where they were (or away, when b1 had none)
    from bbc.adapters.docker.engine import connect
    from bbc.config import load_hierarchy
    from bbc.errors import BbcError, EngineError
    from bbc.run import tagging

    prefix = _prefix("putback")
    root = tmp_path / "h"
    tiny_hierarchy(root, registry=prefix)
    try:
        ok(bbc(root, "build", "b1"))
        before = _release_tags(docker_client, f"{prefix}/b1")
        if not had_tags:
            for ref in before:
                docker_client.api.remove_image(ref)
            before = {}
        new_id = docker_client.images.get(f"{prefix}/base:1.0.0").id  # any other image will do
        real = connect()

        class Refusing:  # the real engine, refusing one tag as an engine would (a full disk, a lost daemon)
            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

            def tag(self, image_id: str, repository: str, tag: str) -> None:
                if tag == "2":
                    raise EngineError(f"engine at {real.address}: tag {repository}:{tag}: refused")
                real.tag(image_id, repository, tag)

        with pytest.raises(BbcError) as caught:
            tagging.tag(Refusing(), load_hierarchy(root / "bbc.yaml"), "b1", new_id, set())  # type: ignore[arg-type]
        assert caught.value.message == (
            f"b1: moving {prefix}/b1:2 failed: engine at {real.address}: tag {prefix}/b1:2: refused; "
            "the tags moved before it were put back")
        assert _release_tags(docker_client, f"{prefix}/b1") == before
    finally:
        remove_images(docker_client, prefix)


def _registry_release_tags(reg: Any, repository: str) -> set[str]:
    """The registry's tags of `repository` but candidates and what is published beside a release
    (SBOMs, the referrers tag schema's `sha256-…` index)."""
    return {t for t in reg.tags(repository) if not t.startswith(("candidate-", "sha256-"))}


@pytest.mark.parametrize("stop_at", [3, 6])
def test_a_registry_dying_mid_promote_is_reported_as_it_is(
        tmp_path: Path, server: Any, docker_client: Any, monkeypatch: pytest.MonkeyPatch, stop_at: int) -> None:
    # issue 27 item 9: with the registry killed while promoting, bbc said "no release tag was
    # moved" while most images already held their new X.Y.Z; and a root released before was
    # listed as "not released". The registry dies just before bbc's `stop_at`-th tag move: the
    # 3rd X.Y.Z (3), or the 2nd floating tag, every X.Y.Z moved (6).
    import json

    from click.testing import CliRunner

    from bbc.adapters.registry.client import Registry
    from bbc.cli.app import cli

    prefix = _prefix("p", server.addr)
    root = tmp_path / "repo"
    tiny_hierarchy(root, registry=prefix)
    namespace = prefix.split("/", 1)[1]
    try:
        ok(bbc(root, "release", "--no-test", "base"))  # a root released before
        moves: list[tuple[str, str]] = []
        put_tag = Registry.put_tag

        def dying(self: Registry, repository: str, manifest: Any, tag: str) -> None:
            if not tag.startswith("candidate-"):  # a release tag (candidate pushes move candidate-latest)
                moves.append((repository, tag))
                if len(moves) == stop_at:
                    server.stop()
            put_tag(self, repository, manifest, tag)

        monkeypatch.setattr(Registry, "put_tag", dying)
        run = CliRunner().invoke(cli, ["-c", str(root / "bbc.yaml"), "release", "--no-test", "--format", "json"],
                                 catch_exceptions=False)
        monkeypatch.undo()
        assert run.exit_code == 1, run.output
        assert "no release tag was moved" not in run.stderr, run.stderr
        assert "run `bbc release` again to finish" in run.stderr
        rows = {r["image"]: r for r in json.loads(run.stdout)}
        landed = moves[:stop_at - 1]  # the registry answered these
        doubtful, tag = moves[stop_at - 1]
        assert f"; {doubtful.rsplit('/', 1)[1]} {tag} in doubt (the registry failed while moving it)" in run.stderr
        server.start()
        reg = Registry(server.addr)
        for name in ("mid", "a1", "a2", "b1"):
            repository = f"{namespace}/{name}"
            claimed = set(rows[name]["tags"])
            assert claimed == {t for r, t in landed if r == repository}, (name, rows[name], moves)
            held = _registry_release_tags(reg, repository)
            assert held == claimed, (name, held, rows[name])  # what bbc said is what the registry holds
            assert rows[name]["result"] == ("not released" if not claimed else "released" if len(claimed) == 4
                                            else "partly released"), rows[name]
        assert rows["base"]["result"] == "already released" and "1.0.0" in rows["base"]["tags"], rows["base"]
        # and a re-run completes the release
        finished = {r["image"]: r for r in json.loads(ok(bbc(root, "release", "--no-test", "--format", "json")).out)}
        assert finished["base"]["result"] == "already released"
        for name, version in (("mid", "1.2.0"), ("a1", "0.1.0"), ("a2", "0.1.0"), ("b1", "2.0.0")):
            assert finished[name]["result"] in ("released", "already released"), finished[name]
            tags = {t: reg.manifest(f"{namespace}/{name}", t)
                    for t in _registry_release_tags(reg, f"{namespace}/{name}")}
            assert set(tags) == {version, version.rsplit(".", 1)[0], version.split(".")[0], "latest"}
            assert len({m.digest for m in tags.values() if m is not None}) == 1
    finally:
        remove_images(docker_client, prefix)


def test_a_failed_release_lists_a_root_released_before_as_such(tmp_path: Path, server: Any, docker_client: Any) -> None:
    # issue 27: a release that failed (here b1's build) listed base, released before with this
    # very build, as "not released"
    import json


    prefix = _prefix("f", server.addr)
    root = tmp_path / "repo"
    tiny_hierarchy(root, registry=prefix)
    try:
        ok(bbc(root, "release", "--no-test", "base"))
        write(root / "images/app/b1/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN exit 7\n")
        run = bbc(root, "release", "--no-test", "--format", "json")
        assert run.code == 1, run.out + run.err
        assert "no release tag was moved" in run.err
        rows = {r["image"]: r for r in json.loads(run.out)}
        assert (rows["base"]["result"], rows["base"]["tags"]) == ("already released", ["1.0.0"]), rows["base"]
        assert {rows[n]["result"] for n in ("mid", "a1", "a2", "b1")} == {"not released"}
    finally:
        remove_images(docker_client, prefix)


LINKS = "USER 0\nRUN ln -s /gone /dlink && ln -s /etc/passwd /plink && ln -s busybox /bin/rel\nUSER 1000\n"


def test_expect_follows_symlinks_and_a_path_under_a_file_is_absent(tmp_path: Path, docker_client: Any) -> None:
    # issue 27: `files: [/dlink]` passed for a dangling symlink; `absent: [/plink/x]` under a file
    # failed with HTTP 500 and skipped the image's other checks (its command never ran)
    prefix = _prefix("links")
    root = tmp_path / "h"
    _tree(root, prefix, """\
        base:
          path: images/root/base
          version: 1.0.0
          test:
            command: echo the-command-ran
            expect: {files: [/bin/rel, /plink, /dlink], absent: [/plink/x, /nothere, /dlink/x]}
        """, base_extra=LINKS)
    try:
        run = bbc(root, "test", "base")
        out = run.out + run.err
        assert run.code == 1, out
        assert "HTTP 500" not in out
        assert "[base] FAILED after" in out
        assert "1 of 1 tests failed: base (own): /dlink is a dangling symlink (to /gone)" in out
        assert "the-command-ran" in (root / ".bbc/logs/base.test.log").read_text()
    finally:
        remove_images(docker_client, prefix)


def test_a_timeout_too_long_is_refused_where_it_is_written(tmp_path: Path) -> None:
    # issue 27: `timeout: 99999999999` passed validation, and the test then died of OverflowError
    root = tmp_path / "h"
    _tree(root, "localhost:5000/late", """\
        base:
          path: images/root/base
          version: 1.0.0
          test:
            command: "true"
            timeout: 99999999999
        """)
    run = bbc(root, "check")
    assert run.code == 1
    assert ("bbc: error: bbc.yaml:10: images.base.test.timeout: must be at most 86400 seconds (a day), "
            "not 99999999999") in run.err, run.err
    assert "Traceback" not in run.out + run.err


def test_a_test_command_missing_from_the_image_is_one_clear_line(tmp_path: Path, docker_client: Any) -> None:
    # issue 27: a raw, cut `400 Client Error ... /start`, and the image's other checks unreported
    prefix = _prefix("nocmd")
    root = tmp_path / "h"
    _tree(root, prefix, """\
        base:
          path: images/root/base
          version: 1.0.0
          test:
            command: ["/no/such/tool", "--check"]
            expect: {files: [/nothere]}
        b1:
          path: images/app/b1
          parent: base
          version: 1.0.0
          test:
            skip: [base]
            command: ["no-such-tool"]
        """)
    try:
        run = bbc(root, "test")
        out = run.out + run.err
        assert run.code == 1, out
        assert "Client Error" not in out and "/start" not in out and "shim" not in out, out
        assert ("[base] FAILED after" in out and "1 of 1 tests failed: base (own): /nothere is missing; "
                "cannot run /no/such/tool: no such file or directory in the test image") in out, out
        assert "b1 (own): cannot run no-such-tool: executable file not found in $PATH in the test image" in out, out
    finally:
        remove_images(docker_client, prefix)


def _test_containers(client: Any) -> dict[str, str]:
    """id -> command of every container labelled as a bbc test container."""
    from bbc.model import labels

    return {row["Id"]: row.get("Command", "") for row in client.api.containers(
        all=True, filters={"label": labels.TEST_CONTAINER})}


def test_ctrl_c_during_tests_reports_no_test_as_failed(tmp_path: Path, docker_client: Any) -> None:
    # issue 27: Ctrl-C printed each running test as `FAILED ... exit code 137` before "interrupted"
    prefix = _prefix("intr")
    root = tmp_path / "h"
    _tree(root, prefix, """\
        base:
          path: images/root/base
          version: 1.0.0
          test:
            command: sleep 300
        b1:
          path: images/app/b1
          parent: base
          version: 1.0.0
          test:
            skip: [base]
            command: sleep 301
        """)
    try:
        ok(bbc(root, "build"))
        before = set(_test_containers(docker_client))

        def both_running() -> bool:
            return len([c for c in _test_containers(docker_client).values() if "sleep 30" in c]) == 2

        code, out = ctrl_c(["test", "-j", "2"], root, both_running, "both tests to start", settle=1.0)
        assert code == 130, out
        assert "FAILED" not in out and "137" not in out, out
        assert "interrupted" in out
        assert set(_test_containers(docker_client)) == before
    finally:
        remove_images(docker_client, prefix)


def test_a_killed_test_run_leaves_no_container_after_the_next_run(tmp_path: Path, docker_client: Any) -> None:
    # issue 27: a SIGKILLed `bbc test` left its labelled container forever; the next run of the
    # same tree removes it, and leaves alone what is not its to remove (a container kept with
    # --keep, one of another tree, one without an owner)
    from bbc.model import labels

    prefix = _prefix("kill")
    root = tmp_path / "h"
    config = _tree(root, prefix, """\
        base:
          path: images/root/base
          version: 1.0.0
          test:
            command: sleep 302
        """)
    others: list[str] = []
    try:
        ok(bbc(root, "build"))
        image = docker_client.images.get(f"{prefix}/base:1.0.0").id
        for owner in ({labels.TEST_CONTAINER: "1"},  # no owner named (as bbc labelled them before)
                      {labels.TEST_CONTAINER: f"{os.uname().nodename} 1 1", "bbc.test-tree": "/another/tree"}):
            others.append(docker_client.api.create_container(image, ["true"], labels=owner)["Id"])
        proc = subprocess.Popen([sys.executable, "-m", "bbc.cli", "test", "base"], cwd=root,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: any("sleep 302" in c for c in _test_containers(docker_client).values()), 120,
                     "the test container to start")
        finally:
            proc.kill()
            proc.wait()
        stale = {i for i, c in _test_containers(docker_client).items() if "sleep 302" in c}
        assert len(stale) == 1  # SIGKILL: nothing could remove it
        config.write_text(config.read_text().replace("command: sleep 302", "command: exit 4"))
        assert bbc(root, "test", "base", "--keep").code == 1  # leaves its failed container, on purpose
        kept = {i for i, c in _test_containers(docker_client).items() if "exit 4" in c}
        assert len(kept) == 1
        assert not stale & set(_test_containers(docker_client))  # the killed run's is gone
        config.write_text(config.read_text().replace("command: exit 4", "command: \"true\""))
        ok(bbc(root, "test", "base"))
        assert set(_test_containers(docker_client)) >= kept | set(others)  # not its to remove
    finally:
        left = _test_containers(docker_client)
        for cid in set(others) | {i for i, c in left.items() if "exit 4" in c}:
            docker_client.api.remove_container(cid, force=True)
        remove_images(docker_client, prefix)


@pytest.mark.parametrize("builder", ["legacy", "buildkit"])
def test_a_parent_rebuilt_after_rmi_is_never_called_another_run(tmp_path: Path, docker_client: Any,
                                                                builder: str) -> None:
    # issue 27: after `docker rmi` of base, `bbc build` said "another bbc run built it meanwhile"
    # of every child, with no other run anywhere. The legacy builder makes the very same image
    # again (the untagged base stays, its children hold it): the children's builds are current.
    # BuildKit's rebuild hits its cache, but the inline cache metadata in the config (issue 24)
    # may list its records in another order: maybe another image, and the children are built
    # again on it. Either way the children are told the truth and sit on the current base.
    prefix = _prefix(f"rmi{builder[0]}")
    root = tmp_path / "h"
    tiny_hierarchy(root, registry=prefix)
    env = {"DOCKER_BUILDKIT": "0"} if builder == "legacy" else {}
    try:
        ok(bbc(root, "build", env=env))
        base = docker_client.images.get(f"{prefix}/base:1.0.0").id
        for tag in ("1.0.0", "1.0", "1", "latest"):
            docker_client.api.remove_image(f"{prefix}/base:{tag}")
        run = ok(bbc(root, "build", env=env))
        assert "another bbc run" not in run.out + run.err, run.out
        assert "built on an older build of base" not in run.out, run.out
        now = docker_client.images.get(f"{prefix}/base:1.0.0").id
        assert now == base or builder == "buildkit", run.out
        for child, version in (("mid", "1.2.0"), ("b1", "2.0.0")):
            said = (f"[{child}] base came out as the same image as before: the build of {child} on it "
                    "is current; reusing it") if now == base else f"[{child}] building"
            assert said in run.out, run.out
            built = docker_client.images.get(f"{prefix}/{child}:{version}")
            assert built.attrs["Config"]["Labels"]["bbc.parent.id"] == now, run.out
    finally:
        remove_images(docker_client, prefix)
