"""Optional `prepare` steps: commands that write build inputs (e.g. a debootstrap rootfs)
into an image's context. Run only when their inputs changed or an output is missing; what
they produce enters the fingerprint like any other context file."""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Callable
from pathlib import Path

from bbc.model import platforms
from bbc.adapters import state
from bbc.config import ImageSpec
from bbc.errors import BbcError


def inputs_digest(spec: ImageSpec) -> str:
    prep = spec.prepare
    if prep is None:
        return ""
    h = hashlib.sha256(repr(prep.command).encode())
    files: set[str] = set()
    for pattern in prep.inputs:
        files.update(glob.glob(pattern, root_dir=spec.path, recursive=True))
    for rel in sorted(files):
        full = spec.path / rel
        if full.is_file():
            h.update(rel.encode() + b"\0" + hashlib.sha256(full.read_bytes()).digest())
    return h.hexdigest()


def pending(spec: ImageSpec, root: Path) -> str | None:
    """Why the prepare step must run, or None when its outputs are current."""
    if spec.prepare is None:
        return None
    missing = [o for o in spec.prepare.outputs if not (spec.path / o).exists()]
    if missing:
        return f"prepare output missing: {', '.join(missing)}"
    recorded = state.read_json(_record(root, spec.name)) or {}
    if recorded.get("inputs") != inputs_digest(spec):
        return "prepare inputs changed"
    return None


def run(spec: ImageSpec, root: Path, on_line: Callable[[str], None]) -> None:
    prep = spec.prepare
    if prep is None:
        return
    shell = isinstance(prep.command, str)
    log = state.log_path(root, spec.name, ".prepare")
    state.ensure(log.parent)
    tail: list[str] = []
    with open(log, "w", encoding="utf-8") as out:
        import subprocess  # only when a prepare step runs

        proc = subprocess.Popen(
            prep.command if shell else list(prep.command), shell=shell, cwd=spec.path,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
        )
        if proc.stdout is None:  # for mypy: PIPE was asked for
            raise BbcError(f"{spec.name}: prepare: no output pipe")
        for line in proc.stdout:
            out.write(line)
            tail.append(line.rstrip("\n"))
            del tail[:-20]
            on_line(line.rstrip("\n"))
        code = proc.wait()
    if code != 0:
        raise BbcError(
            f"{spec.name}: prepare command failed with exit code {code} (log: {log})"
            + ("\n  " + "\n  ".join(tail[-10:]) if tail else ""),
        )
    missing = [o for o in prep.outputs if not (spec.path / o).exists()]
    if missing:
        raise BbcError(f"{spec.name}: prepare command succeeded but did not write {', '.join(missing)}",
                       tip="list in prepare.outputs exactly the files the command writes")
    state.write_json(_record(root, spec.name), {"inputs": inputs_digest(spec)})


def _record(root: Path, image: str) -> Path:
    # one record per image: its command writes the inputs of all its platforms' builds
    return state.bbc_dir(root) / "prepare" / f"{platforms.image_of(image)}.json"
