"""Platforms outside `images:` (issue 24): those an engine of the pool declares it builds
natively (`engines: [{host: ..., platforms: [linux/arm64]}]`), and `ci:`, the runners `bbc ci`
puts each platform's jobs on:

    ci:
      runners:
        linux/arm64: {github: ubuntu-24.04-arm, gitlab: [arm64]}

`github` is the job's `runs-on` (a label or a list of them), `gitlab` its runner `tags:`.
"""

from __future__ import annotations

from typing import Any

from bbc.config.checker import Checker
from bbc.model import platforms as platforms_mod
from bbc.model.specs import CI_KEYS, RUNNER_KEYS, CiSpec, RunnerSpec

EXAMPLE = "e.g. [linux/arm64] or [linux/amd64, linux/arm/v7]"


def platform_list(r: Checker, body: dict[str, Any], keys: tuple[str, ...], key: str) -> tuple[str, ...]:
    """A non-empty list of platforms (`os/arch[/variant]`), each once."""
    listed = r.str_list(body, keys, key)
    if listed is None:
        if body.get(key) is None:  # else str_list said what is wrong with it
            r.problem(keys + (key,), f"must list platforms, {EXAMPLE}")
        return ()
    if not listed:
        r.problem(keys + (key,), f"must list at least one platform, {EXAMPLE}")
    for i, item in enumerate(listed):
        if not platforms_mod.valid(item):
            r.problem(keys + (key, str(i)), f"'{item}' is not a platform: os/arch or os/arch/variant, {EXAMPLE}")
        elif item in listed[:i]:
            r.problem(keys + (key, str(i)), f"{item} is listed twice")
    return tuple(dict.fromkeys(p for p in listed if platforms_mod.valid(p)))


def ci(r: Checker, node: Any) -> CiSpec:
    """`ci: {runners: {PLATFORM: {github: LABEL or [LABELS], gitlab: [TAGS]}}}`."""
    body = r.mapping(node, ("ci",), CI_KEYS) or {}
    found = body.get("runners")
    if found is None:
        return CiSpec()
    if not isinstance(found, dict):
        r.problem(("ci", "runners"), "must be a mapping of platforms to runners, e.g. "
                                     "{linux/arm64: {github: ubuntu-24.04-arm, gitlab: [arm64]}}")
        return CiSpec()
    out: dict[str, RunnerSpec] = {}
    for platform, entry in found.items():
        keys = ("ci", "runners", str(platform))
        if not platforms_mod.valid(str(platform)):
            r.problem(keys, f"'{platform}' is not a platform: os/arch or os/arch/variant, e.g. linux/arm64")
            continue
        runner = r.mapping(entry, keys, RUNNER_KEYS)
        if runner is None:
            continue
        labels = {key: r.str_list(runner, keys, key) or () for key in RUNNER_KEYS}
        for key, values in labels.items():
            if key in runner and (not values or any(not v.strip() for v in values)):
                r.problem(keys + (key,), "must name a runner label (or a list of them), not an empty value")
        out[str(platform)] = RunnerSpec(github=labels["github"], gitlab=labels["gitlab"])
    return CiSpec(out)
