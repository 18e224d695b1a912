"""Options more than one command takes, declared once: what to work on (IMAGES, --changed,
--since, ...), --format, --engine, -j, --rerun, -v. Each is a decorator; `wanted` gathers the
selection options into one typed `Wanted` for the command function."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from bbc.cli.context import Ctx, Wanted

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json")

pass_ctx = click.make_pass_decorator(Ctx)


def wanted(*, dependents: str | None = None, force: str | None = None) -> Callable[[F], F]:
    """IMAGES, --changed and --since (and, when their help is given, --with-dependents and
    --force), handed to the command as one `wanted: Wanted`."""

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def gather(*args: Any, images: tuple[str, ...], changed: bool, since: str | None,
                   with_dependents: bool = False, force: bool = False, **kwargs: Any) -> Any:
            return f(*args, wanted=Wanted(images, changed, since, with_dependents, force), **kwargs)

        out: Callable[..., Any] = gather
        if force is not None:
            out = click.option("--force", is_flag=True, help=force)(out)
        if dependents is not None:
            out = click.option("--with-dependents", is_flag=True, help=dependents)(out)
        out = click.option("--since", metavar="REV", help="With --changed: compare against REV instead of HEAD.")(out)
        out = click.option("--changed", is_flag=True,
                           help="Only images whose files changed (working tree vs HEAD, untracked included) "
                                "and everything below them.")(out)
        return click.argument("images", nargs=-1)(out)  # type: ignore[return-value]

    return decorate


def fmt(choices: Sequence[str] = FORMATS, default: str | None = None) -> Callable[[F], F]:
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default or choices[0],
                        show_default=True)


def engines(f: F) -> F:
    return click.option("--engine", "engines", multiple=True, metavar="URL|CONTEXT",
                        help="Spread builds over these engines (repeatable; instead of bbc.yaml's engines:).")(f)


def no_cache(f: F) -> F:
    return click.option("--no-cache", is_flag=True,
                        help="Run every build step again: no cache from the image's earlier builds in the "
                             "registry, none from the engine's (as `docker build --no-cache`).")(f)


def jobs(help: str, *, cpus: bool = True) -> Callable[[F], F]:
    """-j: by default one per CPU (builds), or 1 (tests)."""
    default: Any = (lambda: os.cpu_count() or 1) if cpus else 1
    return click.option("-j", "--jobs", type=click.IntRange(1, 64), default=default,
                        show_default="number of CPUs" if cpus else True, help=help)


def rerun(help: str) -> Callable[[F], F]:
    return click.option("--rerun", is_flag=True, help=help)


def verbose(help: str) -> Callable[[F], F]:
    return click.option("-v", "--verbose", is_flag=True, help=help)


def levels(help: str = "How far a pinned Python package may move to count as outdated.") -> Callable[[F], F]:
    """--packages LEVEL and --index-url: how far a pinned Python package may move, and where to ask."""

    def decorate(f: F) -> F:
        f = click.option("--index-url", default=None, help="Package index to ask (default: pip's configuration).")(f)
        return click.option("--packages", "level", type=click.Choice(["patch", "minor", "major", "off"]),
                            default="minor", show_default=True, help=help)(f)

    return decorate


def level(value: str) -> str | None:
    """--packages off: None (no package is asked about)."""
    return None if value == "off" else value


def names(value: str | None) -> tuple[str, ...]:
    """`--images A,B` as names."""
    return tuple(n.strip() for n in (value or "").split(",") if n.strip())
