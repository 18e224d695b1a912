"""What a Dockerfile builds on, read as the builder reads it (bbc/model/dockerfile/): the FROM of
the stage it ships, the other images it reads (builder stages, `COPY --from=<image>`), and
its version label."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bbc.model import dockerfile
from bbc.upkeep.adopt.records import From

# stage names that are not what a Dockerfile ships when they come last
NOT_SHIPPED = frozenset({"test", "tests", "testing", "dev", "devel", "development", "debug", "lint", "ci"})
_VERSION = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+][0-9A-Za-z.+-]*)?\Z")
_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?\Z")
_ONE_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))\Z")


def _shipped_index(stages: list[dockerfile.Stage], target: str | None) -> tuple[int, str | None, str]:
    """(index of the stage that ships, the target bbc must build to or None, why)."""
    index = len(stages) - 1
    if target is not None:
        return next((s.index for s in stages if s.alias == target.lower()), index), None, ""
    last = stages[-1]
    if last.alias in NOT_SHIPPED and len(stages) > 1:
        shipped = [s for s in stages[:-1] if s.alias not in NOT_SHIPPED]
        if shipped:
            chosen = shipped[-1].alias or str(shipped[-1].index)
            return (shipped[-1].index, chosen, f"the last stage ('{last.alias}') looks like a {last.alias} "
                    f"stage; built to stage '{chosen}'")
    return index, None, ""


def shipped_from(text: str, target: str | None = None, build_args: Mapping[str, str] | None = None) -> From | None:
    """The FROM of the stage the Dockerfile ships (`target`'s when given; else the last, or
    the one before a last stage named like `test`), with `build_args` over the ARG defaults;
    None without any FROM."""
    stages = dockerfile.stages(text, build_args)
    if not stages:
        return None
    index, chosen, why = _shipped_index(stages, target)
    while stages[index].from_stage is not None:
        index = stages[index].from_stage  # type: ignore[assignment]
    stage = stages[index]
    m = _ONE_VAR.match(stage.raw)
    arg = (m.group(1) or m.group(2)) if m else None
    if arg is not None and arg not in dockerfile.global_args(text):
        arg = None
    return From(stage.line, stage.raw, stage.image, arg, len(stages), chosen, why, stage)


@dataclass(frozen=True)
class Read:
    """An image a Dockerfile reads besides the one it ships on: a builder stage's FROM or a
    `COPY --from=<image>`."""

    line: int
    raw: str  # as written
    image: str  # expanded
    arg: str | None  # the one global ARG it is, if any


def other_reads(text: str, shipped: From | None, build_args: Mapping[str, str] | None = None) -> list[Read]:
    """Every image the Dockerfile reads other than through the shipped stage's FROM."""
    stages = dockerfile.stages(text, build_args)
    declared = dockerfile.global_args(text)
    aliases = {s.alias for s in stages if s.alias}
    out: list[Read] = []
    for stage in stages:
        if stage.from_stage is not None or (shipped is not None and stage.line == shipped.line):
            continue
        out.append(Read(stage.line, stage.raw, stage.image, _arg_of(stage.raw, declared)))
    values = {k: build_args[k] if build_args and k in build_args else (v or "") for k, (_, v) in declared.items()}
    for line, word, rest in dockerfile.instructions(text):
        if word not in ("COPY", "ADD"):
            continue
        for flag in rest.split():
            if not flag.startswith("--from="):
                if not flag.startswith("--"):
                    break
                continue
            raw = flag[len("--from="):]
            image = dockerfile.expand(raw, values)[0]
            if image.lower() in aliases or image.isdigit():
                continue  # an earlier stage
            out.append(Read(line, raw, image, _arg_of(raw, declared)))
    return out


def _arg_of(raw: str, declared: Mapping[str, object]) -> str | None:
    m = _ONE_VAR.match(raw)
    arg = (m.group(1) or m.group(2)) if m else None
    return arg if arg in declared else None


def version_label(text: str) -> tuple[str, int] | None:
    """(value, line) of `LABEL org.opencontainers.image.version=` (or `version=`), the last
    one written, with global ARG defaults expanded."""
    values = {k: v for k, (_, v) in dockerfile.global_args(text).items() if v is not None}
    found: tuple[str, int] | None = None
    for line, word, rest in dockerfile.instructions(text):
        if word != "LABEL":
            continue
        for key, value in dockerfile.assignments(rest):
            if key.strip("\"'") in ("org.opencontainers.image.version", "version") and value:
                found = (dockerfile.expand(value, values)[0], line)
    return found


def semantic(value: str) -> tuple[str, bool]:
    """(a semantic version for `value`, whether it is exactly what was written)."""
    if _SEMVER.match(value):
        return value, True
    m = _VERSION.match(value)
    if m:
        return f"{int(m.group(1))}.{int(m.group(2) or 0)}.{int(m.group(3) or 0)}", False
    return "0.1.0", False
