"""`bbc pin`: write every unpinned external base as `name:tag@sha256:...` (the tag kept for
readers), in the FROM line or the ARG default it comes from; nothing else in the file moves.
`--check` only lists them and exits 1 when there are any (for CI)."""

from __future__ import annotations

from pathlib import Path

from bbc.plan import bases
from bbc.model import dockerfile
from bbc.adapters.engine import Engine
from bbc.errors import BbcError
from bbc.model.hierarchy import Hierarchy
from bbc.config.yamledit import replace_file


def pin(hierarchy: Hierarchy, names: tuple[str, ...], engine: Engine | None, *, check: bool = False) -> int:
    hierarchy.check_names(names)
    loose = [f for f in bases.unpinned(hierarchy) if not names or f.image in names]
    if check:
        for found in loose:
            print(f"{found.where}: base {found.ref} is not pinned by digest")
        print("every external base is pinned" if not loose else f"{len(loose)} unpinned; `bbc pin` pins them")
        return 1 if loose else 0
    resolver = bases.Resolver(engine, hierarchy.config.mirrors)
    by_file: dict[Path, list[tuple[bases.Found, str]]] = {}
    for found in loose:  # every digest first: a registry that does not answer changes no file
        by_file.setdefault(hierarchy[found.image].dockerfile_path, []).append((found, resolver.digest(found)))
    texts: dict[Path, str] = {}
    for path, todo in by_file.items():  # every file's new text before any is written
        with path.open(encoding="utf-8", newline="") as f:
            text = f.read()
        for found, digest in todo:
            try:
                text = dockerfile.pin_text(text, found.base, digest)
            except ValueError as exc:
                raise BbcError(f"{found.where}: {exc}; nothing was changed",
                               tip="write the reference out (or in one ARG default) to let bbc pin it") from None
        texts[path] = text
    for path, text in texts.items():
        replace_file(path, text)
        for found, digest in by_file[path]:
            print(f"{found.where}: {found.ref} -> {found.ref}@{digest}")
    if not loose:
        print("every external base is pinned")
    for note in resolver.offline:
        print(f"note: {note}: pinned to the engine's copy")
    return 0
