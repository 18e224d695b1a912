"""Release time of a 6-image hierarchy through a faulty network vs a clean one (issue 22).

A TCP proxy (tests/registries.py) in front of a private docker-registry spoils a third of the
connections (reset, 503, 429 with Retry-After, slow). Three figures:
  clean      `bbc release` through the proxy with faults off;
  faulty     `bbc release` through the faulty proxy, run again until it succeeds;
  promote    candidates pushed first (network clean), then `bbc release` (write-once checks,
             promotion, SBOMs: bbc's own registry client) through the faulty proxy vs clean.
Run from the repository root with DOCKER_HOST set:  .venv/bin/python bench/faults.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import tiny_hierarchy, write  # noqa: E402
from tests.registries import FaultyProxy  # noqa: E402
from tests.registry_server import RegistryServer  # noqa: E402

EXTRA = """\
  c1:
    path: images/app/c1
    parent: a1
    version: 0.0.1
"""


def tree(root: Path, registry: str) -> None:
    config = tiny_hierarchy(root, registry=registry)
    config.write_text(config.read_text() + EXTRA)  # a sixth image, below a1
    write(root / "images/app/c1/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nRUN echo c1 > /tmp/c1\n")


def release(root: Path, *args: str) -> tuple[int, float, str]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "bbc.cli", "release", "--no-test", *args], cwd=root,
                          capture_output=True, text=True, timeout=1800)
    return proc.returncode, time.monotonic() - start, proc.stdout + proc.stderr


def retried(out: str) -> int:
    return sum(int(n) for n in re.findall(r"(\d+) request\(s\) retried", out))


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bbc-faults-"))
    server = RegistryServer(work / "registry")
    server.start()
    proxy = FaultyProxy(server.addr)
    proxy.start()
    try:
        tag = uuid.uuid4().hex[:6]
        proxy.enabled = False
        clean_root = work / "clean"
        tree(clean_root, f"{proxy.addr}/clean{tag}")
        subprocess.run([sys.executable, "-m", "bbc.cli", "build"], cwd=clean_root, check=True, capture_output=True)
        code, clean, _ = release(clean_root)
        print(f"clean release: exit {code}, {clean:.1f} s")

        proxy.enabled = True
        faulty_root = work / "faulty"
        tree(faulty_root, f"{proxy.addr}/faulty{tag}")
        subprocess.run([sys.executable, "-m", "bbc.cli", "build"], cwd=faulty_root, check=True, capture_output=True)
        total, runs, bbc_retries, before = 0.0, 0, 0, dict(proxy.faults)
        while runs < 8:
            runs += 1
            code, took, out = release(faulty_root)
            total += took
            bbc_retries += retried(out)
            print(f"faulty release run {runs}: exit {code}, {took:.1f} s, bbc requests retried {retried(out)}")
            if code == 0:
                break
        faults = {k: v - before[k] for k, v in proxy.faults.items()}
        print(f"faulty release: {runs} run(s), {total:.1f} s in all; bbc requests retried {bbc_retries}; "
              f"faults injected {faults} over {proxy.connections} connections so far")

        for label, enabled in (("clean", False), ("faulty", True)):
            root = work / f"promote-{label}"
            tree(root, f"{proxy.addr}/promote{label}{tag}")
            subprocess.run([sys.executable, "-m", "bbc.cli", "build"], cwd=root, check=True, capture_output=True)
            proxy.enabled = False
            code, _, _ = release(root, "--candidates")
            proxy.enabled = enabled
            before = dict(proxy.faults)
            code, took, out = release(root)
            faults = sum(v - before[k] for k, v in proxy.faults.items())
            print(f"promote + SBOMs ({label}): exit {code}, {took:.1f} s, bbc requests retried {retried(out)}, "
                  f"faults injected {faults}")
    finally:
        proxy.stop()
        server.stop()


if __name__ == "__main__":
    main()
