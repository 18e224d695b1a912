"""The updates `bbc refresh` takes, one Change each: external bases whose tag names another
digest now, pinned Python packages with a newer release within a level, and OS packages a
`prepare.refresh` step picks up when it runs again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bbc.adapters import state
from bbc.adapters.engine import Engine
from bbc.errors import BbcError, RegistryError
from bbc.model import dockerfile
from bbc.model.hierarchy import Hierarchy
from bbc.plan import bases
from bbc.upkeep import packages, pins


@dataclass(frozen=True)
class Change:
    image: str
    where: str  # file:line
    what: str  # "base localhost:5000/upstream/os:1" | "package numpy"
    old: str
    new: str
    edit: Callable[[str], str] | None = None  # rewrites the file's text; None: nothing to write (unpinned base)
    path: Path | None = None
    start: int = -1  # an edit by offset (a package pin): applied before the line-based ones, last first


def base_changes(hierarchy: Hierarchy, names: tuple[str, ...]) -> list[Change]:
    """Pinned bases whose tag names another digest now (the pin is rewritten), unpinned ones
    that moved since the last build (nothing to write: the fingerprint sees it)."""
    root = hierarchy.config.root
    out: list[Change] = []
    for name in hierarchy.order:
        if names and name not in names:
            continue
        spec = hierarchy[name]
        recorded = (state.read_json(state.manifest_path(root, name)) or {}).get("bases") or {}
        for found in bases.of(spec, root):
            tag_ref = found.ref.partition("@")[0]
            now = bases.current_digest(tag_ref, hierarchy.config.mirrors)
            if isinstance(now, RegistryError):
                raise BbcError(f"{found.where}: base {tag_ref}: {now.message}; nothing was changed")
            old = found.ref.partition("@")[2] if found.pinned else recorded.get(found.ref)
            if not old or old == now:
                continue
            edit = (lambda text, b=found.base, d=now: dockerfile.pin_text(text, b, d)) if found.pinned else None
            out.append(Change(name, found.where, f"base {tag_ref}", old, now, edit, spec.dockerfile_path))
    return out


def package_changes(hierarchy: Hierarchy, names: tuple[str, ...], level: str,
                    index_url: str | None) -> list[Change]:
    """Pinned packages with a newer final release within `level`: each pin rewritten."""
    found = packages.pinned_in(hierarchy, names)
    answers = packages.ask_all([package for _, package, _ in found], index_url)
    out: list[Change] = []
    for image, package, pin in found:
        answer = answers[pins.normalize(package)]
        if isinstance(answer, BbcError):
            raise BbcError(f"{answer.message}; nothing was changed")
        newest = packages.newest_within(pin.old, answer, level)
        if newest is None:
            continue
        where = f"{pin.path.relative_to(hierarchy.config.root).as_posix()}:{pin.line}"
        edit = (lambda text, p=pin, v=newest: text[:p.start] + v + text[p.end:])
        out.append(Change(image, where, f"package {package}", pin.old, newest, edit, pin.path, pin.start))
    return out


def os_changes(hierarchy: Hierarchy, names: tuple[str, ...], engine: Engine, saved: dict[Path, bytes],
               say: Callable[[str], None]) -> list[Change]:
    """Images whose prepare step takes the OS archive (`prepare.refresh`) and whose built image
    has package updates: the step runs again; a changed package set is a change per package,
    the same set puts the old outputs back (nothing to bump). Outputs replaced go to `saved`."""
    from bbc.model import refs
    from bbc.upkeep import ospackages

    out: list[Change] = []
    for name in hierarchy.order:
        spec = hierarchy[name]
        if (names and name not in names) or spec.prepare is None or not spec.prepare.refresh:
            continue
        ref = refs.ref(hierarchy.config.ref(name), spec.version)
        if engine.inspect(ref) is None:
            say(f"{name}: {ref} is not built: its OS packages are not asked")
            continue
        kind = ospackages.manager(engine, ref)
        found = ospackages.updates(engine, ref, kind, spec.network) if kind else []
        if not found:
            say(f"{name}: no OS package updates")
            continue
        security = sum(u.security for u in found)
        say(f"{name}: {len(found)} OS package updates ({security} security); running its prepare step again")
        out += _prepare_again(hierarchy, name, saved, say)
    return out


def _prepare_again(hierarchy: Hierarchy, name: str, saved: dict[Path, bytes],
                   say: Callable[[str], None]) -> list[Change]:
    """Run the image's prepare step again: a Change per package it moved, or its old outputs
    back when the package set is the same."""
    from bbc.plan import prepare
    from bbc.upkeep import ospackages

    spec = hierarchy[name]
    if spec.prepare is None:
        return []
    outputs = spec.prepare.outputs
    before_files = {f: f.read_bytes() for f in (spec.path / o for o in outputs) if f.exists()}
    before = ospackages.package_set(spec.path, outputs)
    try:
        prepare.run(spec, hierarchy.config.root, lambda line: say(f"[{name}] {line}"))
    except BbcError:
        restore(before_files)
        raise
    after = ospackages.package_set(spec.path, outputs)
    if after is None or after == before:
        restore(before_files)
        say(f"{name}: the prepare step gave the same package set: nothing to bump")
        return []
    saved.update({f: d for f, d in before_files.items() if f not in saved})
    where = f"{spec.rel_path} (prepare)"
    old = before or {}
    return [Change(name, where, f"os package {pkg}", old.get(pkg, "-"), after.get(pkg, "-"))
            for pkg in sorted(set(old) | set(after)) if old.get(pkg) != after.get(pkg)]


def restore(files: dict[Path, bytes]) -> None:
    """Put files back as they were (a refresh that failed, a dry run)."""
    for path, data in files.items():
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
