"""Concurrent writers of bbc.yaml and of one image, as separate processes on real files:
nothing is lost, a killed writer leaves the old or the new file, never a torn one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from bbc.adapters import lock
from tests.helpers import tiny_hierarchy

COMMENTED = "# the hierarchy of the team\n"


def bump_proc(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bbc.cli", "-c", str(config), "bump", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def versions(config: Path) -> dict[str, str]:
    return {n: str(s["version"]) for n, s in yaml.safe_load(config.read_text())["images"].items()}


def test_concurrent_bumps_lose_nothing(tmp_path: Path) -> None:
    config = tiny_hierarchy(tmp_path)
    config.write_text(COMMENTED + config.read_text())
    # a1 and b1 have no children: each bump moves exactly one version
    procs = [bump_proc(config, "a1", "patch") for _ in range(3)] + [bump_proc(config, "b1", "minor") for _ in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, out + err
    assert versions(config) == {"base": "1.0.0", "mid": "1.2.0", "a1": "0.1.3", "a2": "0.1.0", "b1": "2.3.0"}
    assert config.read_text().startswith(COMMENTED)  # the rest of the file as written


def test_a_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    config = tiny_hierarchy(tmp_path)
    with lock.config_lock(config):
        p = bump_proc(config, "a1", "patch")
        time.sleep(2.5)
        assert p.poll() is None  # waiting, not failed, not written
        assert versions(config)["a1"] == "0.1.0"
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "waiting for another bbc writing bbc.yaml" in err
    assert versions(config)["a1"] == "0.1.1"


def test_kill_9_during_bumps_leaves_old_or_new_file(tmp_path: Path) -> None:
    config = tiny_hierarchy(tmp_path)
    rng = random.Random(7)
    seen: set[str] = set()
    for _ in range(12):
        before = config.read_text()
        p = bump_proc(config, "mid", "patch")  # rewrites mid, a1 and a2 (cascade)
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(p.pid, signal.SIGKILL)
        p.communicate()
        after = config.read_text()
        yaml.safe_load(after)  # parses: never torn
        if after == before:
            seen.add("old")
        else:
            seen.add("new")
            assert after.count("version:") == before.count("version:")
            assert int(versions(config)["mid"].split(".")[2]) == int(yaml.safe_load(before)["images"]["mid"]["version"]
                                                                     .split(".")[2]) + 1
    # the next writer takes the lock (the kernel released the dead one's), cleans up, and works
    done = bump_proc(config, "b1", "patch")
    _, err = done.communicate(timeout=60)
    assert done.returncode == 0, err
    assert not list(tmp_path.glob(".bbc.yaml.*.tmp"))
    assert seen  # at least one kill landed somewhere


def test_image_lock_excludes_another_process(tmp_path: Path) -> None:
    code = ("import sys, time; from pathlib import Path; from bbc.adapters import lock\n"
            "with lock.image_lock(Path(sys.argv[1]), 'mid', timeout=2):\n    print('got it')\n")
    with lock.image_lock(tmp_path, "mid"):
        other = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)
        assert other.returncode == 1 and "got it" not in other.stdout
        assert "another bbc has been building mid" in other.stderr
    free = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert free.stdout.strip() == "got it"
