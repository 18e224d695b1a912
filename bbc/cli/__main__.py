"""`python -m bbc.cli`: the same as the `bbc` command."""

from bbc.cli.app import main

main()
