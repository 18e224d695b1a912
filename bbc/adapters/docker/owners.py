"""Who a container bbc starts belongs to, so that a later run can clean up after a killed one.

Every container is labelled with the run that started it (`bbc.test-container`: host, pid and
the process's start time, so that a pid used again is not taken for it) and that run's tree
(`bbc.test-tree`: the folder of bbc.yaml). A run's first container on an engine sweeps it for
containers of the same tree whose run is gone (same host, process no longer there): a SIGKILLed
run had no chance to remove its own. Left alone: a container kept with --keep (`bbc.test-kept`),
one of another tree or host, one of a run still going, one labelled before owners were (`1`).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from bbc.model import labels


def this_run() -> str:
    """This process, as a container's label names it: `host pid start-time`."""
    return f"{socket.gethostname()} {os.getpid()} {_started(os.getpid()) or '-'}"


def labels_for(tree: str | None, *, keep: bool = False) -> dict[str, str]:
    """The labels of a container this run starts."""
    out = {labels.TEST_CONTAINER: this_run()}
    if tree:
        out[labels.TEST_TREE] = tree
    if keep:
        out[labels.TEST_KEPT] = "1"
    return out


def gone(run: str) -> bool:
    """Whether the run a label names is over (False when that cannot be told: another host)."""
    host, _, rest = run.partition(" ")
    pid, _, start = rest.partition(" ")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # there, another user's process
    now = _started(int(pid))
    return bool(now and start not in ("", "-") and now != start)


def sweep(api: Any, tree: str) -> int:
    """Remove the containers of `tree` whose run is gone; how many (best effort: a container
    another sweep removed meanwhile is no failure)."""
    removed = 0
    for row in api.containers(all=True, filters={"label": [f"{labels.TEST_TREE}={tree}"]}):
        found = row.get("Labels") or {}
        if labels.TEST_KEPT in found or not gone(str(found.get(labels.TEST_CONTAINER, ""))):
            continue
        try:
            api.remove_container(row["Id"], force=True)
            removed += 1
        except Exception:  # removed meanwhile, or being removed (the SDK stays in engine.py): gone either way
            continue
    return removed


def _started(pid: int) -> str:
    """When process `pid` started (clock ticks since boot, /proc/PID/stat field 22); "" where
    that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return ""
    return fields[19] if len(fields) > 19 else ""
