"""What each layer holds, kept on disk by diff ID under `.bbc/cache/layers/`: a layer is read
once, whichever image holds it, so a child's SBOM reads only the child's own layers.

A diff ID is the sha256 of the layer's tar, so an entry never goes stale; entries of another
format version are read again. Deleting the folder only costs reading the layers again.
"""

from __future__ import annotations

from pathlib import Path

from bbc.adapters import state
from bbc.inside.layerscan import Scan

VERSION = 2  # 2: Package.files, Scan.records (a Python package's RECORD digest)


def path(root: Path, diff_id: str) -> Path:
    return state.bbc_dir(root) / "cache" / "layers" / f"{diff_id.replace(':', '-')}.json"


def get(root: Path, diff_id: str) -> Scan | None:
    data = state.read_json(path(root, diff_id))
    if data is None or data.get("version") != VERSION:
        return None
    try:
        return Scan.from_json(data["scan"])
    except (KeyError, TypeError, ValueError):
        return None


def put(root: Path, diff_id: str, scan: Scan) -> None:
    try:
        state.write_json(path(root, diff_id), {"version": VERSION, "diff_id": diff_id, "scan": scan.to_json()})
    except OSError:
        pass  # a read-only checkout reads the layer again next time
