"""The `bbc` click group every command module (cli/build.py, cli/inspect.py, cli/upkeep.py)
adds its commands to, and how a command function's exit code leaves the process."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from bbc.cli.context import Ctx


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False), envvar="BBC_CONFIG",
              help="bbc.yaml to use (default: the nearest one in this folder or above).")
@click.version_option(package_name="blessed-base-containers")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """bbc: build, test, version and roll out a hierarchy of blessed base containers."""
    from bbc.adapters.docker.containers import Containers

    # main() passes the run's containers; a caller of the group itself (click's test runner) gets new ones
    live = ctx.obj if isinstance(ctx.obj, Containers) else Containers()
    ctx.obj = Ctx(config_path, live)


def done(code: int) -> NoReturn:
    sys.exit(code)
