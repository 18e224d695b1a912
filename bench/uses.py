"""What `uses:` edges cost (issue 21), both sides in one run:

    .venv/bin/python bench/uses.py [--runs 7] [--quick]

m. the 40-image tree (depth 3, fanout 3) with a fifth of its images using one or two others
   (gen.py --uses 0.2), everything up to date: `bbc build` against the same tree without uses
   edges (each built cold once first, not measured), alternating; target: within 10%;
n. `bbc plan --format json` of the 10,000-image tree (depth 4, fanout 10) with uses edges
   (nothing built: every step `build`), and without, in the same run; target: < 2 s.

Whole-process wall time, medians. Each tree has its own salt and repository, so nothing is
shared between the sides. Needs DOCKER_HOST (a private engine: scripts/engine env).
Writes bench/out/uses.json.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gen

HERE = Path(__file__).resolve().parent
BBC = [sys.executable, "-m", "bbc.cli"]


def timed(config: Path, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([*BBC, "-c", str(config), *args], capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"bbc {' '.join(args)} failed ({proc.returncode})")
    return took, proc.stdout


def tree(where: Path, label: str, shape: tuple[int, int, int], uses: float, *, tiny: bool = False) -> Path:
    out = where / label
    images, depth, fanout = shape
    gen.write(out, gen.tree(images, depth, fanout), tiny=tiny, registry=f"localhost:5000/usesbench{label}",
              salt=secrets.token_hex(8), uses=uses)
    return out


def no_op(where: Path, runs: int) -> dict[str, object]:
    plain, used = tree(where, "g40", (40, 3, 3), 0.0), tree(where, "g40uses", (40, 3, 3), 0.2)
    for t in (plain, used):
        timed(t / "bbc.yaml", "build", "-j", "2")  # cold, not measured
        timed(t / "bbc.yaml", "build")  # warm the caches as a second run has them
    samples: dict[str, list[float]] = {"plain": [], "uses": []}
    for i in range(runs):
        for side in (("plain", "uses") if i % 2 == 0 else ("uses", "plain")):
            took, out = timed((plain if side == "plain" else used) / "bbc.yaml", "build")
            assert out.strip() == "all 40 images up to date", out
            samples[side].append(took)
    ratio = statistics.median(samples["uses"]) / statistics.median(samples["plain"])
    users = len(gen.read_uses(used))
    return {"title": f"40 images up to date, {users} of them using one or two others, vs none",
            "plain_s": samples["plain"], "uses_s": samples["uses"], "ratio": ratio, "met": ratio <= 1.10,
            "target": "<= 1.10"}


def plan_10k(where: Path, runs: int) -> dict[str, object]:
    trees = {label: tree(where, f"g10k{label}", (10_000, 4, 10), uses, tiny=True)
             for label, uses in (("plain", 0.0), ("uses", 0.2))}
    time.sleep(2.5)  # settled, as a checkout is (bbc caches nothing about files younger than 2 s)
    first = {label: timed(t / "bbc.yaml", "plan", "--format", "json")[0] for label, t in trees.items()}
    samples: dict[str, list[float]] = {"plain": [], "uses": []}
    for i in range(runs):  # alternating, to spread a shared machine's noise over both
        for label in (("plain", "uses") if i % 2 == 0 else ("uses", "plain")):
            samples[label].append(timed(trees[label] / "bbc.yaml", "plan", "--format", "json")[0])
    out: dict[str, object] = {
        label: {"first_s": first[label], "samples_s": samples[label], "median_s": statistics.median(samples[label]),
                "users": len(gen.read_uses(t))} for label, t in trees.items()}
    median = out["uses"]["median_s"]  # type: ignore[index]
    out.update({"title": "bbc plan --format json, 10,000 images with uses edges", "met": median < 2.0,
                "target": "< 2 s"})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 runs each")
    parser.add_argument("--keep", action="store_true", help="leave the generated trees behind")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    where = Path(tempfile.mkdtemp(prefix="bbc-uses-bench-"))
    try:
        m = no_op(where, runs)
        print(f"m: {m['title']}: plain {statistics.median(m['plain_s']):.3f}s, "  # type: ignore[arg-type]
              f"uses {statistics.median(m['uses_s']):.3f}s -> {m['ratio']:.3f} (target <= 1.10: "  # type: ignore[arg-type]
              f"{'met' if m['met'] else 'MISSED'})")
        n = plan_10k(where, max(3, runs - 2))
        for label in ("plain", "uses"):
            side = n[label]
            print(f"n: plan 10,000 images ({label}, {side['users']} users): median {side['median_s']:.2f}s "  # type: ignore[index]
                  f"(runs {min(side['samples_s']):.2f}-{max(side['samples_s']):.2f}; first {side['first_s']:.2f}s)")  # type: ignore[index]
        print(f"n: target < 2 s: {'met' if n['met'] else 'MISSED'}")
        (HERE / "out").mkdir(exist_ok=True)
        (HERE / "out" / "uses.json").write_text(json.dumps({"m": m, "n": n}, indent=2) + "\n")
        return 0 if m["met"] and n["met"] else 1
    finally:
        if not args.keep:
            for t in where.glob("g40*"):
                repo = f"localhost:5000/usesbench{t.name}"
                subprocess.run(f"docker images --format '{{{{.Repository}}}}:{{{{.Tag}}}}' | grep '^{repo}/' "
                               "| xargs -r docker rmi >/dev/null 2>&1", shell=True)
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
