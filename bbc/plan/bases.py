"""External bases: the images an image's build reads that bbc does not build (an upstream OS
image, a builder image; in a FROM of any stage, a `COPY --from` or a `RUN --mount=from`: every
read but the parent, the used images and earlier stages), each resolved to the digest its
build will use.

A pinned reference (`name:tag@sha256:...`) names its digest. An unpinned tag is asked of its
registry's mirrors and then the registry (bbc/adapters/registry/mirrors.py; credentials from the
Docker config, as for releases) or, when none can answer, of the local engine (the digest it
last pulled). The digest enters the image's
fingerprint, so a tag that moved upstream is a change like any edit; the build is sent a
Dockerfile pinned to exactly that digest, so what was fingerprinted is what was built.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bbc.model import dockerfile
from bbc.errors import BbcError

if TYPE_CHECKING:
    from pathlib import Path

    from bbc.config import ImageSpec
    from bbc.adapters.engine import Engine
    from bbc.model.specs import MirrorSpec
    from bbc.plan.fingerprint import FileHashes
    from bbc.errors import RegistryError
    from bbc.model.hierarchy import Hierarchy

# Every FROM's image word (and stage name), and every `--from=` / mount `from=` word: when all
# name the parent, a used image, an earlier stage or scratch (most images of a hierarchy), the
# Dockerfile is not parsed at all.
_FROM = re.compile(rb"^[ \t]*FROM[ \t]+(?:--\S+[ \t]+)*(\S+)(?:[ \t]+AS[ \t]+(\S+))?", re.IGNORECASE | re.MULTILINE)
_OTHER = re.compile(rb"(?:--|[,=])from=([^\s,]+)", re.IGNORECASE)


def _words(data: bytes) -> tuple[bytes, ...]:
    """The image words of `data` that could name an image (not a stage alias or index)."""
    froms = _FROM.findall(data)
    aliases = {alias.lower() for _, alias in froms if alias}
    words = [word for word, _ in froms] + _OTHER.findall(data)
    return tuple(w for w in words if w.lower() not in aliases and not w.isdigit())


@dataclass(frozen=True)
class Found:
    """One external base of one image: where it is written and what it names."""

    image: str  # the bbc image whose Dockerfile names it
    where: str  # `images/root/os/Dockerfile:3`
    base: dockerfile.Base
    final: bool  # the base of the stage the image is built from (its OCI base labels)

    @property
    def ref(self) -> str:
        return self.base.image

    @property
    def pinned(self) -> bool:
        return "@" in self.base.image


_SPEC = "spec"  # of(): the parent arg is the spec's own (a test layer passes its part's)


def of(spec: ImageSpec, root: Path, entry: str | None = None, memo: FileHashes | None = None,
       parent_arg: str | None = _SPEC) -> tuple[Found, ...]:
    """The external bases of `spec`'s Dockerfile, every stage and instruction, in order. With
    the Dockerfile's content `entry` (its fingerprint entry) and a `memo`, a Dockerfile whose
    reads name only the parent, used images, stages or scratch is not read again."""
    key = f"{entry}+reads" if entry else None  # issue 21: FROM words alone were kept under `entry`
    known = memo.froms.get(key) if memo is not None and key else None
    data: bytes | None = None
    if known is None:
        try:
            data = (spec.path / spec.dockerfile).read_bytes()
        except OSError:
            return ()  # validation reports a missing Dockerfile
        known = _words(data)
        if memo is not None and key:
            memo.remember_froms(key, known)
    words = known
    parent = (spec.parent_arg if spec.parent else None) if parent_arg == _SPEC else parent_arg
    parent_ref = spec.parent_ref if parent else None
    used = tuple(u.key for u in spec.uses)
    plain = {f"${{{k}}}".encode() for k in (parent, *used) if k} | {f"${k}".encode() for k in (parent, *used) if k}
    plain |= {k.encode() for k in (parent_ref, *used) if k}
    if all(word in plain or word.lower() == b"scratch" for word in words):
        return ()
    path = spec.path / spec.dockerfile
    if data is None:
        try:
            data = path.read_bytes()
        except OSError:
            return ()
    text = data.decode("utf-8", errors="replace")
    found = dockerfile.external_reads(text, parent_arg=parent, parent_ref=parent_ref, build_args=spec.build_args,
                                      used=used)
    stages = dockerfile.stages(text, spec.build_args)
    final = _final_stage(stages, spec.target)
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = str(path)
    return tuple(Found(spec.name, f"{rel}:{b.line}", b, b.stage == final and b.via == "FROM") for b in found)


def unpinned(hierarchy: Hierarchy) -> list[Found]:
    """Every external base written without a digest, image by image, parents first."""
    root = hierarchy.config.root
    return [f for name in hierarchy.order for f in of(hierarchy[name], root) if not f.pinned]


def _final_stage(stages: list[dockerfile.Stage], target: str | None) -> int:
    """The stage the image is: `target`'s, else the last; through `FROM <earlier stage>` to the
    stage whose FROM names an image."""
    index = len(stages) - 1
    if target:
        index = next((s.index for s in stages if s.alias == target.lower()), index)
    while index >= 0 and stages[index].from_stage is not None:
        index = stages[index].from_stage  # type: ignore[assignment]
    return index


class Resolver:
    """Digests of external bases, asked once per reference and run."""

    def __init__(self, engine: Engine | None = None, mirrors: MirrorSpec | None = None) -> None:
        self.engine = engine
        self.mirrors = mirrors  # bbc.yaml's `mirrors:` (the engine's own are asked too)
        self.answers: dict[str, str] = {}
        self.offline: list[str] = []  # references answered by the engine because the registry could not

    def digest(self, found: Found) -> str:
        ref = dockerfile.parse_reference(found.ref) if _valid(found.ref) else None
        if ref is None:
            raise BbcError(f"{found.where}: FROM {found.base.raw}: {found.ref!r} is not an image reference")
        if ref.digest:
            return ref.digest
        key = str(ref)
        if key not in self.answers:
            self.answers[key] = self._ask(found, ref)
        return self.answers[key]

    def _ask(self, found: Found, ref: dockerfile.Reference) -> str:
        from bbc.adapters.registry import mirrors
        from bbc.errors import RegistryError

        tag = ref.tag or "latest"
        why = ""
        try:
            digest, _, tried = mirrors.resolve(ref.name, tag, self.mirrors)
            if digest is not None:
                return digest
            why = "; ".join(tried)
        except RegistryError as exc:
            why = exc.message
        local = self._local(ref)
        if local is not None:
            self.offline.append(f"{found.ref} (registry: {why})")
            return local
        raise BbcError(f"{found.where}: base {found.ref}: {why}, and the engine holds no copy of it",
                       tip="start its registry, pull it, or pin it as name:tag@sha256:...")

    def _local(self, ref: dockerfile.Reference) -> str | None:
        if self.engine is None:
            return None
        info = self.engine.inspect(f"{ref.name}:{ref.tag or 'latest'}")
        if info is None:
            return None
        for entry in info.digests:
            name, _, digest = entry.partition("@")
            if name == ref.name or name.endswith("/" + ref.name):
                return digest
        return None


def _valid(ref: str) -> bool:
    try:
        dockerfile.parse_reference(ref)
    except ValueError:
        return False
    return True


def pinned_text(spec: ImageSpec, resolved: tuple[tuple[Found, str], ...],
                placed: dict[str, str] | None = None) -> tuple[str | None, list[str]]:
    """`spec`'s Dockerfile with every unpinned external base pinned to the digest it was
    fingerprinted with (None: nothing to pin), and the bases that could not be pinned (a
    reference put together from several variables). A base in `placed` (reference -> the
    mirror's `name@digest` the engine holds, see `placed()`) is written as that reference."""
    placed = placed or {}
    todo = [(f, d) for f, d in resolved if not f.pinned or f.ref in placed]
    if not todo:
        return None, []
    text = spec.dockerfile_path.read_text(encoding="utf-8")
    unpinned: list[str] = []
    for found, digest in todo:
        try:
            text = dockerfile.pin_text(text, found.base, digest, placed.get(found.ref))
        except ValueError:
            unpinned.append(f"{found.where} ({found.ref})")
    return text, unpinned


def current_digest(ref: str, mirrors: MirrorSpec | None = None) -> str | RegistryError:
    """The digest `ref`'s tag names in its registry (through its mirrors, as for a build) now
    (never the engine's copy: that is what `outdated` and `refresh` compare against), or where
    bbc looked and what each place said."""
    from bbc.adapters.registry import mirrors as mirrors_mod
    from bbc.errors import RegistryError

    parsed = dockerfile.parse_reference(ref)
    tag = parsed.tag or "latest"
    try:
        digest, _, tried = mirrors_mod.resolve(parsed.name, tag, mirrors)
    except RegistryError as exc:
        return exc
    if digest is None:
        return RegistryError("; ".join(tried))
    return digest


def placed(engine: Engine, mirrors: MirrorSpec | None, resolved: tuple[tuple[Found, str], ...],
           on_message: Callable[[str], None]) -> dict[str, str]:
    """For a build: each external base that a bbc.yaml mirror holds, given to the engine from
    there (pulled by digest, tagged under its own name); reference -> what the build names."""
    from bbc.adapters.registry import mirrors as mirrors_mod

    out: dict[str, str] = {}
    if mirrors is None or not mirrors.hosts:
        return out
    for found, digest in resolved:
        if found.ref in out or not _valid(found.ref):
            continue
        ref = dockerfile.parse_reference(found.ref)
        where = mirrors_mod.place(engine, ref.name, ref.tag, digest, mirrors, on_message)
        if where is not None:
            out[found.ref] = where
    return out


def pinned_only(found: Found) -> str:
    """Without a resolver (a plan made without an engine): pinned references only."""
    if found.pinned:
        return found.ref.rpartition("@")[2]
    raise BbcError(f"{found.where}: base {found.ref} is not pinned and no registry was asked for its digest")
