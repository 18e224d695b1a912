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
    from tests.helpers import remove_images
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
    import uuid

    from tests.helpers import remove_images

    prefix = f"localhost:5000/unread{uuid.uuid4().hex[:6]}"
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
    import uuid

    from tests.helpers import remove_images

    prefix = f"localhost:5000/ctx{uuid.uuid4().hex[:6]}"
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
    import uuid

    from bbc.adapters.registry.client import Registry
    from tests.helpers import remove_images

    prefix = f"{server.addr}/meta{uuid.uuid4().hex[:6]}"
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
    import uuid

    from tests.helpers import remove_images

    prefix = f"localhost:5000/names{uuid.uuid4().hex[:6]}"
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
    import uuid

    from tests.helpers import remove_images

    prefix = f"localhost:5000/fifo{uuid.uuid4().hex[:6]}"
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
