"""What an image holds at a path (bbc/adapters/docker/paths.py), from the archive stat answers
dockerd and Podman give: recorded from both (see tests/test_faults.py and tests/test_podman.py
for the real engines), replayed here for the cases only one of them shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bbc.adapters.docker.paths import state
from bbc.adapters.engine import PathState

LINK, DIR, FILE = 134218239, 2147484141, 493  # modes as the engines send them (Go's os.FileMode)

DOCKERD: dict[str, tuple[int, Mapping[str, Any]]] = {
    "/dlink": (200, {"mode": LINK, "linkTarget": "/gone"}),
    "/plink": (200, {"mode": LINK, "linkTarget": "/etc/passwd"}),
    "/plink/x": (500, {}),
    "/etc/passwd": (200, {"mode": 420, "linkTarget": ""}),
    "/bin": (200, {"mode": DIR, "linkTarget": ""}),
    "/bin/sh": (200, {"mode": LINK, "linkTarget": "/bin/busybox"}),
    "/bin/busybox": (200, {"mode": FILE, "linkTarget": ""}),
    "/bin/x/y": (500, {}),
    "/bin/x": (404, {}),
}
PODMAN: dict[str, tuple[int, Mapping[str, Any]]] = {
    "/dlink": (404, {"mode": LINK, "linkTarget": "/gone"}),
    "/plink": (200, {"mode": LINK, "linkTarget": "/etc/passwd"}),
    "/plink/x": (404, {}),
    "/etc/passwd": (200, {"mode": 420, "linkTarget": "/etc/passwd"}),
    "/bin": (200, {"mode": DIR, "linkTarget": "/bin"}),
    "/bin/sh": (200, {"mode": LINK, "linkTarget": "/bin/busybox"}),
    "/bin/busybox": (200, {"mode": FILE, "linkTarget": "/bin/busybox"}),
}


def ask(answers: dict[str, tuple[int, Mapping[str, Any]]], path: str) -> PathState:
    return state(lambda p: answers.get(p, (404, {})), path)


def test_both_engines_read_alike() -> None:
    for answers in (DOCKERD, PODMAN):
        assert ask(answers, "/bin/sh") == PathState(True)
        assert ask(answers, "/bin") == PathState(True, directory=True)
        assert ask(answers, "/dlink") == PathState(False, dangling="/gone")
        assert ask(answers, "/plink/x") == PathState(False)
        assert ask(answers, "/nothere") == PathState(False)


def test_an_http_500_under_a_folder_is_the_engines_failure() -> None:
    assert ask(DOCKERD, "/bin/x/y") == PathState(False)  # nothing at /bin/x: nothing under it either
    assert state(lambda p: (500, {}) if p == "/bin/y" else DOCKERD.get(p, (404, {})), "/bin/y") == PathState(
        False, error="the engine answered HTTP 500")
