"""The downstream projects of bbc.yaml (`projects:`): each pin of a blessed image in the
project's file, the version it names, and what that build stands on (its ancestry: from the
engine's labels, else, online, the registry's), oldest first.

A project in a local folder is read as it is; one behind a git URL from the clone `bbc rollout`
keeps in .bbc/projects/ (the report fetches nothing)."""

from __future__ import annotations

import re
from collections.abc import Callable

import semver

from bbc.adapters.engine import Engine
from bbc.adapters.registry.client import Registry, split_image_name
from bbc.config import ProjectSpec
from bbc.errors import BbcError
from bbc.inside import lineage
from bbc.model import labels, refs
from bbc.model.hierarchy import Hierarchy
from bbc.page.model import Level, ProjectPin
from bbc.upkeep import pins

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^[\w.-]+@[\w.-]+:")
BEHIND = ("major", "minor", "patch")  # worst first
ORDER = {**{b: i for i, b in enumerate(BEHIND)}, "current": 3, "ahead": 4, "unknown": 5}


def pins_of(hierarchy: Hierarchy, engine: Engine, client: Callable[[str], Registry] | None) -> tuple[ProjectPin, ...]:
    """Every pin of every project, the most behind first; `client` None: no registry asked."""
    out: list[ProjectPin] = []
    for project in hierarchy.config.projects.values():
        out += _project(hierarchy, project, engine, client)
    return tuple(sorted(out, key=lambda p: (ORDER[p.behind], _version_key(p.version), p.project, p.image)))


def _project(hierarchy: Hierarchy, project: ProjectSpec, engine: Engine,
             client: Callable[[str], Registry] | None) -> list[ProjectPin]:
    config = hierarchy.config
    folder = (config.root / ".bbc" / "projects" / project.name) if _URL.match(project.repo) \
        else (config.root / project.repo)
    try:
        text = (folder / project.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = "not cloned yet (`bbc rollout` clones it)" if _URL.match(project.repo) else f"cannot read: {exc}"
        return [ProjectPin(project.name, project.repo, project.file, image, "?", None, hierarchy[image].version,
                           "unknown", (), f"{project.file}: {why}") for image in project.images]
    out = []
    for image in project.images:
        found = pins.find_image_pins(text, config.ref(image))
        if not found:
            out.append(ProjectPin(project.name, project.repo, project.file, image, "?", None,
                                  hierarchy[image].version, "unknown", (),
                                  f"{project.file} has no pin of {config.ref(image)}:TAG"))
            continue
        pin = found[0]
        chain, detail = _ancestry(config.ref(image), pin.tag, pin.digest, engine, client)
        levels = chain or (Level(image, pin.tag.replace("_", "+")),)  # unknown ancestry: the pin alone
        out.append(ProjectPin(project.name, project.repo, f"{project.file}:{pin.line}", image, pin.tag, pin.digest,
                              hierarchy[image].version, _behind(hierarchy, levels), chain, detail))
    return out


def _ancestry(repository: str, tag: str, digest: str | None, engine: Engine,
              client: Callable[[str], Registry] | None) -> tuple[tuple[Level, ...], str]:
    """The pinned build's chain, root first, and where it was read."""
    info = engine.inspect(f"{repository}@{digest}" if digest else f"{repository}:{tag}")
    if info is not None and labels.IMAGE in info.labels:
        chain = lineage.chain(info, engine.inspect)
        return tuple(Level(lv.image, lv.version) for lv in reversed(chain)), "from the engine's labels"
    if client is None:
        return (), "not on this engine; registry not asked (--offline)"
    try:
        return _from_registry(repository, digest or tag, client), "from the registry's labels"
    except BbcError as exc:
        return (), exc.message


def _from_registry(repository: str, reference: str, client: Callable[[str], Registry]) -> tuple[Level, ...]:
    levels: list[Level] = []
    for _ in range(32):  # deeper than any hierarchy; stops a label loop
        host, repo = split_image_name(repository)
        found = client(host).labels_if_present(repo, reference)
        if not found or labels.IMAGE not in found:
            break
        levels.append(Level(found[labels.IMAGE], found.get(labels.VERSION, "?")))
        base = found.get(labels.BASE_NAME, "")
        if not found.get(labels.PARENT_ID) or ":" not in base.rpartition("/")[2]:
            break
        repository, _, reference = base.rpartition(":")
    if not levels:
        raise BbcError(f"{repository}:{reference} is not in the registry")
    return tuple(reversed(levels))


def _behind(hierarchy: Hierarchy, levels: tuple[Level, ...]) -> str:
    """How far the furthest-behind level is from bbc.yaml's version of its image."""
    worst = "current"
    for level in levels:
        if level.image not in hierarchy.config.images:
            continue
        lag = _lag(level.version, hierarchy[level.image].version)
        if ORDER[lag] < ORDER[worst] or (lag == "unknown" and worst == "current"):
            worst = lag
    return worst


def _lag(pinned: str, current: str) -> str:
    try:
        old, new = semver.Version.parse(pinned.replace("_", "+")), semver.Version.parse(current)
    except ValueError:
        return "unknown"
    if old > new:
        return "ahead"
    for part, name in ((old.major != new.major, "major"), (old.minor != new.minor, "minor"),
                       (old.patch != new.patch, "patch")):
        if part:
            return name
    return "current"


def _version_key(tag: str) -> tuple[int, ...]:
    parsed = refs.version_of_tag(tag) if re.fullmatch(r"[\w.+-]+", tag) else None
    return (parsed.major, parsed.minor, parsed.patch) if parsed is not None else (1 << 30,)
