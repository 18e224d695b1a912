"""Big pipelines in pieces each CI system accepts, in the same needs order.

An image's level is the longest chain of pipeline images below it (0: it needs none), so every
image it needs sits on an earlier level and groups made of levels never wait in a circle.
Within a level, images follow their parents' order: siblings and cousins land in the same
piece, and a piece waits for few pieces of the level above.

- `matrices` (GitHub): each piece is one level, or a part of it, small enough for a matrix:
  its images are independent of each other, so they may all run at once. A matrix runs on one
  kind of runner: where the jobs need several (a job per platform, issue 24), each level is
  first parted by runner (`level-1-ubuntu-24-04-arm`).
- `bands` (GitLab): each piece is a child pipeline holding whole consecutive levels while they
  fit (the jobs inside keep their own `needs:`); a level too big for one is cut into parts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bbc.release.ci.jobs import Job


@dataclass(frozen=True)
class Group:
    name: str  # level-2, level-3-1 (the first part of level 3), levels-0-2
    images: tuple[str, ...]  # in pipeline order within each level
    needs: tuple[str, ...]  # names of the groups holding what its images need


def levels(found: Sequence[Job]) -> list[list[str]]:
    """The images of each level, each level in its parents' order."""
    level: dict[str, int] = {}
    for job in found:  # parents first: a need's level is known when its child comes
        level[job.image] = 1 + max((level[n] for n in job.needs if n in level), default=-1)
    index = {job.image: i for i, job in enumerate(found)}
    needs = {job.image: job.needs for job in found}
    out: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    rank: dict[str, int] = {}
    for depth, members in enumerate(out):
        members.extend(n for n in index if level[n] == depth)
        members.sort(key=lambda n: (min((rank.get(p, -1) for p in needs[n]), default=-1), index[n]))
        rank.update((n, i) for i, n in enumerate(members))
    return out


def parts(images: Sequence[str], size: int) -> list[list[str]]:
    """`images` cut into the fewest parts of at most `size`, as even as can be."""
    count = max(1, math.ceil(len(images) / size))
    step = len(images) / count
    return [list(images[round(i * step):round((i + 1) * step)]) for i in range(count)]


def matrices(found: Sequence[Job], size: int, runner: Callable[[Job], str] = lambda job: "") -> list[Group]:
    """One group per level and `runner` (or part of one, of more than `size` images)."""
    several = len({runner(j) for j in found}) > 1
    by_image = {j.image: j for j in found}
    pieces: list[tuple[str, list[str]]] = []
    for depth, members in enumerate(levels(found)):
        kinds = dict.fromkeys(runner(by_image[m]) for m in members)
        for kind in kinds:
            name = f"level-{depth}" + (f"-{_slug(kind)}" if several else "")
            cut = parts([m for m in members if runner(by_image[m]) == kind], size)
            pieces += [(name + (f"-{i}" if len(cut) > 1 else ""), part) for i, part in enumerate(cut, 1)]
    return _linked(found, pieces)


def _slug(text: str) -> str:
    """A runner's labels as part of a job id (letters, digits and '-')."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "default"


def bands(found: Sequence[Job], size: int) -> list[Group]:
    """Whole consecutive levels while they fit in `size` jobs; a bigger level in parts."""
    pieces: list[tuple[str, list[str]]] = []
    band: list[str] = []
    first = last = 0
    for depth, members in enumerate(levels(found)):
        if band and len(band) + len(members) > size:
            pieces.append((_band_name(first, last), band))
            band = []
        if len(members) > size:
            cut = parts(members, size)
            pieces += [(f"level-{depth}-{i}", part) for i, part in enumerate(cut, 1)]
            continue
        if not band:
            first = depth
        band += members
        last = depth
    if band:
        pieces.append((_band_name(first, last), band))
    return _linked(found, pieces)


def _band_name(first: int, last: int) -> str:
    return f"level-{first}" if first == last else f"levels-{first}-{last}"


def _linked(found: Sequence[Job], pieces: list[tuple[str, list[str]]]) -> list[Group]:
    home = {image: name for name, members in pieces for image in members}
    needs = {job.image: job.needs for job in found}
    order = {name: i for i, (name, _) in enumerate(pieces)}
    out = []
    for name, members in pieces:
        wanted = {home[n] for image in members for n in needs[image] if n in home} - {name}
        out.append(Group(name, tuple(members), tuple(sorted(wanted, key=order.__getitem__))))
    return out
