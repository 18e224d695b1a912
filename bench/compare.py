"""bbc against naive serial `docker build` loops, all sides in one run.

    python bench/compare.py [--scenarios a,b,c,d,e,f,g,h,i] [--quick] [--keep]

Two naive loops: the legacy builder (DOCKER_BUILDKIT=0, as first measured) and the cached
BuildKit loop (DOCKER_BUILDKIT=1, what a Makefile on a current engine runs).

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
import tempfile
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gen

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DEFAULT_HOST = "unix:///var/tmp/bbc-engine/docker.sock"
# the registry scripts/engine started (BBC_REGISTRY_ADDR, as for the tests), never another one
REGISTRY_HOST = os.environ.get("BBC_REGISTRY_ADDR", "localhost:5000")

# (images, depth, fanout)
SHAPE_40 = (40, 3, 3)
SHAPE_200 = (200, 3, 6)
SHAPE_10K = (10_000, 4, 10)
SHAPE_1K = (1000, 3, 10)
SHAPE_242 = (242, 4, 3, 2)  # 2 roots, depth 4, fanout 3
NOISE = 1000  # unrelated images on the engine in scenario h
CHANGED = "r-1"  # a depth-1 image with 12 descendants in the 40-image tree

TARGETS = {
    "a": ("bbc -j2 / naive", "<=", 0.68),
    "b": ("naive / bbc", ">=", 8.0),
    "c": ("bbc / naive", "<=", 1.1),
    "d": ("naive / bbc", ">=", 25.0),
    "e": ("bbc seconds", "<", 2.0),
    "f": ("naive-buildkit / bbc", ">=", 20.0),
    "g": ("naive-buildkit / bbc", ">=", 60.0),
    "h": ("bbc change with noise", "<=", 0.10),
    "i": ("bbc seconds", "<=", 2.0),
    "j": ("bbc seconds", "<", 3.0),
    "k": ("pipeline / bbc", "<=", 2.0),
    "l": ("two engines / one", "<=", 1.3),
    "m": ("bbc seconds", "<", 5.0),
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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def parents(path: Path) -> dict[str, str | None]:
    """image -> parent from a bbc.yaml written as gen.py and bbc init write them."""
    out: dict[str, str | None] = {}
    name = None
    for line in path.read_text().splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            name = line.strip()[:-1]
            out[name] = None
        elif name and line.strip().startswith("parent:"):
            out[name] = line.split(":", 1)[1].strip()
    return out


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
        self.bk_repo = f"{REGISTRY_HOST}/bench{self.run_id}k"  # the BuildKit loop's
        self.bbc_repo = f"{REGISTRY_HOST}/bench{self.run_id}b"
        self.noise_repo = f"{REGISTRY_HOST}/noise{self.run_id}"
        self.docker = find_docker()
        self.bbc = find_bbc()
        self.graphs = OUT / "graphs" / self.run_id
        self.results: dict[str, Any] = {}
        self.c_jobs: int | None = None  # scenario c: bbc's own default -j unless --c-jobs
        self.bbc_env: dict[str, str] = {}  # DOCKER_BUILDKIT=0: bbc on the legacy builder too

    # -- trees -------------------------------------------------------------------------
    def tree(self, label: str, shape: tuple[int, ...], side: str, *, tiny: bool = False) -> Path:
        out = self.graphs / f"{label}-{side}"
        registry = {"bbc": self.bbc_repo, "bk": self.bk_repo}.get(side, self.naive_repo)
        images, depth, fanout, *roots = shape
        gen.write(out, gen.tree(images, depth, fanout, roots[0] if roots else 1), tiny=tiny, registry=registry,
                  salt=self.salt())
        return out

    def salt(self) -> str:
        return secrets.token_hex(8)

    # -- the two sides -----------------------------------------------------------------
    def naive_tag(self, name: str, repo: str | None = None) -> str:
        return f"{repo or self.naive_repo}/{name}:latest"

    def naive(self, tree: Path, only: set[str] | None = None, *, buildkit: bool = False) -> float:
        """The loop a Makefile or CI script would run: one `docker build` per image, in order;
        the legacy builder (as first measured) or BuildKit (into its own repository)."""
        repo = self.bk_repo if buildkit else self.naive_repo
        start = time.perf_counter()
        for name, parent, path in gen.read_order(tree):
            if only is not None and name not in only:
                continue
            cmd = [self.docker, "build", "-q", "--network", "host", "-t", self.naive_tag(name, repo)]
            if parent is not None:
                cmd += ["--build-arg", f"SOURCE_IMAGE={self.naive_tag(parent, repo)}"]
            run(cmd + [str(path)], env={"DOCKER_BUILDKIT": "1" if buildkit else "0"})
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
        prefixes = tuple(r + "/" for r in (repos or (self.naive_repo, self.bk_repo, self.bbc_repo, self.noise_repo)))

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
        if key in ("e", "i", "j", "m"):
            value = bbc_med
        elif key == "h":
            value = bbc_med / naive_med - 1  # type: ignore[operator]  # "naive" holds the quiet-engine runs
        elif op == ">=" or key in ("k", "l"):  # k: the "naive" side is the generated pipeline
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
        # bbc caches nothing about files changed in the last 2 s (racy: a same-size rewrite
        # could keep its mtime); a tree written a moment ago is measured as a checkout is:
        # settled, planned once (that first plan is recorded, not the target), then measured
        time.sleep(2.5)
        first, _ = self.bbc_plan(t10k)
        log(f"e: first plan of the fresh tree (validation, every file hashed): {first:.2f}s")
        samples = []
        steps: list[dict[str, Any]] = []
        for _ in range(reps):
            took, steps = self.bbc_plan(t10k)
            samples.append(took)
        builds = sum(1 for s in steps if s["action"] == "build")
        self.record("e", f"plan 10,000 images ({builds} to build)", None, samples, {"gen_s": gen_s, "first_s": first})
        if not self.keep:
            shutil.rmtree(t10k, ignore_errors=True)

    def scenario_f(self) -> None:
        """40 images up to date: the cached BuildKit loop vs `bbc build` (and the legacy loop's
        figure of scenario b, when it ran, in the same table)."""
        if not hasattr(self, "t40"):
            self.ensure_built_40()
        self.t40["bk"] = self.tree("g40", SHAPE_40, "bk")
        log("f: building the BuildKit loop's 40 images cold (not the measured part)")
        self.naive(self.t40["bk"], buildkit=True)
        reps = 3 if self.quick else 5
        bk_s, bbc_s = self.alternate(reps, lambda: self.naive(self.t40["bk"], buildkit=True),
                                     lambda: self.bbc_build(self.t40["bbc"])[0])
        self.record("f", "40 images, all up to date, vs the BuildKit loop", bk_s, bbc_s)

    def scenario_g(self) -> None:
        """242 images (2 roots, depth 4, fanout 3) up to date: cached BuildKit loop vs `bbc build`."""
        trees = {side: self.tree("g242", SHAPE_242, side) for side in ("bk", "bbc")}
        log("g: building 242 images cold on both sides (not the measured part)")
        cold_bk = self.naive(trees["bk"], buildkit=True)
        cold_bbc, _ = self.bbc_build(trees["bbc"], jobs=2)
        log(f"g: BuildKit loop cold {cold_bk:.1f}s, bbc -j2 cold {cold_bbc:.1f}s")
        reps = 3
        bk_s, bbc_s = self.alternate(reps, lambda: self.naive(trees["bk"], buildkit=True),
                                     lambda: self.bbc_build(trees["bbc"])[0])
        self.record("g", "242 images (2 roots), all up to date, vs the BuildKit loop", bk_s, bbc_s,
                    {"cold_buildkit_serial_s": cold_bk, "cold_bbc_j2_s": cold_bbc})

    def scenario_h(self) -> None:
        """The 40-image up-to-date build before and after 1,000 unrelated images land on the
        engine (a shared CI engine): asking for the release tags by name should not notice them."""
        if not hasattr(self, "t40"):
            self.ensure_built_40()
        reps = 5 if self.quick else 7
        quiet = [self.bbc_build(self.t40["bbc"])[0] for _ in range(reps)]
        start = time.perf_counter()
        made = noise_images(self.noise_repo, NOISE)
        log(f"h: {made} unrelated images created in {time.perf_counter() - start:.1f}s")
        noisy = [self.bbc_build(self.t40["bbc"])[0] for _ in range(reps)]
        self.record("h", f"40 images up to date, with {made} unrelated images on the engine", quiet, noisy,
                    {"noise_images": made})
        left = self.clean(self.noise_repo, timeout=300)
        if left:
            log(f"h: {len(left)} noise images not removed yet")

    def scenario_i(self) -> None:
        """A second `scripts/demo` with nothing changed (the example hierarchy built and tested)."""
        demo = HERE.parent / "scripts" / "demo"
        log("i: scripts/demo once to warm up (builds and tests the example hierarchy if needed)")
        run([str(demo)])
        samples = [run([str(demo)])[0] for _ in range(3)]
        self.record("i", "second scripts/demo, nothing changed", None, samples)

    def scenario_j(self) -> None:
        """`bbc init` on 1,000 images whose Dockerfiles name their parents in ARG defaults; the
        file it writes must give every image the parent gen.py's hand.yaml gives it."""
        images, depth, fanout = SHAPE_1K
        out = self.graphs / "g1k-adopt"
        gen.write(out, gen.tree(images, depth, fanout), tiny=True, registry=self.bbc_repo, salt=self.salt(),
                  adopt=True)
        samples = [run([self.bbc, "init", "--force", str(out)])[0] for _ in range(3 if self.quick else 5)]
        wrote, hand = parents(out / "bbc.yaml"), parents(out / "hand.yaml")
        if wrote != hand:
            raise SystemExit(f"j: bbc init linked {sum(wrote[k] != hand.get(k) for k in wrote)} images "
                             "differently from hand.yaml")
        self.record("j", f"bbc init, {len(wrote)} images", None, samples)
        if not self.keep:
            shutil.rmtree(out, ignore_errors=True)

    def scenario_k(self) -> None:
        """The 40-image tree released cold: `bbc release -j 2` vs the pipeline `bbc ci gitlab`
        generates, run by gitlab-ci-local (shell executor, 2 jobs at once) on the same engine.
        Not a race bbc can win on one machine: it prices a job per image (a process, a copy of
        the project, a plan, pulls and pushes by fingerprint)."""
        gcl = shutil.which("gitlab-ci-local")
        if gcl is None:
            raise SystemExit("k: gitlab-ci-local is not installed (scripts/bootstrap installs it)")
        trees = {side: self.tree("g40k", SHAPE_40, side) for side in ("naive", "bbc")}
        pipe = trees["naive"]  # the "naive" repository holds the pipeline's images
        for tree in trees.values():
            run(["git", "init", "-q", str(tree)])
        _, text = run([self.bbc, "-c", str(pipe / "bbc.yaml"), "ci", "gitlab", "--install-command",
                       f"export PATH={Path(self.bbc).parent}:$PATH"])
        (pipe / ".gitlab-ci.yml").write_text(text)
        for tree in trees.values():
            run(["git", "-C", str(tree), "add", "-A"])
            run(["git", "-C", str(tree), "-c", "user.email=b@e", "-c", "user.name=bench", "commit", "-qm", "t"])
        jobs = sum(1 for line in text.splitlines() if line.startswith("build-"))
        bbc_s, _ = run([self.bbc, "-c", str(trees["bbc"] / "bbc.yaml"), "release", "-j", "2"], env=self.bbc_env)
        pipe_s, _ = run([gcl, "--file", ".gitlab-ci.yml", "--concurrency", "2"], cwd=pipe, env=self.bbc_env)
        _, after = self.bbc_build(pipe)
        if "all 40 images up to date" not in after:
            raise SystemExit("k: the pipeline's images are not what bbc build expects")
        self.record("k", f"40 images released cold: pipeline of {jobs} jobs + release vs bbc release -j2",
                    [pipe_s], [bbc_s])
        if not self.keep:
            for tree in trees.values():
                shutil.rmtree(tree, ignore_errors=True)

    def scenario_l(self) -> None:
        """The 40-image tree built cold with `bbc build -j 2` on one engine and on a pool of two
        (this one and a second private dockerd, one build each). On 2 cores a pool cannot be
        faster; this prices placement and moving parents through the registry."""
        folder = Path(tempfile.mkdtemp(prefix="bbc-bench-second-", dir="/var/tmp"))
        env = {**os.environ, "BBC_ENGINE_DIR": str(folder), "BBC_REGISTRY_ADDR": f"127.0.0.1:{_free_port()}"}
        script = str(HERE.parent / "scripts" / "engine")
        try:
            _, out = run([script, "up"], env=env)
            second = out.strip().rpartition("=")[2]
            one, two = self.tree("g40l", SHAPE_40, "naive"), self.tree("g40l", SHAPE_40, "bbc")
            primary = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
            with (one / "bbc.yaml").open("a") as f:
                f.write(f"engines:\n  - {primary}\n")
            with (two / "bbc.yaml").open("a") as f:
                f.write(f"engines:\n  - {primary}\n  - {second}\n")
            one_s, _ = run([self.bbc, "-c", str(one / "bbc.yaml"), "build", "-j", "2"], env=self.bbc_env)
            two_s, out = run([self.bbc, "-c", str(two / "bbc.yaml"), "build", "-j", "2"], env=self.bbc_env)
            moved = out.count("by the registry")
            on_second = sum(1 for line in out.splitlines() if line.rstrip().endswith(second))
            self.record("l", f"40 images cold, two engines vs one ({on_second} built on the second, "
                             f"{moved} parents moved)", [two_s], [one_s], {"on_second": on_second, "moved": moved})
        finally:
            run([script, "down"], env=env)
            shutil.rmtree(folder, ignore_errors=True)

    def scenario_m(self) -> None:
        """`bbc ci gitlab` and `bbc ci github` for 1,000 images the registry lacks (nothing built):
        the time to write them (the plan asks the registry for every fingerprint), and how they
        are cut (child pipelines; per-level matrices) to stay inside GitLab's and GitHub's limits."""
        images, depth, fanout = SHAPE_1K
        tree = self.tree("g1k-ci", SHAPE_1K, "bbc", tiny=True)
        time.sleep(2.5)  # settled, as in e: files younger than 2 s are never cached
        run([self.bbc, "-c", str(tree / "bbc.yaml"), "plan"])  # validation and context hashes, once
        extra: dict[str, Any] = {}
        samples = []
        for kind in ("gitlab", "github"):
            out = tree / f"ci-{kind}"
            took = []
            for _ in range(1 if self.quick else 3):
                took.append(run([self.bbc, "-c", str(tree / "bbc.yaml"), "ci", kind, "-o", out.name], cwd=tree)[0])
            samples.append(statistics.median(took))
            extra[kind] = pipeline_shape(kind, sorted(out.glob("*.yml")))
            extra[kind]["seconds"] = took
            log(f"m: {kind}: {statistics.median(took):.2f}s, {extra[kind]}")
        self.record("m", f"bbc ci gitlab / github, {images} images (median of each: "
                         f"{samples[0]:.2f} s / {samples[1]:.2f} s)", None, [max(samples)], extra)
        if not self.keep:
            shutil.rmtree(tree, ignore_errors=True)

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


def pipeline_shape(kind: str, files: list[Path]) -> dict[str, Any]:
    """Files, their sizes, jobs per file, the biggest matrix: what the CI systems limit."""
    import yaml

    shape: dict[str, Any] = {"files": len(files), "largest_kb": round(max(f.stat().st_size for f in files) / 1000, 1)}
    if kind == "gitlab":
        docs = {f.name: yaml.safe_load(f.read_text()) for f in files}
        shape["jobs_per_child"] = [sum(k.startswith("build-") for k in d) for n, d in docs.items() if n != "pipeline.yml"]
        shape["top_jobs"] = len([k for k, v in docs["pipeline.yml"].items() if isinstance(v, dict) and "stage" in v])
    else:
        jobs = yaml.safe_load(files[0].read_text())["jobs"]
        sizes = [len(j["strategy"]["matrix"]["image"]) for j in jobs.values() if "strategy" in j]
        shape.update(jobs=len(jobs), matrix_sizes=sizes, runs=sum(sizes) + 1)
    return shape


def noise_images(repository: str, count: int) -> int:
    """`count` distinct tiny images (no bbc labels) imported straight through the Engine API
    (one tar each, ~10 ms; the CLI's `docker import` costs ~10x more per call)."""
    import http.client
    import io
    import socket
    import tarfile
    import urllib.parse

    host = os.environ.get("DOCKER_HOST", DEFAULT_HOST)
    if not host.startswith("unix://"):
        sys.exit("scenario h needs a unix-socket DOCKER_HOST")
    path = host[len("unix://"):]

    class Conn(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(path)

    made = 0
    for i in range(count):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            data = f"noise {repository} {i}\n".encode()
            info = tarfile.TarInfo("noise.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        query = urllib.parse.urlencode({"fromSrc": "-", "repo": f"{repository}/n", "tag": str(i)})
        conn = Conn("localhost", timeout=60)
        conn.request("POST", f"/images/create?{query}", body=buf.getvalue(),
                     headers={"Content-Type": "application/x-tar"})
        response = conn.getresponse()
        response.read()
        conn.close()
        made += response.status == 200
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="a,b,c,d,e,f,g,h,i,j,k,l,m")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (1 cold, 3 cached)")
    parser.add_argument("--keep", action="store_true", help="leave images and generated trees behind")
    parser.add_argument("--c-jobs", type=int, default=None, metavar="N",
                        help="bbc build -j N in scenario c (default: bbc's own, one build per CPU)")
    parser.add_argument("--bbc", metavar="PATH", default=None,
                        help="the bbc executable to measure (default: this venv's), e.g. an older bbc's, "
                             "for before/after figures in one session")
    parser.add_argument("--bbc-builder", choices=["buildkit", "legacy"], default="buildkit",
                        help="bbc's builder (the naive loop always uses the legacy builder)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DOCKER_HOST", DEFAULT_HOST)
    os.environ.pop("DOCKER_BUILDKIT", None)
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in TARGETS]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}; choose from {','.join(TARGETS)}")
    bench = Bench(args.quick, args.keep)
    if args.bbc:
        bench.bbc = str(Path(args.bbc).resolve())
    bench.c_jobs = args.c_jobs
    bench.bbc_env = {"DOCKER_BUILDKIT": "0"} if args.bbc_builder == "legacy" else {}
    # bbc as users run it: byte-compiled (where PYTHONDONTWRITEBYTECODE is set, each run
    # would compile its modules again and the figures would measure the compiler)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "bbc")], check=True)
    log(f"run {bench.run_id}: repositories {bench.naive_repo}/*, {bench.bk_repo}/*, {bench.bbc_repo}/*; "
        f"docker {bench.docker}")
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
                    f"docker images --format '{{{{.Repository}}}}:{{{{.Tag}}}}' | grep -E '^{REGISTRY_HOST}/(bench|noise){bench.run_id}' "
                    "| xargs docker rmi")
            shutil.rmtree(bench.graphs, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {
        "run_id": bench.run_id, "quick": args.quick, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "docker_host": os.environ["DOCKER_HOST"], "docker_cli": bench.docker, "bbc": bench.bbc,
        "cpus": os.cpu_count(), "total_s": round(time.perf_counter() - started, 1),
        "bbc_builder": args.bbc_builder, "c_jobs": args.c_jobs, "naive_builder": "legacy (a-d), buildkit (f, g)",
    }
    (OUT / "results.json").write_text(json.dumps({"meta": meta, "scenarios": bench.results}, indent=2) + "\n")
    print(bench.table())
    return 0 if all(r["met"] for r in bench.results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
