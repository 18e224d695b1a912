"""The command line: the click app (app.py), the one error handler at its edge."""

from bbc.cli.app import cli, main

__all__ = ["cli", "main"]
