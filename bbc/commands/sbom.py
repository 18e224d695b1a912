"""`bbc sbom IMAGE`: the CycloneDX SBOM of an image's current build, every package naming the
image of the hierarchy (and the layer) that introduced it. Read from the image's layers through
the engine, never by running it."""

from __future__ import annotations

import sys
from pathlib import Path

from bbc.inside import ownership, sbom as sbom_mod
from bbc.model import platforms
from bbc.adapters.engine import Engine
from bbc.model.hierarchy import Hierarchy


def sbom(hierarchy: Hierarchy, engine: Engine, image: str, *, fmt: str = "cyclonedx", output: Path | None = None) -> int:
    units = platforms.expand(hierarchy)  # one platform's build may be asked for: static@arm64
    if image not in units.config.images:
        hierarchy.check_names([image])
    else:
        hierarchy = units
    inside = ownership.inside(engine, hierarchy, image, hierarchy.config.root)
    text = sbom_mod.render(inside, hierarchy[image].version) if fmt == "cyclonedx" else sbom_mod.table(inside)
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {output} ({len(inside.packages)} packages)", file=sys.stderr)
    else:
        print(text)
    return 0
