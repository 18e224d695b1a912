"""The commands that run the plan: build, plan, test, release, status, ci."""

from __future__ import annotations

from pathlib import Path

import click

from bbc.cli import options as opt
from bbc.cli.context import Ctx, Wanted
from bbc.cli.group import cli, done
from bbc.cli.options import pass_ctx


@cli.command()
@opt.wanted(dependents="Also build everything below the named images.",
            force="Rebuild the selected images even when up to date.")
@opt.jobs("Builds at once (1 = one after another).")
@click.option("--fail-fast", is_flag=True, help="Start nothing new after the first failure.")
@click.option("--dry-run", is_flag=True, help="Show the plan; build nothing.")
@click.option("--test", "run_tests", is_flag=True, help="Test each built image before it gets release tags.")
@opt.rerun("With --test: run tests even where they passed before on the same image.")
@click.option("--no-pull", is_flag=True, help="Never pull a build the registry already holds; build it.")
@opt.no_cache
@opt.engines
@opt.fmt()
@opt.verbose("Stream build logs.")
@pass_ctx
def build(obj: Ctx, wanted: Wanted, jobs: int, fail_fast: bool, dry_run: bool, run_tests: bool,  # click's options
          rerun: bool, no_pull: bool, no_cache: bool, engines: tuple[str, ...], fmt: str, verbose: bool) -> None:
    """Build IMAGES (default: all) and anything above them that is missing or out of date."""
    from bbc.commands import build as cmd
    from bbc.run.options import RunOptions

    sel = obj.selection(wanted)
    engine, pool = obj.engines(engines)
    options = RunOptions(jobs=jobs, fail_fast=fail_fast, pull=not no_pull, rerun=rerun, verbose=verbose, fmt=fmt,
                         image_lock=obj.image_lock(), pool=pool, cache=not no_cache)
    done(cmd.build(obj.hierarchy, engine, sel, options, dry_run=dry_run, test=run_tests))


@cli.command()
@opt.wanted(dependents="Also plan everything below the named images.",
            force="Plan the selected images as forced rebuilds.")
@click.option("--test", "with_tests", is_flag=True, help="Also the test steps `bbc test` would run.")
@click.option("--release", "with_release", is_flag=True,
              help="The steps `bbc release` would take: builds, tests, candidate pushes, promotion (asks the registry).")
@click.option("--no-test", is_flag=True, help="With --release: as `bbc release --no-test`.")
@opt.rerun("Plan tests as `--rerun` would: ignore passes recorded before.")
@opt.fmt()
@pass_ctx
def plan(obj: Ctx, wanted: Wanted, with_tests: bool, with_release: bool, no_test: bool, rerun: bool,
         fmt: str) -> None:
    """Say what each step of a build (or test, or release) would do, and why."""
    from bbc.commands import plan as cmd

    sel = obj.selection(wanted)
    done(cmd.plan(obj.hierarchy, obj.engine(), sel, fmt=fmt, test=with_tests or (with_release and not no_test),
                  release=with_release, rerun=rerun))


@cli.command()
@opt.wanted()
@opt.jobs("Images tested at once.", cpus=False)
@click.option("--keep", is_flag=True,
              help="Keep the container of a failed or timed-out test (stopped, labelled bbc.test-container) "
                   "for debugging; remove it with `docker rm`. Test images are always kept: they are the cache.")
@click.option("--junit-xml", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also write a JUnit XML report: a testsuite per image, a testcase per test.")
@opt.rerun("Run tests even where they passed before on the same image.")
@opt.no_cache
@opt.engines
@opt.fmt()
@opt.verbose("Stream build logs and test output.")
@pass_ctx
def test(obj: Ctx, wanted: Wanted, jobs: int, keep: bool, junit_xml: Path | None, rerun: bool,  # click's options
         no_cache: bool, engines: tuple[str, ...], fmt: str, verbose: bool) -> None:
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
    from bbc.commands import test as cmd
    from bbc.run.options import RunOptions

    sel = obj.selection(wanted)
    engine, pool = obj.engines(engines)
    options = RunOptions(jobs=jobs, keep=keep, rerun=rerun, verbose=verbose, fmt=fmt, pool=pool, cache=not no_cache)
    done(cmd.test(obj.hierarchy, engine, sel, options, junit_xml=junit_xml))


@cli.command()
@opt.wanted()
@opt.jobs("Builds at once (1 = one after another).")
@click.option("--no-test", is_flag=True, help="Skip the tests before pushing (not recommended).")
@opt.rerun("Run tests even where they passed before on the same image.")
@opt.no_cache
@opt.engines
@click.option("--candidates", is_flag=True,
              help="Stop after pushing candidate tags; move no release tag (one CI job per image; a final "
                   "`bbc release` promotes them all).")
@opt.fmt()
@pass_ctx
def release(obj: Ctx, wanted: Wanted, jobs: int, no_test: bool, rerun: bool, no_cache: bool,  # click's options
            engines: tuple[str, ...], candidates: bool, fmt: str) -> None:
    """Build, test, push under candidate tags, then promote X.Y.Z (write-once), X.Y, X, latest."""
    from bbc.commands import release as cmd
    from bbc.run.options import RunOptions

    sel = obj.selection(wanted)
    engine, pool = obj.engines(engines)
    options = RunOptions(jobs=jobs, rerun=rerun, fmt=fmt, image_lock=obj.image_lock(), pool=pool, cache=not no_cache)
    done(cmd.release(obj.hierarchy, engine, sel, options, test=not no_test, candidates=candidates))


@cli.command()
@click.option("--offline", is_flag=True, help="Do not ask the registry.")
@opt.fmt()
@pass_ctx
def status(obj: Ctx, offline: bool, fmt: str) -> None:
    """Per image: version, fingerprint, local build and registry state (stale = older parent build)."""
    from bbc.commands import status as cmd

    engine, pool = obj.engines()
    done(cmd.status(obj.hierarchy, engine, fmt=fmt, offline=offline, pool=[(s.name, s.engine) for s in pool]))


@cli.command("ci")
@click.argument("kind", type=click.Choice(["gitlab", "github"]))
@opt.wanted()
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
def ci_command(obj: Ctx, kind: str, wanted: Wanted, spec: str | None, commands: tuple[str, ...],  # click's options
               max_jobs: int, output: str | None, from_job: str) -> None:
    """Print a CI pipeline for what the registry lacks: one job per image (`needs:` from the
    hierarchy), each `bbc release IMAGE --candidates`, and one release job promoting them all."""
    from bbc.commands import ci as cmd

    if spec and commands:
        raise click.UsageError("--install and --install-command: give one (pip installs SPEC, or CMD puts bbc there)")
    sel = obj.selection(wanted)
    options = cmd.CiOptions(install=spec, install_commands=commands, config=obj.config_path, max_jobs=max_jobs,
                            output=output, from_job=from_job)
    done(cmd.ci_pipeline(obj.hierarchy, sel, kind, engine=obj.engine_or_none(), options=options))
