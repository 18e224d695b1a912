"""Issue 24's registry cache and native placement, bbc before and after in one run.

    .venv/bin/python bench/native.py [--before PATH] [--rounds N] [--scenarios n,o]

n  changed on a fresh engine: a small hierarchy (busybox root -> app with five RUN steps of
   ~1 s each, then a COPY) is released from this checkout's engine; app's COPY'd file is
   edited and its version bumped; then `bbc build app` runs on an empty second private
   dockerd (every image and the build cache pruned before each run) with the cache, with
   `--no-cache`, and with the bbc given as --before. Figures: wall time, and the Dockerfile
   steps that ran (DONE) or came from the cache (CACHED), read from the build's log.
o  a pool with a declared arm64 engine: a two-platform tree (linux/amd64 + linux/arm64: a
   root, three children, three grandchildren, each child with a RUN) beside a second root
   naming no platform (this machine's) with three children, 18 builds, built cold with
   `bbc build -j 2` on this engine alone, on the pool of this engine and a second dockerd
   declared `platforms: [linux/arm64]`, and with the --before bbc on the same pool
   undeclared (it knows no `platforms:` there). Figures: wall time and which builds ran on
   the arm64 engine. Both engines share 2 cores here and arm64 runs under QEMU on either, so
   a pool cannot be faster: this prices placement and shows where builds go.

Run from the repository root with DOCKER_HOST and BBC_REGISTRY_ADDR set (scripts/engine env).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import busybox_context  # noqa: E402
from tests.helpers import write  # noqa: E402

REGISTRY = os.environ.get("BBC_REGISTRY_ADDR", "localhost:5000")
BBC = str(Path(sys.executable).parent / "bbc")
DOCKER = shutil.which("docker") or "/usr/bin/docker"
APP = """\
ARG SOURCE_IMAGE
FROM ${SOURCE_IMAGE}
RUN sleep 1 && head -c 4000000 /dev/urandom > /tmp/one
RUN sleep 1 && head -c 4000000 /dev/urandom > /tmp/two
RUN sleep 1 && head -c 4000000 /dev/urandom > /tmp/three
RUN sleep 1 && head -c 4000000 /dev/urandom > /tmp/four
RUN sleep 1 && head -c 4000000 /dev/urandom > /tmp/five
COPY app.txt /tmp/app.txt
"""
_STEP = re.compile(r"^#(\d+) \[\d+/\d+\] (.*)$")
_END = re.compile(r"^#(\d+) (CACHED|DONE [\d.]+s)$")


def log(text: str) -> None:
    print(f"[native] {text}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return took, proc.stdout


def steps(build_log: str) -> dict[str, int]:
    """How many Dockerfile steps (FROM aside) ran and how many came from the cache."""
    names: dict[str, str] = {}
    out = {"ran": 0, "cached": 0}
    for line in build_log.splitlines():
        step, end = _STEP.match(line), _END.match(line)
        if step:
            names[step.group(1)] = step.group(2)
        elif end and end.group(1) in names and not names[end.group(1)].startswith("FROM "):
            out["cached" if end.group(2) == "CACHED" else "ran"] += 1
    return out


class Second:
    """A second private dockerd (scripts/engine, its own folder), stopped at the end."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="bbc-bench-native-", dir="/var/tmp"))
        port = 20000 + uuid.uuid4().int % 20000
        self.env = {"BBC_ENGINE_DIR": str(self.folder), "BBC_REGISTRY_ADDR": f"127.0.0.1:{port}"}
        _, out = run([str(ROOT / "scripts/engine"), "up"], env=self.env)
        self.host = out.strip().rpartition("=")[2]

    def empty(self) -> None:
        """Every image and the build cache gone: a fresh runner's engine."""
        env = {"DOCKER_HOST": self.host}
        run([DOCKER, "system", "prune", "-af"], env=env)
        run([DOCKER, "builder", "prune", "-af"], env=env)

    def close(self) -> None:
        subprocess.run([str(ROOT / "scripts/engine"), "down"], env={**os.environ, **self.env}, capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def drop(prefix: str) -> None:
    """Remove this engine's images under `prefix/` (what a scenario built here)."""
    _, text = run([DOCKER, "images", "--format", "{{.Repository}}:{{.Tag}}"])
    refs = [r for r in text.split() if r.startswith(prefix + "/")]
    if refs:
        subprocess.run([DOCKER, "rmi", "-f", *refs], capture_output=True)


def cache_tree(root: Path, registry: str) -> None:
    busybox_context(root / "images/base")
    write(root / "images/app/Dockerfile", APP)
    write(root / "images/app/app.txt", "one\n")
    write(root / "bbc.yaml", f"""\
        registry: {registry}
        defaults: {{network: host}}
        images:
          base: {{path: images/base, version: 1.0.0}}
          app: {{path: images/app, parent: base, version: 1.0.0}}
        """)


def scenario_n(second: Second, rounds: int, before: str | None) -> dict[str, object]:
    root = Path(tempfile.mkdtemp(prefix="bbc-bench-cache-"))
    registry = f"{REGISTRY}/cache{uuid.uuid4().hex[:6]}"
    cache_tree(root, registry)
    took, _ = run([BBC, "release", "--no-test"], cwd=root)
    log(f"n: released base and app 1.0.0 from this engine in {took:.1f}s")
    (root / "images/app/app.txt").write_text("two\n")
    run([BBC, "bump", "app", "patch"], cwd=root)
    sides = {"cache": [BBC, "build", "app"], "no-cache": [BBC, "build", "app", "--no-cache"]}
    if before:
        sides["before"] = [before, "build", "app"]
    out: dict[str, dict[str, list[object]]] = {k: {"s": [], "steps": []} for k in sides}
    for i in range(rounds):
        for side, cmd in (sides.items() if i % 2 == 0 else reversed(sides.items())):
            second.empty()
            shutil.rmtree(root / ".bbc/logs", ignore_errors=True)
            took, _ = run(cmd, cwd=root, env={"DOCKER_HOST": second.host})
            counted = steps((root / ".bbc/logs/app.log").read_text())
            out[side]["s"].append(round(took, 2))
            out[side]["steps"].append(counted)
            log(f"n: round {i + 1} {side}: {took:.2f}s, {counted}")
    shutil.rmtree(root, ignore_errors=True)
    drop(registry)
    return {side: {**v, "median_s": statistics.median(v["s"])} for side, v in out.items()}  # type: ignore[arg-type]


def two_platform_tree(root: Path, registry: str) -> None:
    from tests.test_platforms import ROOT_DOCKERFILE, foreign_busybox

    ctx = root / "images/base"
    write(ctx / "Dockerfile", ROOT_DOCKERFILE + "COPY salt.txt /etc/salt\n")
    write(ctx / "salt.txt", uuid.uuid4().hex + "\n")
    shutil.copy2(shutil.which("busybox") or "/bin/busybox", ctx / "busybox-amd64")
    shutil.copy2(foreign_busybox("arm64"), ctx / "busybox-arm64")
    busybox_context(root / "images/tools")  # a second root for this machine's platform only
    images = ["  base: {path: images/base, version: 1.0.0, platforms: [linux/amd64, linux/arm64]}",
              "  tools: {path: images/tools, version: 1.0.0}"]
    for child, parent in (("c1", "base"), ("c2", "base"), ("c3", "base"), ("g1", "c1"), ("g2", "c2"), ("g3", "c3"),
                          ("t1", "tools"), ("t2", "tools"), ("t3", "tools")):
        write(root / f"images/{child}/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n"
              f"RUN for i in 1 2 3 4 5 6 7 8; do echo {child} $i >> /tmp/{child}; done && sleep 0.5\n")
        images.append(f"  {child}: {{path: images/{child}, parent: {parent}, version: 1.0.0}}")
    write(root / "bbc.yaml", f"registry: {registry}\ndefaults: {{network: host}}\nimages:\n" + "\n".join(images) + "\n")


def scenario_o(second: Second, rounds: int, before: str | None) -> dict[str, object]:
    primary = os.environ["DOCKER_HOST"]
    pools = {
        "one engine": "",
        "pool, arm64 declared": f"engines:\n  - {primary}\n  - {{host: {second.host}, platforms: [linux/arm64]}}\n",
    }
    if before:
        pools["before: pool, undeclared"] = f"engines:\n  - {primary}\n  - {second.host}\n"
    out: dict[str, dict[str, list[object]]] = {k: {"s": [], "arm64_on_second": [], "amd64_on_second": []}
                                               for k in pools}
    for i in range(rounds):
        for side, engines in (pools.items() if i % 2 == 0 else reversed(pools.items())):
            root = Path(tempfile.mkdtemp(prefix="bbc-bench-pool-"))
            registry = f"{REGISTRY}/arm{uuid.uuid4().hex[:6]}"
            two_platform_tree(root, registry)
            with (root / "bbc.yaml").open("a") as f:
                f.write(engines)
            exe = before if side.startswith("before") and before else BBC
            took, text = run([exe, "build", "-j", "2", "--format", "json"], cwd=root)
            rows = json.loads(text)
            on_second = [r["image"] for r in rows if r.get("engine") == second.host]
            out[side]["s"].append(round(took, 2))
            out[side]["arm64_on_second"].append(sum(n.endswith("@arm64") for n in on_second))
            out[side]["amd64_on_second"].append(sum(not n.endswith("@arm64") for n in on_second))
            log(f"o: round {i + 1} {side}: {took:.2f}s, on the second engine: {sorted(on_second)}")
            shutil.rmtree(root, ignore_errors=True)
            drop(registry)
            second.empty()
    return {side: {**v, "median_s": statistics.median(v["s"])} for side, v in out.items()}  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="PATH", help="an older bbc executable (e.g. main's) to measure too")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scenarios", default="n,o")
    args = parser.parse_args()
    wanted = set(args.scenarios.split(","))
    second = Second()
    results: dict[str, object] = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count()}
    try:
        if "n" in wanted:
            results["n"] = scenario_n(second, args.rounds, args.before)
        if "o" in wanted:
            results["o"] = scenario_o(second, args.rounds, args.before)
    finally:
        second.close()
    out = ROOT / "bench/out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "native.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
