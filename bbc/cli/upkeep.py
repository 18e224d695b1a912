"""The commands that change files or releases over time: bump, rollout, upgrade, outdated,
refresh, pin, init, keys."""

from __future__ import annotations

from pathlib import Path

import click

from bbc.cli import options as opt
from bbc.cli.context import Ctx
from bbc.cli.group import cli, done
from bbc.cli.options import pass_ctx


@cli.command()
@click.argument("image")
@click.argument("how", metavar="major|minor|patch|X.Y.Z")
@click.option("--no-cascade", is_flag=True, help="Leave descendants' versions alone.")
@click.option("--dry-run", is_flag=True, help="Print the diff; change nothing.")
@pass_ctx
def bump(obj: Ctx, image: str, how: str, no_cascade: bool, dry_run: bool) -> None:
    """Bump IMAGE's version in bbc.yaml; descendants follow their cascade policy."""
    from bbc.commands import bump as cmd

    done(cmd.bump(obj.hierarchy, image, how, cascade=not no_cascade, dry_run=dry_run))


@cli.command()
@click.argument("image", required=False)
@click.option("--version", "version", metavar="X.Y.Z", help="Roll out this version of IMAGE instead of bbc.yaml's.")
@click.option("--test", "run_tests", is_flag=True, help="Build each updated project on the new base (also: test: true).")
@click.option("--push", is_flag=True, help="Push each project's branch to its origin.")
@opt.fmt()
@pass_ctx
def rollout(obj: Ctx, image: str | None, version: str | None, run_tests: bool, push: bool, fmt: str) -> None:
    """Move the projects building on IMAGE (default: all) to the released versions, one branch each."""
    from bbc.commands import rollout as cmd

    done(cmd.rollout(obj.hierarchy, obj.engine, image, push=push, test=run_tests, version=version, fmt=fmt))


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
def upgrade(obj: Ctx, target: str, image: str | None, only: str | None, build: bool,  # click's options
            run_tests: bool, commit: bool, release: bool, roll: bool, dry_run: bool) -> None:
    """Upgrade a pinned package across the images (bump, rebuild, commit), or an image (--image)."""
    from bbc.commands import upgrade as cmd
    from bbc.upkeep.upgrade import UpgradeRequest

    request = UpgradeRequest(target, image=image, images=opt.names(only), build=build, test=run_tests,
                             commit=commit, dry_run=dry_run, release=release, rollout=roll)
    done(cmd.upgrade(obj.hierarchy, obj.engine, request))


@cli.command()
@click.argument("images", nargs=-1)
@opt.levels()
@click.option("--os", "os_packages", is_flag=True,
              help="Also OS package updates: apt-get -s upgrade (apk) in a throwaway container of each built image.")
@opt.fmt()
@pass_ctx
def outdated(obj: Ctx, images: tuple[str, ...], level: str, index_url: str | None, os_packages: bool,
             fmt: str) -> None:
    """What upstream has that the hierarchy does not; exit 1 if anything is outdated, 2 if unknown."""
    from bbc.commands import outdated as cmd

    done(cmd.outdated(obj.hierarchy, images, fmt=fmt, level=opt.level(level), index_url=index_url,
                      engine=obj.engine if os_packages else None))


@cli.command()
@click.option("--images", "only", default=None, metavar="A,B", help="Only these images (default: all).")
@click.option("--bases/--no-bases", default=True, help="External bases whose tag moved (default: on).")
@opt.levels("Pinned Python packages with a newer release within this level.")
@click.option("--os", "use_os", is_flag=True,
              help="Run prepare steps marked refresh again where the built image has OS package updates.")
@click.option("--commit", is_flag=True, help="One commit listing every change per image.")
@click.option("--release", is_flag=True, help="Then release the refreshed images (tested).")
@click.option("--rollout", "roll", is_flag=True, help="Then roll the new versions out to the projects.")
@click.option("--dry-run", is_flag=True, help="Show the changes, bumps and file diffs; change nothing.")
@opt.fmt()
@pass_ctx
def refresh(obj: Ctx, only: str | None, bases: bool, level: str, index_url: str | None,  # click's options
            use_os: bool, commit: bool, release: bool, roll: bool, dry_run: bool, fmt: str) -> None:
    """The maintenance window: take upstream's updates, bump, build, test, commit (release, roll out)."""
    from bbc.commands import refresh as cmd
    from bbc.upkeep.refresh import RefreshRequest

    request = RefreshRequest(images=opt.names(only), use_bases=bases, level=opt.level(level), index_url=index_url,
                             use_os=use_os, commit=commit, release=release, rollout=roll, dry_run=dry_run)
    done(cmd.refresh(obj.hierarchy, obj.engine, request, fmt=fmt))


@cli.command()
@click.argument("images", nargs=-1)
@click.option("--check", "check_only", is_flag=True, help="List unpinned external bases; exit 1 if any.")
@pass_ctx
def pin(obj: Ctx, images: tuple[str, ...], check_only: bool) -> None:
    """Pin every external base (FROM images bbc does not build) by digest, in place."""
    from bbc.commands import pin as cmd

    done(cmd.pin(obj.hierarchy, images, None if check_only else obj.engine_or_none(), check=check_only))


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--registry", metavar="R", help="Where the images live (and bbc pushes): a FROM under R names an "
                                              "image of the tree. Default: the namespace the FROM lines share.")
@click.option("--print", "to_stdout", is_flag=True, help="Write bbc.yaml to standard output instead of the folder.")
@click.option("--force", is_flag=True,
              help="Replace an existing bbc.yaml (kept as bbc.yaml.bak, then .bak.1, .bak.2, ...: "
                   "never over a backup).")
def init(folder: Path, registry: str | None, to_stdout: bool, force: bool) -> None:
    """Write bbc.yaml for the Dockerfiles below FOLDER (default: here): images, parents from
    their FROM lines, versions from their labels; doubts as comments starting with '?'."""
    from bbc.commands import init as cmd

    done(cmd.init(folder, registry=registry, to_stdout=to_stdout, force=force))


# --- signed releases (issue 23): bbc keys generate ------------------------------------------
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

    done(cmd.generate(folder, name=name))
