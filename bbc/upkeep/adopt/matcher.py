"""Naming image folders by repository paths, for trees whose build files say nothing about a
reference: `localhost:5000/acme/python:1`, `acme/python` and `python` all name the folder
`.../python` (or an image named python). Never for a reference pinned by digest (a published
image: docs and examples build on those). A link made here alone is at most as sure as the
repository path makes it (link.py decides)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bbc.model import dockerfile
from bbc.upkeep.adopt.tree import EXAMPLE_FOLDERS


@dataclass(frozen=True)
class Match:
    image: str | None  # the image it links to
    candidates: tuple[str, ...]  # when several fit equally
    under_registry: bool
    pinned: bool
    namespace: str  # the repository path before the last component ("" for `python`)


def _components(folder: str) -> list[str]:
    return [] if folder in ("", ".") else folder.split("/")


class Matcher:
    """Names image folders by repository paths (built once per run; read only after)."""

    def __init__(self, images: Mapping[str, str], registry: str | None = None) -> None:
        self.images = dict(images)  # name -> folder (posix, relative)
        self.registry = registry.rstrip("/") if registry else None
        self.by_last: dict[str, set[str]] = {}
        for name, folder in self.images.items():
            self.by_last.setdefault(name, set()).add(name)
            parts = _components(folder)
            if parts:
                self.by_last.setdefault(parts[-1].lower(), set()).add(name)

    def match(self, reference: str, *, exclude: str | None = None) -> Match | None:
        """None when `reference` is not an image reference at all (empty, a variable left)."""
        try:
            ref = dockerfile.parse_reference(reference)
        except ValueError:
            return None
        repo = ref.name
        under = bool(self.registry and (repo + "/").startswith(self.registry + "/"))
        parts = repo.split("/")
        namespace = "/".join(parts[:-1])
        found = self.by_last.get(parts[-1], set()) - {exclude}
        if len(found) > 1:
            found = self._closest(found, parts)
        image = next(iter(found)) if len(found) == 1 else None
        return Match(image, tuple(sorted(found)) if len(found) > 1 else (), under, ref.pinned, namespace)

    def _closest(self, found: set[str], parts: list[str]) -> set[str]:
        """The images whose folder shares the longest tail with the repository path; not the
        documentation and examples (they build on the tree, the tree not on them) when others fit."""
        def tail(name: str) -> int:
            folder = _components(self.images[name])
            n = 0
            while n < min(len(folder), len(parts)) and folder[-1 - n].lower() == parts[-1 - n]:
                n += 1
            return n + (1 if name == parts[-1] else 0)

        best = max(tail(n) for n in found)
        found = {n for n in found if tail(n) == best}
        ours = {n for n in found if not set(_components(self.images[n])) & EXAMPLE_FOLDERS}
        return ours or found

    def is_example(self, name: str) -> bool:
        return bool(set(_components(self.images.get(name, ""))) & EXAMPLE_FOLDERS)
