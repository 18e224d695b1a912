"""The thin CLI: click options in, one command function called, its exit code out.

The commands are declared in cli/build.py (what runs the plan), cli/inspect.py (what looks)
and cli/upkeep.py (what changes files and releases over time), on the group of cli/group.py;
options several take are declared once in cli/options.py; cli/handler.py is the one error
handler: BbcError -> one clear line (and a tip), exit 1; Ctrl-C -> 130; anything else -> exit
3, "this is a bug", traceback saved to .bbc/logs/crash.log.
"""

from __future__ import annotations

from bbc.cli import build, inspect, upkeep  # noqa: F401  (each adds its commands to the group)
from bbc.cli.group import cli
from bbc.cli.handler import run

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    from bbc.adapters.docker.containers import Containers

    live = Containers()  # every container this run starts, on any engine
    run(lambda: cli.main(args=argv, prog_name="bbc", standalone_mode=False, obj=live), live.remove_all)


if __name__ == "__main__":
    main()
