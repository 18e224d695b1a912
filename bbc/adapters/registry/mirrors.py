"""Where an image of a registry is looked for: its mirrors first, the registry itself last.

Mirrors come from bbc.yaml (`mirrors: {docker.io: [mirror.acme.internal, 127.0.0.1:5001/hub]}`,
per registry, in order) and, for Docker Hub, from the engine's own `registry-mirrors` (its
/info), after bbc.yaml's. The registry itself is asked last, or never with `mirrors_only`
(an air-gapped site). A mirror serves the registry's repositories under the same path, after
its own path prefix if it has one (`127.0.0.1:5001/hub` serves `library/ubuntu` as
`hub/library/ubuntu`).

A build whose base was found on a bbc.yaml mirror is given that image by the engine pulling it
from the mirror by digest (and tagging it under its own name): the engine itself may know no
mirror, and must not ask the registry behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bbc.errors import BbcError, RegistryError

if TYPE_CHECKING:
    from bbc.adapters.engine import Engine
    from bbc.model.specs import MirrorSpec

DOCKER_HUB_API = "registry-1.docker.io"


@dataclass(frozen=True)
class Source:
    """One place to ask for an image: a mirror, or its own registry."""

    host: str  # the registry API host to ask
    repository: str  # the repository there
    mirror: bool

    @property
    def name(self) -> str:
        """The image's name there, for a pull (`127.0.0.1:5001/library/ubuntu`)."""
        return f"{self.host}/{self.repository}"

    @property
    def label(self) -> str:
        return f"mirror {self.host}" if self.mirror else f"the registry {self.host}"


def engine_mirrors() -> tuple[str, ...]:
    """The engine's `registry-mirrors` (its /info), as `host[:port][/path]`: Docker Hub's."""
    from bbc.adapters.registry.engine_view import engine_registry_config

    out = []
    for url in engine_registry_config().get("Mirrors") or ():
        text = str(url).split("://", 1)[-1].strip("/")
        if text:
            out.append(text)
    return tuple(out)


def sources(name: str, spec: MirrorSpec | None, engine: tuple[str, ...] = ()) -> list[Source]:
    """Where `name` (an image name without tag, as written in a FROM) is asked, in order."""
    from bbc.adapters.registry.client import split_image_name

    host, repository = split_image_name(name)
    listed = list(spec.hosts.get(host, ()) if spec is not None else ())
    if host == "docker.io":
        listed += [m for m in engine if m not in listed]
    out = []
    for entry in listed:
        mirror_host, _, prefix = entry.partition("/")
        out.append(Source(mirror_host, f"{prefix}/{repository}" if prefix else repository, True))
    if not (out and spec is not None and spec.only):
        out.append(Source(DOCKER_HUB_API if host == "docker.io" else host, repository, False))
    return out


def resolve(name: str, tag: str, spec: MirrorSpec | None, *, timeout: float = 5.0,
            engine: tuple[str, ...] | None = None) -> tuple[str | None, Source | None, list[str]]:
    """The digest `name:tag` names at the first source that has it (by HEAD), that source, and
    what every source asked before it said (where bbc looked, for the message when none has it)."""
    from bbc.adapters.registry.client import Registry

    tried: list[str] = []
    for source in sources(name, spec, engine_mirrors() if engine is None else engine):
        try:
            digest = Registry(source.host, timeout=timeout).digest(source.repository, tag)
        except RegistryError as exc:
            tried.append(exc.message if not source.mirror else f"{source.label}: {exc.message}")
            continue
        if digest is not None:
            return digest, source, tried
        tried.append(f"{source.label} has no tag {tag}")
    return None, None, tried


def place(engine: Engine, name: str, tag: str | None, digest: str, spec: MirrorSpec | None,
          on_message: Callable[[str], None]) -> str | None:
    """Make the engine hold `name@digest` from the first bbc.yaml mirror that has it (pulled by
    digest, tagged `name:tag`); the reference the build uses then (`mirror/repo@digest`, which
    the engine finds locally). None: no mirror is named for its registry, or none has it (the
    engine gets it itself, through its own mirrors or from the registry)."""
    if spec is None or not spec.hosts:
        return None
    for source in sources(name, spec):
        if not source.mirror:
            break
        held = engine.inspect(f"{source.name}@{digest}")
        if held is None:
            try:
                held = engine.pull(source.name, digest)
            except BbcError as exc:
                on_message(f"{name}@{digest[:19]}: not pulled from {source.label} ({exc.message})")
                continue
            on_message(f"pulled {name}@{digest[:19]} from {source.label}")
        if tag:
            engine.tag(held.id, name, tag)  # as a pull from the registry itself would leave it
        return f"{source.name}@{digest}"
    return None
