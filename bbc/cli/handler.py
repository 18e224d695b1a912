"""The one error handler, at the CLI's edge: a BbcError is one clear line (and a tip), exit 1;
a usage error exit 2; Ctrl-C removes the run's containers, exit 130; anything else is a bug:
exit 3, "please report", the traceback saved to .bbc/logs/crash.log."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import click

from bbc.errors import BbcError


def run(invoke: Callable[[], object], on_interrupt: Callable[[], object]) -> NoReturn:
    try:
        invoke()
    except (click.exceptions.Abort, KeyboardInterrupt):
        # click turns Ctrl-C into Abort. Steps run in worker threads, which die with the
        # process before their `finally`: remove their test containers from here.
        on_interrupt()
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
        _crashed()
    sys.exit(0)


def _crashed() -> NoReturn:
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
