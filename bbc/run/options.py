"""How a command runs its plan: one frozen object from the CLI down to the executor, instead of
the same options spelled out by every command that builds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ContextManager

from bbc.release.signing.signer import Signer
from bbc.run.pool import Slot

# A lock held around building and tagging one image (bbc/adapters/lock.py), so two runs building
# the same image never leave a tag on a half-finished build.
ImageLock = Callable[[str], ContextManager[Any]]


@dataclass(frozen=True)
class RunOptions:
    jobs: int = 1  # steps at once
    fail_fast: bool = False  # start nothing new after the first failure
    pull: bool = True  # pull a build the registry already holds instead of building it
    keep: bool = False  # keep the container of a failed test
    rerun: bool = False  # run tests even where they passed before (the plan's Scope reads it)
    verbose: bool = False  # stream build logs and test output
    fmt: str = "table"  # table | json
    image_lock: ImageLock | None = None  # None: no other run builds in this tree meanwhile
    pool: tuple[Slot, ...] = ()  # engines to spread builds over (empty: the one engine given)
    # a build takes its cache from the image's earlier builds in the registry (issue 24);
    # False (`--no-cache`): every step runs again, no cache from the registry nor the engine
    cache: bool = True
    # issue 23: signs every manifest a release promotes, before any tag moves (None: unsigned)
    signer: Signer | None = None
