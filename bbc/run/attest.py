"""What a run tells a signed release about each manifest (bbc/release/sign.py's `Signing`):
the provenance facts from bbc.yaml, the plan's build steps and the build records, and the
SBOM of each unit's build on the engine the run used."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bbc.adapters.engine import Engine
from bbc.model import platforms
from bbc.plan.steps import Build
from bbc.release import facts, sboms
from bbc.release.sign import Released, Signing
from bbc.release.signing.provenance import ProvenanceInput
from bbc.release.signing.signer import Signer

if TYPE_CHECKING:
    from bbc.run.handlers.base import Context


def signing_for(ctx: Context, signer: Signer) -> Signing:
    """The release's Signing: facts gathered once (git, versions, bbc.yaml as written)."""
    once: list[tuple[facts.Run, Mapping[str, Any]]] = []
    lock = threading.Lock()
    steps = {s.image: s for s in ctx.plan.steps if isinstance(s, Build)}
    hierarchy = ctx.hierarchy

    def shared() -> tuple[facts.Run, Mapping[str, Any]]:
        with lock:
            if not once:
                once.append((facts.of_run(ctx.root, ctx.here), facts.raw_config(hierarchy.config.path)))
            return once[0]

    def provenance(name: str, released: Released) -> ProvenanceInput:
        run, raw = shared()
        unit = name if name in hierarchy.config.images else (hierarchy.units or {}).get(name, (name,))[0]
        built = ctx.results.get(f"build:{unit}")
        info = engine(unit).inspect(built.image_id) if built is not None and built.image_id else None
        return facts.provenance(hierarchy, name, run, raw, steps.get(name), released,
                                info.created if info is not None else "")

    def engine(unit: str) -> Engine:
        """The engine holding the unit's build (in a pool, where it was built)."""
        slot = ctx.pool.where.get(unit)
        return slot.engine if slot is not None else ctx.here

    def sbom(name: str) -> bytes | None:
        return sboms.document(hierarchy, engine(name), name)

    return Signing(signer, provenance, sbom, lambda image: hierarchy.config.ref(platforms.image_of(image)))
