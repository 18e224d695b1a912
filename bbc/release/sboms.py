"""The SBOM a release attests and publishes for one built unit: the document the build wrote
(`.bbc/sbom/<unit>.cdx.json`) when it is about the build being released, else read again from
the engine (and written there, so the next reader finds it current)."""

from __future__ import annotations

from bbc.adapters import state
from bbc.adapters.engine import Engine
from bbc.inside import ownership, sbom
from bbc.model.hierarchy import Hierarchy


def document(units: Hierarchy, engine: Engine, name: str) -> bytes:
    """The CycloneDX JSON of unit `name`'s current build (its X.Y.Z tag on `engine`)."""
    root = units.config.root
    written = sbom.path(root, name)
    inside = ownership.inside(engine, units, name, root)
    data = state.read_json(written) or {}
    props = {p.get("name"): p.get("value")
             for p in (data.get("metadata") or {}).get("component", {}).get("properties", [])}
    if props.get("bbc:image-id") == inside.content.image_id:
        return written.read_bytes()
    return sbom.write(root, inside, units[name].version).read_bytes()
