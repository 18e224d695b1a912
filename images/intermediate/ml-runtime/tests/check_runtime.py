"""What every image that descends from `ml-runtime` keeps: nothing to install or build with.

Run by bbc with the venv's python, network none, this folder mounted read-only (in the test
image: a test layer may add test tools, but it brings no pip either). The release image is
also checked from outside (bbc.yaml `expect`).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from importlib.metadata import distributions
from pathlib import Path

BUILD_TOOLS = ("pip", "setuptools", "wheel")
NO_BINARIES = ("apt", "apt-get", "dpkg", "perl", "bash", "gcc", "cc", "make", "strip", "ld", "python3-config")


def main() -> int:
    fails = 0

    def check(ok: bool, what: str) -> None:
        nonlocal fails
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
        fails += not ok

    dists = {(d.metadata["Name"] or "").lower() for d in distributions()}
    for tool in BUILD_TOOLS:
        check(importlib.util.find_spec(tool) is None and tool not in dists, f"no {tool} (module or distribution)")
    for name in NO_BINARIES:
        found = shutil.which(name)
        check(found is None, f"no {name} on PATH ({found or 'none'})")
    status_d = Path("/var/lib/dpkg/status.d")
    stanzas = sorted(p.name for p in status_d.glob("*")) if status_d.is_dir() else []
    check("libc6" in stanzas and "python3.11-minimal" in stanzas,
          f"dpkg status kept for scanners: {len(stanzas)} packages in {status_d}")
    check(not Path("/var/lib/dpkg/status").exists() or Path("/var/lib/dpkg/status").stat().st_size == 0,
          "no dpkg database to install against")
    check(os.path.realpath("/bin/sh").endswith("busybox"), "/bin/sh is busybox")
    if fails:
        print(f"check_runtime: {fails} check(s) failed")
        return 1
    print("check_runtime: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
