"""Every image a build reads, not only the FROM lines (issue 21): the FROM of every stage,
`COPY --from=<image>` (and `ADD --from`), and `RUN --mount=...,from=<image>` (bind and cache
mounts), each expanded with the global ARG defaults overridden by build args, as the builder
expands them, and told apart from the earlier stages they may name instead.

What reads an image of the hierarchy passes through `uses:`; everything else a build reads is
an external base (bbc/plan/bases.py): its digest in the fingerprint, `outdated`, `pin`,
`refresh` (see README "What a build reads").
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bbc.model.dockerfile.reader import Base, expand, global_args, global_values, instructions, stages

FROM = "FROM"
COPY = "COPY --from"
MOUNT = "RUN --mount"
_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))\Z")


def written(via: str, raw: str) -> str:
    """How the instruction reading `raw` through `via` is written: `COPY --from=acme/tool:1`."""
    return {COPY: f"COPY --from={raw}", MOUNT: f"RUN --mount=from={raw}"}.get(via, f"FROM {raw}")


@dataclass(frozen=True)
class Read:
    """One image reference a build reads: where, how, as written and expanded."""

    line: int
    via: str  # FROM | COPY --from | RUN --mount
    raw: str  # the reference as written, e.g. ${SERVING_IMAGE}, serving, acme/tool:1
    image: str  # expanded with the global ARGs (and build args)
    stage: int  # the stage it is the FROM of, or the stage whose instruction reads it
    platform: str | None  # the --platform of that stage's FROM
    args: tuple[str, ...]  # variables the reference used
    from_stage: int | None  # an earlier stage it names instead of an image

    @property
    def external(self) -> bool:
        """Names an image (not a stage, not scratch)."""
        return self.from_stage is None and bool(self.image) and self.image != "scratch"


def _mount_froms(flag: str) -> list[str]:
    """The `from=` of a `--mount=type=bind,from=x,...` flag (bind and cache mounts read it)."""
    fields = dict(f.partition("=")[::2] for f in flag[len("--mount="):].split(",") if f)
    if fields.get("type", "bind") not in ("bind", "cache") or not fields.get("from"):
        return []
    return [fields["from"]]


def reads(text: str, build_args: Mapping[str, str] | None = None) -> list[Read]:
    """Every image reference of the Dockerfile, in the order written: each stage's FROM, each
    `COPY --from` / `ADD --from` and each `RUN --mount=from=`."""
    values = global_values(text, build_args)
    found = stages(text, build_args)
    aliases = {s.alias: s.index for s in found if s.alias}
    out: list[Read] = []
    stage = -1
    for number, word, rest in instructions(text):
        if word == FROM:
            stage += 1
            if stage < len(found):
                s = found[stage]
                out.append(Read(s.line, FROM, s.raw, s.image, s.index, s.platform, s.args, s.from_stage))
            continue
        if stage < 0 or word not in ("COPY", "ADD", "RUN"):
            continue
        for flag in rest.split():
            if not flag.startswith("--"):
                break  # flags come first
            if word in ("COPY", "ADD") and flag.startswith("--from="):
                raws = [flag[len("--from="):]]
            elif word == "RUN" and flag.startswith("--mount="):
                raws = _mount_froms(flag)
            else:
                continue
            for raw in raws:
                image, used = expand(raw, values)
                earlier = aliases.get(image.lower())
                if earlier is None and image.isdigit():
                    earlier = int(image)
                platform = found[stage].platform if stage < len(found) else None
                out.append(Read(number, COPY if word != "RUN" else MOUNT, raw, image, stage, platform, used, earlier))
    return out


def reads_key(found: list[Read], key: str) -> list[Read]:
    """The reads that take `key`: through the build arg of that name, or written out as it."""
    return [r for r in found if key in r.args or r.raw == key]


def external_reads(text: str, *, parent_arg: str | None = None, parent_ref: str | None = None,
                   build_args: Mapping[str, str] | None = None, used: Collection[str] = ()) -> list[Base]:
    """The external bases of every stage and instruction, in order: every image the build
    reads that is not the parent (through `parent_arg`, or written out as `parent_ref`), not a
    used image (`used`: the build args and written-out references of `uses:`), not an earlier
    stage, not scratch."""
    declared = global_args(text)
    out: list[Base] = []
    for read in reads(text, build_args):
        if not read.external:
            continue
        if parent_arg is not None and parent_arg in read.args or parent_ref is not None and read.raw == parent_ref:
            continue
        if any(key in read.args or read.raw == key for key in used):
            continue
        via = None
        m = _VAR.fullmatch(read.raw)
        if m:
            name = m.group("braced") or m.group("plain")
            if name in declared and declared[name][1] and not (build_args and name in build_args):
                via = name
        out.append(Base(read.line, read.stage, read.raw, read.image, read.platform, via,
                        declared[via][0] if via else None, read.via))
    return out


def on_build_platform(found: list[Read]) -> bool:
    """Whether every one of these reads runs in a stage on the build platform
    (`FROM --platform=$BUILDPLATFORM`): a cross-compiling builder's input."""
    return bool(found) and all((r.platform or "").replace("{", "").replace("}", "") == "$BUILDPLATFORM" for r in found)
