"""Platforms: an image built for several (`platforms: [linux/amd64, linux/arm64]`) is one build
per platform. Each is a unit of the plan named `image@arch` (`static@arm64`), with its own
fingerprint, tests and local tag (`X.Y.Z-arm64`), built on its parent's build for the same
platform; a release pushes each and writes one OCI index per version (bbc/release/promote.py).

`expand` turns a hierarchy into its units, so the planner and the executor, which work on
names, need to know nothing of platforms. A hierarchy where no image has several platforms
expands to itself: single-platform hierarchies plan, build and tag exactly as before.
"""

from __future__ import annotations

import os
import platform as _platform
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from bbc.model.hierarchy import Hierarchy

if TYPE_CHECKING:
    from bbc.model.specs import ImageSpec

SEP = "@"
_VALID = re.compile(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?\Z")
# what `uname -m` says -> the OCI architecture (and variant)
_MACHINE = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm/v7",
            "armv6l": "arm/v6", "i686": "386", "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x",
            "riscv64": "riscv64"}
# Debian's qemu-user-static registers these binfmt_misc entries
_QEMU = {"amd64": "qemu-x86_64", "arm64": "qemu-aarch64", "arm": "qemu-arm", "386": "qemu-i386",
         "ppc64le": "qemu-ppc64le", "s390x": "qemu-s390x", "riscv64": "qemu-riscv64"}
BINFMT = "/proc/sys/fs/binfmt_misc"


def valid(text: str) -> bool:
    """`os/arch` or `os/arch/variant`, lowercase, as Docker and OCI write them."""
    return bool(_VALID.match(text))


def native() -> str:
    """The platform of the machine bbc runs on: the builds every engine here makes without emulation."""
    return of_machine("linux", _platform.machine())


def of_machine(os_name: str, machine: str) -> str:
    """`linux/arm64` from an OS and what `uname -m` (or an engine's /info) calls the machine
    (`aarch64`, `x86_64`; Go's names pass through)."""
    machine = machine.lower()
    return f"{os_name.lower() or 'linux'}/{_MACHINE.get(machine, machine)}"


def slug(platform: str) -> str:
    """`linux/arm64` -> `arm64`, `linux/arm/v7` -> `arm-v7`: the suffix of a unit and its tag."""
    os_name, _, rest = platform.partition("/")
    text = rest.replace("/", "-")
    return text if os_name == "linux" else f"{os_name}-{text}"


def unit(image: str, platform: str) -> str:
    return f"{image}{SEP}{slug(platform)}"


def is_unit(name: str) -> bool:
    """Whether `name` is one platform's build of a multi-platform image (`static@arm64`)."""
    return SEP in name


def image_of(name: str) -> str:
    """The image a unit belongs to (`static@arm64` -> `static`); an image's own name as it is."""
    return name.partition(SEP)[0]


def oci(platform: str) -> dict[str, str]:
    """The `platform` object of an OCI index entry."""
    parts = platform.split("/")
    out = {"architecture": parts[1], "os": parts[0]}
    if len(parts) > 2:
        out["variant"] = parts[2]
    return out


def of_oci(entry: dict[str, str]) -> str:
    """`os/arch[/variant]` from an index entry's `platform` object: `oci` read back."""
    return "/".join(p for p in (entry.get("os"), entry.get("architecture"), entry.get("variant")) if p)


def matches(there: str, wanted: str) -> bool:
    """Whether an index's `there` serves `wanted`: the same platform, or any variant of it
    when `wanted` names none (linux/arm64 is served by linux/arm64/v8)."""
    return there == wanted or (wanted.count("/") == 1 and there.rsplit("/", 1)[0] == wanted)


def expand(hierarchy: Hierarchy) -> Hierarchy:
    """The hierarchy of units: each image with several platforms becomes one unit per platform,
    each child built on its parent's unit for the same platform, and using each used image's
    unit for it (for the engine's own platform where its Dockerfile reads the parent or the
    used image in a `--platform=$BUILDPLATFORM` stage)."""
    config = hierarchy.config
    if hierarchy.units is not None or not any(len(s.platforms) > 1 for s in config.images.values()):
        return hierarchy
    here = native()
    specs: dict[str, ImageSpec] = {}
    by_platform: dict[str, dict[str | None, str]] = {}  # image -> platform -> its unit

    def unit_of(image: str, platform: str | None, on_build: bool) -> str:
        theirs = by_platform[image]
        wanted = here if on_build or platform is None else platform  # None: the engine's own
        return theirs.get(wanted) or theirs.get(None) or next(iter(theirs.values()))

    for name in hierarchy.order:
        spec = hierarchy[name]
        wanted: tuple[str | None, ...] = spec.platforms if len(spec.platforms) > 1 else (spec.platform,)
        for platform in wanted:
            parent = unit_of(spec.parent, platform, spec.parent_on_build) if spec.parent is not None else None
            # each used image's build for the same platform (for the engine's own when read on the build platform)
            uses = tuple(replace(u, image=unit_of(u.image, platform, u.on_build)) for u in spec.uses)
            name_here = unit(name, platform) if len(wanted) > 1 and platform else name
            specs[name_here] = spec if (name_here, parent, uses) == (name, spec.parent, spec.uses) else \
                replace(spec, name=name_here, platform=platform, parent=parent, uses=uses)
            by_platform.setdefault(name, {})[platform] = name_here
    out = Hierarchy(replace(config, images=specs), tuple(specs))
    out.units = {image: tuple(found.values()) for image, found in by_platform.items()}
    return out


def emulation_problem(platform: str) -> str | None:
    """What this machine lacks to build and run `platform` images (None: nothing): its own
    platform needs nothing, another needs QEMU user emulation registered with binfmt_misc,
    with the F flag so containers find the interpreter without a copy of it inside."""
    arch = platform.split("/")[1]
    if platform.split("/")[:2] == native().split("/")[:2]:
        return None
    qemu = _QEMU.get(arch)
    if qemu is None:
        return f"{platform}: bbc knows no QEMU emulator for {arch}"
    if not os.path.exists(os.path.join(BINFMT, "register")):
        return (f"{platform} needs QEMU user emulation, and binfmt_misc is not mounted: "
                f"`mount -t binfmt_misc binfmt_misc {BINFMT}` (scripts/engine up does it)")
    entry = os.path.join(BINFMT, qemu)
    try:
        with open(entry, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return (f"{platform} needs QEMU user emulation: `apt-get install qemu-user-static binfmt-support` "
                f"and `update-binfmts --enable {qemu}` (scripts/engine up does it)")
    if not text.startswith("enabled"):
        return f"{platform}: QEMU's {qemu} is registered but disabled: `update-binfmts --enable {qemu}`"
    flags = next((line.split()[1] for line in text.splitlines() if line.startswith("flags:") and " " in line), "")
    if "F" not in flags:
        return (f"{platform}: {qemu} is registered without the F flag, so containers cannot find it; "
                "install Debian's qemu-user-static, which registers it with F")
    return None
