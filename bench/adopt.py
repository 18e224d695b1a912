"""`bbc init` on a generated tree whose graph lives in its build files (issue 26: < 3 s for 1,000).

    .venv/bin/python bench/adopt.py [--images 1000] [--fanout 4] [--runs 3] [--keep DIR]

The tree: images in folders of ten (`g<k>/img<n>/Dockerfile`), each `FROM acme/img<parent>:1.0-
<variant>` (the variant in the tag, as osrf/docker_images writes them); two groups in three are
built by a Makefile in the group folder (`docker build --tag=... img<n>/.`), the third by a
root docker-bake.json. Prints the whole-process time of `bbc init --print` (median of --runs)
and exits 1 when the file it writes links any image other than the generator did, or when the
median is 3 s or more. Standard library only; run with the project's venv so bbc is found.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT = 3.0
VARIANTS = ("noble", "jammy", "slim")


def tag(n: int) -> str:
    return f"acme/img{n}:1.0-{VARIANTS[n % len(VARIANTS)]}"


def generate(out: Path, images: int, fanout: int) -> dict[str, str | None]:
    """Write the tree; returns the Dockerfile -> parent Dockerfile graph it describes."""
    parents: dict[int, int | None] = {0: None}
    for n in range(1, images):
        parents[n] = (n - 1) // fanout
    folder = {n: f"g{n // 10}/img{n}" for n in parents}
    make: dict[int, list[str]] = {}
    bake: dict[str, object] = {}
    for n, parent in parents.items():
        path = out / folder[n] / "Dockerfile"
        path.parent.mkdir(parents=True, exist_ok=True)
        base = "debian:12" if parent is None else tag(parent)
        path.write_text(f"FROM {base}\nRUN echo img{n} > /etc/img{n}\n")
        group = n // 10
        if group % 3 == 2:
            bake[f"img{n}"] = {"context": folder[n], "tags": [tag(n)]}
        else:
            make.setdefault(group, []).append(f"\t@docker build --tag={tag(n)}\timg{n}/.\n")
    for group, lines in make.items():
        (out / f"g{group}/Makefile").write_text("build:\n" + "".join(lines))
    (out / "docker-bake.json").write_text(json.dumps({"target": bake}, indent=1))
    return {f"{folder[n]}/Dockerfile": (f"{folder[p]}/Dockerfile" if p is not None else None)
            for n, p in parents.items()}


def written(text: str) -> dict[str, str | None]:
    """Dockerfile -> parent Dockerfile as the bbc.yaml text says (no YAML library needed)."""
    paths: dict[str, str] = {}
    parent: dict[str, str | None] = {}
    name = ""
    for line in text.splitlines():
        m = re.match(r"  ([a-z0-9][a-z0-9._-]*):$", line)
        if m:
            name = m.group(1)
            parent[name] = None
        elif line.startswith("    path: "):
            paths[name] = line.split(": ", 1)[1]
        elif line.startswith("    parent: "):
            parent[name] = line.split(": ", 1)[1]
    return {f"{paths[n]}/Dockerfile": (f"{paths[p]}/Dockerfile" if p else None) for n, p in parent.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--fanout", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the tree here and leave it")
    args = parser.parse_args()
    out = args.keep or Path(tempfile.mkdtemp(prefix="bbc-adopt-bench-"))
    try:
        truth = generate(out, args.images, args.fanout)
        bbc = [sys.executable, "-m", "bbc.cli", "init", "--print", str(out)]
        samples, text = [], ""
        for _ in range(args.runs):
            start = time.perf_counter()
            proc = subprocess.run(bbc, capture_output=True, text=True, check=True)
            samples.append(time.perf_counter() - start)
            text = proc.stdout
        median = statistics.median(samples)
        got = written(text)
        wrong = sorted(f for f in truth if got.get(f) != truth[f])
        print(f"bbc init --print, {args.images} images (Makefiles + docker-bake.json): median {median:.2f} s "
              f"of {', '.join(f'{s:.2f}' for s in samples)}; {len(truth) - len(wrong)}/{len(truth)} parents as "
              f"generated; {proc.stderr.strip().splitlines()[-1]}")
        for f in wrong[:10]:
            print(f"  {f}: init says {got.get(f)}, generated {truth[f]}")
        return 1 if wrong or median >= LIMIT else 0
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
