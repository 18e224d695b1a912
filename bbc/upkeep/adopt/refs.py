"""References as the registry reads them (repository and tag, `ros:x` = `docker.io/library/ros:x`,
no tag = `latest`), and the index of what the tree's build files say each image produces: the
one place a FROM is resolved against a full repository:tag, never a last path component."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from bbc.model import dockerfile
from bbc.upkeep.adopt import sources
from bbc.upkeep.adopt.records import UNKNOWN, Alias, Build, Source

_HUB = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")


@dataclass(frozen=True)
class Ref:
    repository: str  # normalised: no Docker Hub host, no `library/`
    tag: str

    @property
    def wild(self) -> bool:
        return UNKNOWN in self.repository or UNKNOWN in self.tag

    @property
    def namespace(self) -> str:
        return self.repository.rpartition("/")[0]

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}".replace(UNKNOWN, "*")


def parse(ref: str) -> Ref | None:
    """`ref` normalised; None for what is no reference (empty, a variable left, a digest pin:
    a pinned reference names published content, never the tree's own build)."""
    ref = re.sub(UNKNOWN + "+", UNKNOWN, ref.strip())
    if not ref or "@" in ref:
        return None
    if UNKNOWN in ref:
        slash, colon = ref.rfind("/"), ref.rfind(":")
        repo, tag = (ref[:colon], ref[colon + 1:]) if colon > slash else (ref, "latest")
        last = repo.rpartition("/")[2]
        if not last or UNKNOWN in last or any(c.isspace() or c in "$<>" for c in repo + tag):
            return None  # a repository name only known when the build runs could be any image
    else:
        try:
            parsed = dockerfile.parse_reference(ref)
        except ValueError:
            return None
        repo, tag = parsed.name, parsed.tag or "latest"
    for hub in _HUB:
        if repo.startswith(hub):
            repo = repo[len(hub):]
            break
    if repo.startswith("library/") and repo.count("/") == 1:
        repo = repo[len("library/"):]
    return Ref(repo, tag)


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in text.split(UNKNOWN)), re.DOTALL)


def _fits(a: str, b: str) -> bool:
    """Equal, or equal once each unknown part is taken to be what the other side has there."""
    if a == b:
        return True
    return bool((UNKNOWN in a and _pattern(a).fullmatch(b)) or (UNKNOWN in b and _pattern(b).fullmatch(a)))


@dataclass(frozen=True)
class Producer:
    """An image a build file says produces a reference."""

    image: str
    source: Source
    where: str
    sure: bool
    doubt: str = ""


@dataclass(frozen=True)
class Index:
    """repository -> tag -> the images that produce it."""

    tags: Mapping[str, Mapping[str, tuple[Producer, ...]]] = field(default_factory=dict)

    def lookup(self, ref: Ref) -> tuple[Producer, ...]:
        """The producers of `ref` (exactly, else through unknown parts), one per image."""
        if UNKNOWN in ref.repository:
            repos = [r for r in self.tags if _fits(ref.repository, r)]
        else:
            repos = [ref.repository] if ref.repository in self.tags else []
            repos += [r for r in self.tags if UNKNOWN in r and _fits(r, ref.repository)]
        found = [p for r in repos for p in self.tags[r].get(ref.tag, ()) if r == ref.repository]
        if not found:  # through a part only known when a build runs: the build files' word, not for sure
            found = [replace(p, sure=False, doubt=p.doubt or f"a tag only known when the build runs ({r}:{t})"
                             .replace(UNKNOWN, "*"))
                     for r in repos for t, ps in self.tags[r].items() if _fits(r, ref.repository) and _fits(t, ref.tag)
                     for p in ps]
        out: dict[str, Producer] = {}
        for p in sorted(found, key=lambda p: (not p.sure, not p.source.build_file)):
            out.setdefault(p.image, p)
        return tuple(out.values())

    def owns(self, ref: Ref) -> bool:
        """Whether the build files produce some tag of `ref`'s repository."""
        return any(_fits(ref.repository, r) for r in self.tags)

    def produced(self, image: str) -> list[str]:
        return sorted(f"{r}:{t}".replace(UNKNOWN, "*") for r, ts in self.tags.items() for t, ps in ts.items()
                      if any(p.image == image for p in ps))


def index(builds: Iterable[Build], aliases: Iterable[Alias], images: Mapping[str, str]) -> Index:
    """What each image produces, by the builds of its Dockerfile (`images`: file -> image name)
    and the `docker tag` aliases of those references."""
    tags: dict[str, dict[str, list[Producer]]] = {}

    def add(ref: Ref, producer: Producer) -> None:
        found = tags.setdefault(ref.repository, {}).setdefault(ref.tag, [])
        if all(p.image != producer.image or (p.sure, p.source) != (producer.sure, producer.source) for p in found):
            found.append(producer)

    builds = tuple(builds)
    first = {file: found[0] for file, found in sources.by_file(builds).items()}
    for build in builds:
        image = images.get(build.file)
        if image is None:
            continue
        sure, doubt = build.sure, build.doubt
        if sources.way(build) != sources.way(first[build.file]):
            sure, doubt = False, f"built so with other args or target than bbc.yaml's ({first[build.file].where})"
        for tag in build.tags:
            ref = parse(tag)
            if ref is not None:
                add(ref, Producer(image, build.source, build.where, sure, doubt))
    frozen = Index({r: {t: tuple(ps) for t, ps in ts.items()} for r, ts in tags.items()})
    for alias in aliases:  # after every build: an alias may come before the build it names
        src, ref = parse(alias.source), parse(alias.ref)
        if src is not None and ref is not None:
            for p in frozen.lookup(src):
                add(ref, Producer(p.image, p.source, alias.where, p.sure, p.doubt))
    return Index({r: {t: tuple(ps) for t, ps in ts.items()} for r, ts in tags.items()})
