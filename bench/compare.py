"""bbc against a naive serial `docker build` loop, both sides in one run.

    python bench/compare.py [--scenarios a,b,c,d,e] [--quick] [--keep]

Every figure is whole-process wall time (subprocess + time.perf_counter). Each side works on
its own generated tree (same shape, different salt) tagged into its own repository, so
neither side ever hits the other's layer cache or fingerprints. A cold run gets a fresh
salt in the root instead of deleting images (deletion can block for minutes on a shared
engine). At the end only images in this run's repositories
(`localhost:5000/bench<run id>{n,b}/...`) are removed; the shared build cache is left alone. Writes bench/out/results.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gen

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DEFAULT_HOST = "unix:///var/tmp/bbc-engine/docker.sock"
REGISTRY_HOST = "localhost:5000"

# (images, depth, fanout)
SHAPE_40 = (40, 3, 3)
SHAPE_200 = (200, 3, 6)
SHAPE_10K = (10_000, 4, 10)
CHANGED = "r-1"  # a depth-1 image with 12 descendants in the 40-image tree

TARGETS = {
    "a": ("bbc -j2 / naive", "<=", 0.68),
    "b": ("naive / bbc", ">=", 8.0),
    "c": ("bbc / naive", "<=", 1.1),
    "d": ("naive / bbc", ">=", 25.0),
    "e": ("bbc seconds", "<", 2.0),
}


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def find_docker() -> str:
    for candidate in ("/usr/bin/docker", "/usr/local/bin/docker"):
        if os.access(candidate, os.X_OK):
            ok = subprocess.run([candidate, "version", "--format", "{{.Server.Version}}"],
                                capture_output=True, text=True)
            if ok.returncode == 0:
                return candidate
    sys.exit("no docker CLI talks to the engine; set DOCKER_HOST")


def find_bbc() -> str:
    for candidate in (Path(sys.prefix) / "bin" / "bbc", HERE.parent / ".venv" / "bin" / "bbc"):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("bbc")
    if not found:
        sys.exit("bbc is not installed; run with the project's venv python")
    return found


def run(cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Whole-process wall time; a failing command stops the benchmark (its numbers would lie)."""
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, **(env or {})})
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return took, proc.stdout


def count_built(table: str) -> int:
    """Rows of `bbc build`'s summary table whose result is `built` (not the `[image] built` events)."""
    rows = (line.split() for line in table.splitlines())
    return sum(1 for f in rows if len(f) >= 3 and f[2] == "built" and not f[0].startswith("["))


class Bench:
    def __init__(self, quick: bool, keep: bool) -> None:
        self.quick = quick
        self.keep = keep
        self.run_id = secrets.token_hex(3)
        self.naive_repo = f"{REGISTRY_HOST}/bench{self.run_id}n"
        self.bbc_repo = f"{REGISTRY_HOST}/bench{self.run_id}b"
        self.docker = find_docker()
        self.bbc = find_bbc()
        self.graphs = OUT / "graphs" / self.run_id
        self.results: dict[str, Any] = {}
        self.c_jobs: int | None = None  # scenario c: bbc's own default -j unless --c-jobs
        self.bbc_env: dict[str, str] = {}  # DOCKER_BUILDKIT=0: bbc on the legacy builder too

    # -- trees -------------------------------------------------------------------------
    def tree(self, label: str, shape: tuple[int, int, int], side: str, *, tiny: bool = False) -> Path:
        out = self.graphs / f"{label}-{side}"
        registry = self.bbc_repo if side == "bbc" else self.naive_repo
        images, depth, fanout = shape
        gen.write(out, gen.tree(images, depth, fanout), tiny=tiny, registry=registry, salt=self.salt())
        return out

    def salt(self) -> str:
        return secrets.token_hex(8)

    # -- the two sides -----------------------------------------------------------------
    def naive_tag(self, name: str) -> str:
        return f"{self.naive_repo}/{name}:latest"

    def naive(self, tree: Path, only: set[str] | None = None) -> float:
        """The loop a Makefile or CI script would run: one `docker build` per image, in order."""
        start = time.perf_counter()
        for name, parent, path in gen.read_order(tree):
            if only is not None and name not in only:
                continue
            cmd = [self.docker, "build", "-q", "--network", "host", "-t", self.naive_tag(name)]
            if parent is not None:
                cmd += ["--build-arg", f"SOURCE_IMAGE={self.naive_tag(parent)}"]
            run(cmd + [str(path)], env={"DOCKER_BUILDKIT": "0"})  # the legacy builder, as the issue measured
        return time.perf_counter() - start

    def bbc_build(self, tree: Path, jobs: int | None = None) -> tuple[float, str]:
        """`bbc build` as a user runs it: bbc's own default -j (one build per CPU) unless given."""
        jobs_args = ["-j", str(jobs)] if jobs is not None else []
        return run([self.bbc, "-c", str(tree / "bbc.yaml"), "build", *jobs_args], env=self.bbc_env)

    def bbc_plan(self, tree: Path) -> tuple[float, list[dict[str, Any]]]:
        took, out = run([self.bbc, "-c", str(tree / "bbc.yaml"), "plan", "--format", "json"])
        return took, json.loads(out)["steps"]

    # -- cleanup: only this run's repositories -----------------------------------------
    def clean(self, *repos: str, timeout: float = 120) -> list[str]:
        """Remove every image tagged in these of this run's repositories (default: both), leaves
        first. Returns what is left: a shared engine can block image deletion for minutes (a
        stuck `docker cp` elsewhere holds the lock), so this never waits forever."""
        prefixes = tuple(r + "/" for r in (repos or (self.naive_repo, self.bbc_repo)))

        def ours() -> list[str]:
            proc = subprocess.run([self.docker, "images", "--format", "{{.Repository}}:{{.Tag}}"],
                                  capture_output=True, text=True, check=True)
            return [r for r in proc.stdout.split() if r.startswith(prefixes)]

        refs = ours()
        # deepest names first (more dashes = deeper), so parents are free to go when reached
        refs.sort(key=lambda r: r.rsplit(":", 1)[0].count("-"), reverse=True)
        deadline = time.monotonic() + timeout
        for i in range(0, len(refs), 200):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                subprocess.run([self.docker, "rmi", *refs[i:i + 200]], capture_output=True, text=True, timeout=left)
            except subprocess.TimeoutExpired:
                break
        return ours()

    def cold(self, tree: Path) -> None:
        """Make a tree cold without deleting anything: a new salt in the root's data file changes
        every fingerprint and misses every layer-cache entry below it (the root's COPY changes,
        so each child's parent is a new image). bbc's explanations state goes too."""
        gen.set_salt(tree, self.salt())
        shutil.rmtree(tree / ".bbc", ignore_errors=True)

    # -- scenarios ---------------------------------------------------------------------
    def record(self, key: str, title: str, naive: list[float] | None, bbc: list[float],
               extra: dict[str, Any] | None = None) -> None:
        what, op, target = TARGETS[key]
        bbc_med = statistics.median(bbc)
        naive_med = statistics.median(naive) if naive else None
        if key == "e":
            value = bbc_med
        elif op == ">=":
            value = naive_med / bbc_med  # type: ignore[operator]
        else:
            value = bbc_med / naive_med  # type: ignore[operator]
        met = {"<=": value <= target, ">=": value >= target, "<": value < target}[op]
        self.results[key] = {
            "title": title, "naive_s": naive, "bbc_s": bbc, "naive_median_s": naive_med,
            "bbc_median_s": bbc_med, "ratio": what, "value": value, "target": f"{op} {target}", "met": met,
            **(extra or {}),
        }
        naive_text = f"naive {naive_med:.2f}s, " if naive_med is not None else ""
        log(f"{key}: {title}: {naive_text}bbc {bbc_med:.2f}s -> "
            f"{what} = {value:.3f} (target {op} {target}: {'met' if met else 'MISSED'})")

    def alternate(self, reps: int, first: Callable[[], float], second: Callable[[], float]) -> tuple[list[float], list[float]]:
        """Run the two sides `reps` times, swapping which goes first, to spread engine noise."""
        a: list[float] = []
        b: list[float] = []
        for i in range(reps):
            if i % 2 == 0:
                a.append(first())
                b.append(second())
            else:
                b.append(second())
                a.append(first())
        return a, b

    def scenario_a(self) -> None:
        """Cold: nothing of this tree exists; naive serial loop vs `bbc build -j 2`."""
        reps = 1 if self.quick else 2
        self.t40 = {side: self.tree("g40", SHAPE_40, side) for side in ("naive", "bbc")}

        def naive() -> float:
            self.cold(self.t40["naive"])
            return self.naive(self.t40["naive"])

        def bbc() -> float:
            self.cold(self.t40["bbc"])
            return self.bbc_build(self.t40["bbc"], jobs=2)[0]

        naive_s: list[float] = []
        bbc_s: list[float] = []
        for i in range(reps):
            order = [("naive", naive), ("bbc", bbc)] if i % 2 == 0 else [("bbc", bbc), ("naive", naive)]
            for side, fn in order:
                took = fn()
                (naive_s if side == "naive" else bbc_s).append(took)
                log(f"a: cold {side} rep {i + 1}: {took:.2f}s")
        self.record("a", "40 images, cold", naive_s, bbc_s)

    def ensure_built_40(self) -> None:
        """Both sides fully built (when scenario a did not run first)."""
        if not hasattr(self, "t40"):
            self.t40 = {side: self.tree("g40", SHAPE_40, side) for side in ("naive", "bbc")}
        self.naive(self.t40["naive"])
        self.bbc_build(self.t40["bbc"], jobs=2)

    def scenario_b(self) -> None:
        """Everything cached: the naive loop again vs `bbc build` finding all 40 up to date."""
        if not hasattr(self, "t40"):
            self.ensure_built_40()
        reps = 3 if self.quick else 5
        outputs: list[str] = []

        def bbc() -> float:
            took, out = self.bbc_build(self.t40["bbc"])
            outputs.append(out.strip())
            return took

        naive_s, bbc_s = self.alternate(reps, lambda: self.naive(self.t40["naive"]), bbc)
        self.record("b", "40 images, all up to date", naive_s, bbc_s, {"bbc_output": outputs[-1]})

    def scenario_c(self) -> None:
        """One depth-1 image's data file changes: naive rebuilds it + 12 descendants; bbc build."""
        if not hasattr(self, "t40"):
            self.ensure_built_40()
        reps = 1 if self.quick else 3
        below = {CHANGED} | {n for n, _, _ in gen.read_order(self.t40["naive"]) if n.startswith(CHANGED + "-")}
        built_counts: list[int] = []

        def edit(side: str) -> None:
            path = self.t40[side] / gen.rel_path(CHANGED) / "data.txt"
            path.write_text(f"{CHANGED}\nedit {self.salt()}\n")

        def naive() -> float:
            edit("naive")
            return self.naive(self.t40["naive"], only=below)

        def bbc() -> float:
            edit("bbc")
            took, out = self.bbc_build(self.t40["bbc"], jobs=self.c_jobs)
            built_counts.append(count_built(out))
            return took

        naive_s, bbc_s = self.alternate(reps, naive, bbc)
        _, steps = self.bbc_plan(self.t40["bbc"])
        stale = [s["image"] for s in steps if s["action"] != "up-to-date"]
        self.record("c", f"40 images, {CHANGED} + {len(below) - 1} descendants rebuilt", naive_s, bbc_s,
                    {"naive_builds": len(below), "bbc_built": built_counts, "stale_after": stale})

    def scenario_d(self) -> None:
        """200 images, up to date: naive cached loop vs `bbc build`. Builds both cold first."""
        reps = 3
        t200 = {side: self.tree("g200", SHAPE_200, side) for side in ("naive", "bbc")}
        log("d: building 200 images cold on both sides (not the measured part)")
        cold_naive = self.naive(t200["naive"])
        log(f"d: naive cold 200: {cold_naive:.1f}s")
        cold_bbc, _ = self.bbc_build(t200["bbc"], jobs=2)
        log(f"d: bbc -j2 cold 200: {cold_bbc:.1f}s")

        def bbc() -> float:
            return self.bbc_build(t200["bbc"])[0]

        naive_s, bbc_s = self.alternate(reps, lambda: self.naive(t200["naive"]), bbc)
        self.record("d", "200 images, all up to date", naive_s, bbc_s,
                    {"cold_naive_serial_s": cold_naive, "cold_bbc_j2_s": cold_bbc})

    def scenario_e(self) -> None:
        """`bbc plan --format json` on 10,000 images (nothing built: every step is `build`)."""
        reps = 3 if self.quick else 5
        start = time.perf_counter()
        t10k = self.tree("g10k", SHAPE_10K, "bbc", tiny=True)
        gen_s = time.perf_counter() - start
        samples = []
        steps: list[dict[str, Any]] = []
        for _ in range(reps):
            took, steps = self.bbc_plan(t10k)
            samples.append(took)
        builds = sum(1 for s in steps if s["action"] == "build")
        self.record("e", f"plan 10,000 images ({builds} to build)", None, samples, {"gen_s": gen_s})
        if not self.keep:
            shutil.rmtree(t10k, ignore_errors=True)

    # -- report ------------------------------------------------------------------------
    def table(self) -> str:
        rows = ["| scenario | naive (median) | bbc (median) | ratio | target | met |",
                "|---|---|---|---|---|---|"]
        for key in sorted(self.results):
            r = self.results[key]
            naive = f"{r['naive_median_s']:.2f} s" if r["naive_median_s"] is not None else "-"
            rows.append(f"| {key}. {r['title']} | {naive} | {r['bbc_median_s']:.2f} s | "
                        f"{r['ratio']} = {r['value']:.2f} | {r['target']} | {'yes' if r['met'] else '**no**'} |")
        return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="a,b,c,d,e")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (1 cold, 3 cached)")
    parser.add_argument("--keep", action="store_true", help="leave images and generated trees behind")
    parser.add_argument("--c-jobs", type=int, default=None, metavar="N",
                        help="bbc build -j N in scenario c (default: bbc's own, one build per CPU)")
    parser.add_argument("--bbc-builder", choices=["buildkit", "legacy"], default="buildkit",
                        help="bbc's builder (the naive loop always uses the legacy builder)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DOCKER_HOST", DEFAULT_HOST)
    os.environ.pop("DOCKER_BUILDKIT", None)
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in TARGETS]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}; choose from a,b,c,d,e")
    bench = Bench(args.quick, args.keep)
    bench.c_jobs = args.c_jobs
    bench.bbc_env = {"DOCKER_BUILDKIT": "0"} if args.bbc_builder == "legacy" else {}
    log(f"run {bench.run_id}: repositories {bench.naive_repo}/*, {bench.bbc_repo}/*; docker {bench.docker}")
    started = time.perf_counter()
    try:
        for key in sorted(wanted):
            log(f"scenario {key}")
            getattr(bench, f"scenario_{key}")()
    finally:
        if not args.keep:
            log("removing this run's images and trees")
            left = bench.clean()
            if left:
                log(f"{len(left)} tags not removed (the engine blocks deletion); later run: "
                    f"docker images --format '{{{{.Repository}}}}:{{{{.Tag}}}}' | grep -E '^{REGISTRY_HOST}/bench{bench.run_id}[nb]/' "
                    "| xargs docker rmi")
            shutil.rmtree(bench.graphs, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {
        "run_id": bench.run_id, "quick": args.quick, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "docker_host": os.environ["DOCKER_HOST"], "docker_cli": bench.docker, "bbc": bench.bbc,
        "cpus": os.cpu_count(), "total_s": round(time.perf_counter() - started, 1),
        "bbc_builder": args.bbc_builder, "c_jobs": args.c_jobs, "naive_builder": "legacy",
    }
    (OUT / "results.json").write_text(json.dumps({"meta": meta, "scenarios": bench.results}, indent=2) + "\n")
    print(bench.table())
    return 0 if all(r["met"] for r in bench.results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
