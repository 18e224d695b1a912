"""`bbc report` of the 242-image generated tree with everything up to date (issue 25: < 2 s).

    .venv/bin/python bench/report.py [--tree DIR] [--runs 5] [--registry HOST:PORT/NS]

Generates bench/gen.py's scenario g tree (2 roots, depth 4, fanout 3) unless --tree names one
already released, builds, tests and releases it (`bbc release -j 2`; minutes the first time, a
no-op after), then times whole `bbc report` processes: the HTML page asking the registry, the same
as JSON, and the page with --offline (median of --runs each, and the spread). Exits 1 when the
page's median is 2 s or more. Needs DOCKER_HOST and a registry (BBC_REGISTRY_ADDR, as the tests).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT = 2.0
HERE = Path(__file__).resolve().parent
BBC = [sys.executable, "-m", "bbc.cli"]


def timed(tree: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([*BBC, *args], cwd=tree, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--registry", default=f"{os.environ.get('BBC_REGISTRY_ADDR', '127.0.0.1:5000')}/report242")
    args = parser.parse_args()
    tree = args.tree or Path(tempfile.mkdtemp(prefix="bbc-report-bench-")) / "g242"
    if not (tree / "bbc.yaml").exists():
        subprocess.run([sys.executable, str(HERE / "gen.py"), str(tree), "--images", "242", "--depth", "4",
                        "--fanout", "3", "--roots", "2", "--registry", args.registry, "--salt", str(time.time())],
                       check=True)
    subprocess.run([*BBC, "release", "-j", "2"], cwd=tree, check=True, stdout=subprocess.DEVNULL)
    page = tree / "report.html"
    results = {}
    for name, cmd in (("page, registry asked", ["report", "--html", "-o", str(page)]),
                      ("json, registry asked", ["report", "--format", "json", "-o", str(tree / "report.json")]),
                      ("page, --offline", ["report", "--offline", "--html", "-o", str(page)])):
        timed(tree, *cmd)  # warm: .bbc/cache, the OS's file cache
        samples = [timed(tree, *cmd) for _ in range(args.runs)]
        results[name] = samples
        print(f"bbc report ({name}), 242 images up to date: median {statistics.median(samples):.2f} s "
              f"(runs {min(samples):.2f}-{max(samples):.2f})")
    return 0 if statistics.median(results["page, registry asked"]) < LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
