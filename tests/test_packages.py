"""`bbc outdated` for pinned Python packages, against a package index the test serves:
`python -m http.server` over a folder holding real wheels the test writes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.version import Version

from bbc.upkeep.packages import newest_within
from tests.cli import bbc, ok
from tests.helpers import write

NAME = "bbc-outdated-probe"  # no index this machine is configured with knows it


def wheel(folder: Path, version: str) -> Path:
    """A real (tiny) wheel: a module, METADATA, WHEEL and RECORD."""
    dist = f"{NAME.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    files = {
        "bbc_outdated_probe/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: bbc-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
        z.writestr(f"{dist}.dist-info/RECORD", "".join(f"{n},,\n" for n in files) + f"{dist}.dist-info/RECORD,,\n")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def index(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "index" / NAME
    folder.mkdir(parents=True)
    for version in ("1.0.0", "1.0.1", "1.1.0", "1.2.0rc1", "2.0.0"):
        wheel(folder, version)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(tmp_path / "index")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize(("current", "level", "newest"), [
    ("1.0.0", "patch", "1.0.1"), ("1.0.0", "minor", "1.1.0"), ("1.0.0", "major", "2.0.0"),
    ("2.0.0", "major", None), ("1.1.0", "patch", None), ("not-a-version", "major", None),
])
def test_newest_within_a_level_skips_pre_releases(current: str, level: str, newest: str | None) -> None:
    versions = [Version(v) for v in ("1.0.0", "1.0.1", "1.1.0", "1.2.0rc1", "2.0.0")]
    assert newest_within(current, versions, level) == newest


def test_outdated_finds_pinned_packages_and_asks_the_index(tmp_path: Path, index: str) -> None:
    root = tmp_path / "h"
    write(root / "images/root/r/Dockerfile", f"FROM scratch\nCOPY requirements.txt /\n"
                                             f"RUN pip install --no-cache-dir {NAME}==1.0.1 other\n")
    write(root / "images/root/r/requirements.txt", f"# pinned\n{NAME}[extra] == 1.0.0  # why\nunpinned>=1\n")
    write(root / "bbc.yaml", "registry: localhost:5000/pk\nimages:\n  r:\n    path: images/root/r\n    version: 1.0.0\n")
    run = bbc(root, "outdated", "--index-url", index, "--format", "json")
    assert run.code == 1, run.out + run.err
    rows = [(p["where"], p["package"], p["pinned"], p["newest"], p["status"]) for p in json.loads(run.out)["packages"]]
    assert rows == [
        ("images/root/r/Dockerfile:3", NAME, "1.0.1", "1.1.0", "outdated"),
        ("images/root/r/requirements.txt:2", NAME, "1.0.0", "1.1.0", "outdated"),
    ]
    patch = json.loads(bbc(root, "outdated", "--index-url", index, "--packages", "patch", "--format", "json").out)
    assert [p["newest"] for p in patch["packages"]] == [None, "1.0.1"]
    table = bbc(root, "outdated", "--index-url", index, "--packages", "major").out
    rows_2 = [line.split() for line in table.splitlines() if "requirements.txt:2" in line]
    assert rows_2 == [["r", "images/root/r/requirements.txt:2", NAME, "1.0.0", "2.0.0", "outdated"]], table

    # every pin at the newest: exit 0
    for rel in ("images/root/r/Dockerfile", "images/root/r/requirements.txt"):
        path = root / rel
        path.write_text(path.read_text().replace("1.0.1", "2.0.0").replace("1.0.0", "2.0.0"))
    assert ok(bbc(root, "outdated", "--index-url", index, "--packages", "major")).code == 0

    # an index that does not answer: exit 2, the package named
    dead = f"http://127.0.0.1:{free_port()}/"
    run = bbc(root, "outdated", "--index-url", dead, "--format", "json")
    assert run.code == 2
    assert {p["status"] for p in json.loads(run.out)["packages"]} == {"unknown"}
