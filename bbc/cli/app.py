"""The thin CLI: click options in, one command function called, its exit code out.

One error handler: BbcError -> one clear line (and a tip), exit 1; Ctrl-C -> 130;
anything else -> exit 3, "this is a bug", traceback saved to .bbc/logs/crash.log.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bbc.errors import BbcError

FORMATS = click.Choice(["table", "json"])


class Ctx:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._hierarchy: Any = None

    @property
    def hierarchy(self) -> Any:
        if self._hierarchy is None:
            from bbc import config as config_mod
            from bbc.model.hierarchy import Hierarchy

            path = Path(self.config_path) if self.config_path else config_mod.find_config(Path.cwd())
            self._hierarchy = Hierarchy.of(config_mod.load(path))
            # The config lives as long as the process: out of the collector's full scans, which
            # otherwise walk its 10,000 specs again and again while a large plan is made
            # (measured: 10,000-image plan, median 2.13 s -> 1.89 s).
            import gc

            gc.freeze()
        return self._hierarchy

    def engine(self) -> Any:
        from bbc.adapters.docker.engine import connect

        return connect()

    def pool(self, override: tuple[str, ...] = ()) -> Any:
        """The pool of engines (--engine, else bbc.yaml `engines:`), every one answering before
        anything starts; None: the one engine the environment names."""
        from bbc.adapters.docker.engine import connect
        from bbc.run.executor import Slot

        specs = [(host, 1) for host in override] or [(e.host, e.jobs) for e in self.hierarchy.config.engines]
        if not specs:
            return None
        return [Slot(host, connect(host), jobs) for host, jobs in specs]

    def engine_or_none(self) -> Any:
        """The engine when one answers (a fallback source of digests), else None."""
        from bbc.errors import BbcError

        try:
            return self.engine()
        except BbcError:
            return None

    def image_lock(self) -> Any:
        """Builds of one image by two bbc runs at once take turns (bbc/lock.py)."""
        from bbc.adapters import lock

        root = self.hierarchy.config.root
        return lambda image: lock.image_lock(root, image)


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False), envvar="BBC_CONFIG",
              help="bbc.yaml to use (default: the nearest one in this folder or above).")
@click.version_option(package_name="blessed-base-containers")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """bbc: build, test, version and roll out a hierarchy of blessed base containers."""
    ctx.obj = Ctx(config_path)


def _selection_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--since", metavar="REV", help="With --changed: compare against REV instead of HEAD.")(f)
    f = click.option("--changed", is_flag=True,
                     help="Only images whose files changed (working tree vs HEAD, untracked included) "
                          "and everything below them.")(f)
    f = click.argument("images", nargs=-1)(f)
    return f


@cli.command()
@_selection_options
@click.option("--with-dependents", is_flag=True, help="Also build everything below the named images.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=lambda: os.cpu_count() or 1,
              show_default="number of CPUs", help="Builds at once (1 = one after another).")
@click.option("--force", is_flag=True, help="Rebuild the selected images even when up to date.")
@click.option("--fail-fast", is_flag=True, help="Start nothing new after the first failure.")
@click.option("--dry-run", is_flag=True, help="Show the plan; build nothing.")
@click.option("--test", "run_tests", is_flag=True, help="Test each built image before it gets release tags.")
@click.option("--rerun", is_flag=True, help="With --test: run tests even where they passed before on the same image.")
@click.option("--no-pull", is_flag=True, help="Never pull a build the registry already holds; build it.")
@click.option("--engine", "engines", multiple=True, metavar="URL|CONTEXT",
              help="Spread builds over these engines (repeatable; instead of bbc.yaml's engines:).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Stream build logs.")
@pass_ctx
def build(obj: Ctx, images: tuple[str, ...], changed: bool, since: str | None, with_dependents: bool, jobs: int,
          force: bool, fail_fast: bool, dry_run: bool, run_tests: bool, rerun: bool, no_pull: bool,
          engines: tuple[str, ...], fmt: str, verbose: bool) -> None:
    """Build IMAGES (default: all) and anything above them that is missing or out of date."""
    from bbc.run import pipeline
    from bbc.commands import build as cmd

    h = obj.hierarchy
    sel = pipeline.selection(h, images, changed=changed, since=since, with_dependents=with_dependents, force=force)
    pool = obj.pool(engines)
    _exit(cmd.build(h, pool[0].engine if pool else obj.engine(), sel, jobs=jobs, fail_fast=fail_fast,
                    dry_run=dry_run, test=run_tests, rerun=rerun, fmt=fmt, verbose=verbose, pull=not no_pull,
                    image_lock=obj.image_lock(), pool=pool))


@cli.command()
@_selection_options
@click.option("--with-dependents", is_flag=True, help="Also plan everything below the named images.")
@click.option("--force", is_flag=True, help="Plan the selected images as forced rebuilds.")
@click.option("--test", "with_tests", is_flag=True, help="Also the test steps `bbc test` would run.")
@click.option("--release", "with_release", is_flag=True,
              help="The steps `bbc release` would take: builds, tests, candidate pushes, promotion (asks the registry).")
@click.option("--no-test", is_flag=True, help="With --release: as `bbc release --no-test`.")
@click.option("--rerun", is_flag=True, help="Plan tests as `--rerun` would: ignore passes recorded before.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def plan(obj: Ctx, images: tuple[str, ...], changed: bool, since: str | None, with_dependents: bool, force: bool,
         with_tests: bool, with_release: bool, no_test: bool, rerun: bool, fmt: str) -> None:
    """Say what each step of a build (or test, or release) would do, and why."""
    from bbc.run import pipeline
    from bbc.commands import plan as cmd

    h = obj.hierarchy
    sel = pipeline.selection(h, images, changed=changed, since=since, with_dependents=with_dependents, force=force)
    _exit(cmd.plan(h, obj.engine(), sel, fmt=fmt, test=with_tests or (with_release and not no_test),
                   release=with_release, rerun=rerun))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["tree", "dot", "mermaid", "json"]), default="tree",
              show_default=True)
@pass_ctx
def graph(obj: Ctx, fmt: str) -> None:
    """Print the hierarchy."""
    from bbc.commands import graph as cmd

    _exit(cmd.graph(obj.hierarchy, fmt=fmt))


@cli.command()
@_selection_options
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Images tested at once.")
@click.option("--keep", is_flag=True,
              help="Keep the container of a failed or timed-out test (stopped, labelled bbc.test-container) "
                   "for debugging; remove it with `docker rm`. Test images are always kept: they are the cache.")
@click.option("--junit-xml", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also write a JUnit XML report: a testsuite per image, a testcase per test.")
@click.option("--rerun", is_flag=True, help="Run tests even where they passed before on the same image.")
@click.option("--engine", "engines", multiple=True, metavar="URL|CONTEXT",
              help="Spread builds over these engines (repeatable; instead of bbc.yaml's engines:).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Stream build logs and test output.")
@pass_ctx
def test(obj: Ctx, images: tuple[str, ...], changed: bool, since: str | None, jobs: int, keep: bool,
         junit_xml: Path | None, rerun: bool, engines: tuple[str, ...], fmt: str, verbose: bool) -> None:
    """Test IMAGES (default: all) with their own and inherited tests.

    Each image's Dockerfile is built on a test layer (test.layer, from the image or its
    nearest ancestor; ARG SOURCE_IMAGE) over its parent's release build, with
    test.build_args, and tagged only locally as <registry>/<name>:<version>-test; release
    builds never contain test tools. Missing or stale release builds are built first, as
    `bbc build` would. Tests run without network unless test.network is host, and their
    containers are always removed. Output: .bbc/logs/<image>.test.log. A pass on the same
    image with the same tests is remembered (.bbc/tests/) and reused unless --rerun.
    Exit 1 if any failed.
    """
    from bbc.run import pipeline
    from bbc.commands import test as cmd

    h = obj.hierarchy
    sel = pipeline.selection(h, images, changed=changed, since=since)
    pool = obj.pool(engines)
    _exit(cmd.test(h, pool[0].engine if pool else obj.engine(), sel, jobs=jobs, keep=keep, rerun=rerun,
                   junit_xml=junit_xml, fmt=fmt, verbose=verbose, pool=pool))


@cli.command()
@click.argument("image")
@click.argument("how", metavar="major|minor|patch|X.Y.Z")
@click.option("--no-cascade", is_flag=True, help="Leave descendants' versions alone.")
@click.option("--dry-run", is_flag=True, help="Print the diff; change nothing.")
@pass_ctx
def bump(obj: Ctx, image: str, how: str, no_cascade: bool, dry_run: bool) -> None:
    """Bump IMAGE's version in bbc.yaml; descendants follow their cascade policy."""
    from bbc.commands import bump as cmd

    _exit(cmd.bump(obj.hierarchy, image, how, cascade=not no_cascade, dry_run=dry_run))


@cli.command()
@_selection_options
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=lambda: os.cpu_count() or 1,
              show_default="number of CPUs", help="Builds at once (1 = one after another).")
@click.option("--no-test", is_flag=True, help="Skip the tests before pushing (not recommended).")
@click.option("--rerun", is_flag=True, help="Run tests even where they passed before on the same image.")
@click.option("--engine", "engines", multiple=True, metavar="URL|CONTEXT",
              help="Spread builds over these engines (repeatable; instead of bbc.yaml's engines:).")
@click.option("--candidates", is_flag=True,
              help="Stop after pushing candidate tags; move no release tag (one CI job per image; a final "
                   "`bbc release` promotes them all).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def release(obj: Ctx, images: tuple[str, ...], changed: bool, since: str | None, jobs: int, no_test: bool,
            rerun: bool, engines: tuple[str, ...], candidates: bool, fmt: str) -> None:
    """Build, test, push under candidate tags, then promote X.Y.Z (write-once), X.Y, X, latest."""
    from bbc.run import pipeline
    from bbc.commands import release as cmd

    h = obj.hierarchy
    sel = pipeline.selection(h, images, changed=changed, since=since)
    pool = obj.pool(engines)
    _exit(cmd.release(h, pool[0].engine if pool else obj.engine(), sel, jobs=jobs, test=not no_test, rerun=rerun,
                      fmt=fmt, image_lock=obj.image_lock(), candidates=candidates, pool=pool))


@cli.command()
@click.option("--offline", is_flag=True, help="Do not ask the registry.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def status(obj: Ctx, offline: bool, fmt: str) -> None:
    """Per image: version, fingerprint, local build and registry state (stale = older parent build)."""
    from bbc.commands import status as cmd

    pool = obj.pool()
    _exit(cmd.status(obj.hierarchy, pool[0].engine if pool else obj.engine(), fmt=fmt, offline=offline,
                     pool=[(s.name, s.engine) for s in pool or ()]))


@cli.command()
@click.argument("image")
@click.option("--transitive", is_flag=True, help="All descendants, not only the children.")
@click.option("--built-on", "built_on", metavar="RANGE",
              help="Instead: local builds whose ancestry holds IMAGE at a version in RANGE, e.g. '<2.3.0' "
                   "or '>=1.0.0,<2.0.0' (read from image labels).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def dependents(obj: Ctx, image: str, transitive: bool, built_on: str | None, fmt: str) -> None:
    """The images below IMAGE and the projects (bbc.yaml) that build on them."""
    from bbc.commands import dependents as cmd

    if built_on is not None:
        _exit(cmd.built_on(obj.hierarchy, obj.engine, image, built_on, fmt=fmt))
    _exit(cmd.dependents(obj.hierarchy, image, transitive=transitive, fmt=fmt))


# --- what is inside (issue 13): bbc sbom, bbc why, bbc scan --------------------------------
@cli.command()
@click.argument("image")
@click.option("--format", "fmt", type=click.Choice(["cyclonedx", "table"]), default="cyclonedx", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
@pass_ctx
def sbom(obj: Ctx, image: str, fmt: str, output: Path | None) -> None:
    """The SBOM of IMAGE's build: every package, its purl and the image that introduced it."""
    from bbc.commands import sbom as cmd

    _exit(cmd.sbom(obj.hierarchy, obj.engine(), image, fmt=fmt, output=output))


@cli.command()
@click.argument("package")
@click.option("--image", metavar="IMAGE", help="Only this image (default: every built image).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def why(obj: Ctx, package: str, image: str | None, fmt: str) -> None:
    """Which images carry PACKAGE, at which version, and which image introduced or changed it."""
    from bbc.commands import why as cmd

    _exit(cmd.why(obj.hierarchy, obj.engine(), package, image=image, fmt=fmt))


@cli.command()
@click.argument("image")
@click.option("--report", "report_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A scanner's JSON report on IMAGE: trivy, grype or OSV format.")
@click.option("--fail-on", type=click.Choice(["low", "medium", "high", "critical"]), default="high", show_default=True,
              help="Exit 1 when a finding at or above this severity has an owner in the hierarchy.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def scan(obj: Ctx, image: str, report_file: Path, fail_on: str, fmt: str) -> None:
    """Route a scanner's findings on IMAGE to the images (and owners) that introduced each package."""
    from bbc.commands import scan as cmd

    _exit(cmd.scan(obj.hierarchy, obj.engine(), image, report_file, fail_on=fail_on, fmt=fmt))


@cli.command()
@click.argument("ref")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def ancestry(ref: str, fmt: str) -> None:
    """What the built image REF is built on, read from its labels down to the root."""
    from bbc.commands import dependents as cmd
    from bbc.adapters.docker.engine import connect

    _exit(cmd.ancestry(connect(), ref, fmt=fmt))


@cli.command()
@click.argument("image", required=False)
@click.option("--version", "version", metavar="X.Y.Z", help="Roll out this version of IMAGE instead of bbc.yaml's.")
@click.option("--test", "run_tests", is_flag=True, help="Build each updated project on the new base (also: test: true).")
@click.option("--push", is_flag=True, help="Push each project's branch to its origin.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def rollout(obj: Ctx, image: str | None, version: str | None, run_tests: bool, push: bool, fmt: str) -> None:
    """Move the projects building on IMAGE (default: all) to the released versions, one branch each."""
    from bbc.upkeep import rollout as cmd

    _exit(cmd.rollout(obj.hierarchy, obj.engine, image, push=push, test=run_tests, version=version, fmt=fmt))


@cli.command()
@click.argument("target", metavar="PACKAGE==VERSION | major|minor|patch|X.Y.Z")
@click.option("--image", metavar="IMAGE", help="Upgrade this image instead: TARGET is how to bump it.")
@click.option("--images", "only", metavar="A,B", help="Only look for pins in these images.")
@click.option("--build", is_flag=True, help="Build the affected images and everything below them.")
@click.option("--test", "run_tests", is_flag=True, help="Test each rebuilt image (implies --build).")
@click.option("--commit", is_flag=True, help="One git commit with the pin files and bbc.yaml, after builds pass.")
@click.option("--release", is_flag=True, help="With --image: release after the build passes.")
@click.option("--rollout", "roll", is_flag=True, help="With --image: then roll the release out to projects.")
@click.option("--dry-run", is_flag=True, help="Show the plan and the diff; change nothing.")
@pass_ctx
def upgrade(obj: Ctx, target: str, image: str | None, only: str | None, build: bool, run_tests: bool, commit: bool,
            release: bool, roll: bool, dry_run: bool) -> None:
    """Upgrade a pinned package across the images (bump, rebuild, commit), or an image (--image)."""
    from bbc.commands import upgrade as cmd

    images = [n.strip() for n in (only or "").split(",") if n.strip()]
    _exit(cmd.upgrade(obj.hierarchy, target, obj.engine, image=image, images=images, build=build, test=run_tests,
                      commit=commit, dry_run=dry_run, release=release, rollout=roll))


@cli.command("ci")
@click.argument("kind", type=click.Choice(["gitlab", "github"]))
@_selection_options
@click.option("--install", "spec", metavar="SPEC",
              help="What pip installs on the runner: a requirement, path or git URL "
                   "(default: this bbc, blessed-base-containers==VERSION).")
@click.option("--install-command", "commands", multiple=True, metavar="CMD",
              help="A line that puts bbc on the runner instead of pip (repeatable).")
# the default is ci.DEFAULT_MAX_JOBS, written out: the CLI imports no command code before it runs one
@click.option("--max-jobs", type=click.IntRange(min=1), default=200, show_default=True, metavar="N",
              help="Past N images: GitLab child pipelines of at most N jobs, GitHub matrices per level.")
@click.option("-o", "--output-dir", "output", metavar="DIR",
              help="Write the files into DIR (needed for GitLab child pipelines) instead of printing.")
@click.option("--from-job", default="bbc-ci", show_default=True, metavar="NAME",
              help="GitLab child pipelines: the job that ran bbc ci and keeps DIR as its artifact.")
@pass_ctx
def ci_command(obj: Ctx, kind: str, images: tuple[str, ...], changed: bool, since: str | None, spec: str | None,
               commands: tuple[str, ...], max_jobs: int, output: str | None, from_job: str) -> None:
    """Print a CI pipeline for what the registry lacks: one job per image (`needs:` from the
    hierarchy), each `bbc release IMAGE --candidates`, and one release job promoting them all."""
    from bbc.release import ci
    from bbc.run import pipeline
    from bbc.commands import ci as cmd

    if spec and commands:
        raise click.UsageError("--install and --install-command: give one (pip installs SPEC, or CMD puts bbc there)")
    h = obj.hierarchy
    sel = pipeline.selection(h, images, changed=changed, since=since)
    _exit(cmd.ci_pipeline(h, sel, kind, engine=obj.engine_or_none(), setup=ci.Setup.of(spec, commands, obj.config_path),
                          max_jobs=max_jobs, output=output, from_job=from_job))


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--registry", metavar="R", help="Where the images live (and bbc pushes): a FROM under R names an "
                                              "image of the tree. Default: the namespace the FROM lines share.")
@click.option("--print", "to_stdout", is_flag=True, help="Write bbc.yaml to standard output instead of the folder.")
@click.option("--force", is_flag=True, help="Replace an existing bbc.yaml (kept as bbc.yaml.bak).")
def init(folder: Path, registry: str | None, to_stdout: bool, force: bool) -> None:
    """Write bbc.yaml for the Dockerfiles below FOLDER (default: here): images, parents from
    their FROM lines, versions from their labels; doubts as comments starting with '?'."""
    from bbc.commands import init as cmd

    _exit(cmd.init(folder, registry=registry, to_stdout=to_stdout, force=force))


@cli.command()
@pass_ctx
def check(obj: Ctx) -> None:
    """Validate bbc.yaml (and every Dockerfile it names) without building; list unpinned
    bases and drift (a FROM naming another parent, Dockerfiles no image covers)."""
    from bbc.commands import check as cmd

    _exit(cmd.check(obj.hierarchy))


@cli.command()
@click.argument("images", nargs=-1)
@click.option("--packages", "level", type=click.Choice(["patch", "minor", "major", "off"]), default="minor",
              show_default=True, help="How far a pinned Python package may move to count as outdated.")
@click.option("--index-url", default=None, help="Package index to ask (default: pip's configuration).")
@click.option("--os", "os_packages", is_flag=True,
              help="Also OS package updates: apt-get -s upgrade (apk) in a throwaway container of each built image.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def outdated(obj: Ctx, images: tuple[str, ...], level: str, index_url: str | None, os_packages: bool,
             fmt: str) -> None:
    """What upstream has that the hierarchy does not; exit 1 if anything is outdated, 2 if unknown."""
    from bbc.commands import outdated as cmd

    _exit(cmd.outdated(obj.hierarchy, images, fmt=fmt, level=None if level == "off" else level,
                       index_url=index_url, engine=obj.engine if os_packages else None))


@cli.command()
@click.option("--images", "only", default=None, metavar="A,B", help="Only these images (default: all).")
@click.option("--bases/--no-bases", default=True, help="External bases whose tag moved (default: on).")
@click.option("--packages", "level", type=click.Choice(["patch", "minor", "major", "off"]), default="minor",
              show_default=True, help="Pinned Python packages with a newer release within this level.")
@click.option("--index-url", default=None, help="Package index to ask (default: pip's configuration).")
@click.option("--os", "use_os", is_flag=True,
              help="Run prepare steps marked refresh again where the built image has OS package updates.")
@click.option("--commit", is_flag=True, help="One commit listing every change per image.")
@click.option("--release", is_flag=True, help="Then release the refreshed images (tested).")
@click.option("--rollout", "roll", is_flag=True, help="Then roll the new versions out to the projects.")
@click.option("--dry-run", is_flag=True, help="Show the changes, bumps and file diffs; change nothing.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def refresh(obj: Ctx, only: str | None, bases: bool, level: str, index_url: str | None, use_os: bool,
            commit: bool, release: bool, roll: bool, dry_run: bool, fmt: str) -> None:
    """The maintenance window: take upstream's updates, bump, build, test, commit (release, roll out)."""
    from bbc.commands import refresh as cmd

    images = tuple(n.strip() for n in (only or "").split(",") if n.strip())
    _exit(cmd.refresh(obj.hierarchy, obj.engine, images=images, use_bases=bases,
                      level=None if level == "off" else level, index_url=index_url, commit=commit,
                      release=release, rollout=roll, dry_run=dry_run, fmt=fmt, use_os=use_os))


@cli.command()
@click.argument("images", nargs=-1)
@click.option("--check", "check_only", is_flag=True, help="List unpinned external bases; exit 1 if any.")
@pass_ctx
def pin(obj: Ctx, images: tuple[str, ...], check_only: bool) -> None:
    """Pin every external base (FROM images bbc does not build) by digest, in place."""
    from bbc.commands import pin as cmd

    _exit(cmd.pin(obj.hierarchy, images, None if check_only else obj.engine_or_none(), check=check_only))


# --- signed releases (issue 23): bbc keys generate, bbc verify --------------------------------
@cli.group()
def keys() -> None:
    """Signing keys for releases (ECDSA P-256, PEM)."""


@keys.command("generate")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default="bbc", show_default=True, help="Write FOLDER/NAME.key and FOLDER/NAME.pub.")
def keys_generate(folder: Path, name: str) -> None:
    """Write a key pair: FOLDER/NAME.key (PKCS#8 PEM, mode 0600) and FOLDER/NAME.pub.

    The private key is encrypted with the password in $BBC_SIGNING_PASSWORD when that is set
    (bbc then reads it back with the same variable), and written in the clear otherwise."""
    from bbc.commands import keys as cmd

    _exit(cmd.generate(folder, name=name))


@cli.command()
@click.argument("ref")
@click.option("--key", "key_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path), metavar="PEM",
              help="A trusted public key (repeatable; default: bbc.yaml's signing.public_keys).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def verify(obj: Ctx, ref: str, key_files: tuple[Path, ...], fmt: str) -> None:
    """Check that REF (registry/repo:tag or @sha256:...) is a signed bbc release: its signature,
    provenance and SBOM attestation, and that the provenance's parent and base are what the
    image was built on. Exit 0 when all hold, 1 with the reasons otherwise."""
    from bbc.commands import verify as cmd
    from bbc.release.signing import keys as keys_mod

    paths = list(key_files) or list(obj.hierarchy.config.signing.public_keys)
    _exit(cmd.verify(ref, keys_mod.load_public_keys(paths), fmt=fmt))


def _exit(code: int) -> None:
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="bbc", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        # click turns Ctrl-C into Abort. Steps run in worker threads, which die with the
        # process before their `finally`: remove their test containers from here.
        engine_module = sys.modules.get("bbc.adapters.docker.engine")
        if engine_module is not None:
            engine_module.remove_live_containers()
        click.echo("interrupted: builds in flight were cancelled; no tags were applied to them", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else 1)
    except BbcError as exc:
        for line in exc.message.splitlines():
            click.echo(f"bbc: error: {line}", err=True)
        if exc.tip:
            click.echo(f"bbc: tip: {exc.tip}", err=True)
        sys.exit(1)
    except SystemExit:
        raise
    except Exception:
        import traceback

        log = Path(".bbc/logs/crash.log")
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(traceback.format_exc(), encoding="utf-8")
            where = f"traceback saved to {log}"
        except OSError:
            where = "traceback follows"
            traceback.print_exc()
        click.echo(f"bbc: internal error: this is a bug, please report it ({where})", err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
