"""What bbc remembers between runs in `.bbc/` next to bbc.yaml: per-image build manifests
(to explain *what* changed) and prepare-step input hashes. Losing it loses only explanations;
fingerprints live on the images themselves."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def bbc_dir(root: Path) -> Path:
    return root / ".bbc"


def ensure(folder: Path) -> Path:
    """Create `folder` (somewhere under .bbc/); .bbc/ ignores itself in git, as .pytest_cache
    does, so bbc's logs, records and locks never show up as untracked files."""
    folder.mkdir(parents=True, exist_ok=True)
    for parent in (folder, *folder.parents):
        if parent.name == ".bbc":
            ignore = parent / ".gitignore"
            if not ignore.exists():
                try:
                    ignore.write_text("# written by bbc: its state, logs and locks are not sources\n*\n")
                except OSError:
                    pass
            break
    return folder


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write through a temp file and os.replace, so a crash never leaves half a file."""
    ensure(path.parent)
    import tempfile  # only when writing: its import costs a no-op run ~4 ms

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def manifest_path(root: Path, image: str) -> Path:
    return bbc_dir(root) / "state" / f"{image}.json"


def log_path(root: Path, image: str, suffix: str = "") -> Path:
    return bbc_dir(root) / "logs" / f"{image}{suffix}.log"
