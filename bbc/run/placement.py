"""Which engines of a pool may take a build, by platform (issue 24): those that build its
platform natively when the pool has any, every engine (emulation, QEMU) only otherwise.

An engine's platforms are what bbc.yaml declares for it (`engines: [{host: ..., platforms:
[linux/arm64]}]`), else the one it reports (/info: OSType and Architecture), asked once a run
and only in a pool. A build's platform is its image's (one platform of a multi-platform
image, `static@arm64`), else this machine's: an image that names none is built for the
platform bbc runs on (bbc/model/platforms.py). bbc/run/pool.py chooses among the engines this
module leaves: the parent's when it has room, else the least loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from bbc.adapters.engine import Engine
from bbc.errors import BbcError
from bbc.model import platforms
from bbc.model.hierarchy import Hierarchy


class Slot(Protocol):
    """What placement reads of an engine of the pool (bbc/run/pool.py's Slot)."""

    engine: Engine
    platforms: tuple[str, ...]  # declared
    reported: tuple[str, ...] | None  # asked of the engine, once


S = TypeVar("S", bound=Slot)


def build_platform(hierarchy: Hierarchy, image: str) -> str:
    """The platform `image`'s build is for."""
    return hierarchy[image].platform or platforms.native()


def engine_platforms(slot: Slot) -> tuple[str, ...]:
    """What the engine builds natively: declared, else reported (asked once; an engine that
    cannot say builds nothing natively, so it never takes a platform from one that can)."""
    if slot.platforms:
        return slot.platforms
    if slot.reported is None:  # two threads may both ask: the same answer
        try:
            slot.reported = (slot.engine.platform(),)
        except BbcError:
            slot.reported = ()
    return slot.reported


def native(slot: Slot, platform: str) -> bool:
    """Whether the engine builds `platform` without emulation (a variant on either side matches
    its architecture: linux/arm64 and linux/arm64/v8)."""
    return any(platforms.matches(there, platform) or platforms.matches(platform, there)
               for there in engine_platforms(slot))


def candidates(hierarchy: Hierarchy, image: str, slots: Sequence[S]) -> list[S]:
    """The engines that may take `image`'s build: the native ones, or all of them when none is."""
    platform = build_platform(hierarchy, image)
    found = [s for s in slots if native(s, platform)]
    return found or list(slots)


def covered(slots: Sequence[Slot], platform: str) -> bool:
    """Whether some engine of the pool builds `platform` natively (no emulation needed here)."""
    return len(slots) > 1 and any(native(s, platform) for s in slots)
