"""The engines of a run (bbc.yaml `engines:`, --engine) and where each step goes.

A build goes to an engine that builds its platform natively when the pool has one
(placement.py), among those to its parent's engine when that has room, else to the least
loaded one; an image's tests, pushes and tags run where its build is. A child built on another
engine than its parent's (or a used image's, `uses:`) gets that build through the registry
(pushed under its candidate tag unless the registry holds it already, pulled by digest,
fingerprint checked). A build whose
engine stops answering goes, once, to another engine of the pool.

With one engine (the usual case) every step runs on it and none of this happens.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from bbc.adapters.engine import Engine
from bbc.errors import BbcError, EngineLost
from bbc.model import labels, refs
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Build, Step
from bbc.run import placement, trusted
from bbc.run.report import Events
from bbc.run.results import Result

if TYPE_CHECKING:
    from bbc.plan.remote import Remote  # its module imports the registry client: only when used

T = TypeVar("T")


@dataclass
class Slot:
    """One engine of the pool: how many builds it takes, how many it runs, whether it answers."""

    name: str
    engine: Engine
    jobs: int = 1
    running: int = 0
    alive: bool = True
    # the platforms it builds natively: declared in bbc.yaml, else (empty) `reported` by the
    # engine when first asked (bbc/run/placement.py)
    platforms: tuple[str, ...] = ()
    reported: tuple[str, ...] | None = None


class Pool:
    def __init__(self, slots: Sequence[Slot], hierarchy: Hierarchy, events: Events, remote: Remote | None) -> None:
        self.slots = list(slots)
        self.hierarchy = hierarchy
        self.events = events
        self.remote = remote
        self.where: dict[str, Slot] = {}  # image -> the engine holding its build
        self._moved: dict[tuple[str, str], str] = {}  # (engine, image) -> its build's id there
        self._lock = threading.Lock()
        self._local = threading.local()  # the engine this worker thread's step runs on

    @property
    def several(self) -> bool:
        return len(self.slots) > 1

    @property
    def gone(self) -> bool:
        """No engine left to start anything on (with one engine: it stopped answering)."""
        return not self.several or not any(s.alive for s in self.slots)

    @property
    def here(self) -> Engine:
        """The engine of the step this thread runs (the first of the pool outside steps)."""
        slot = getattr(self._local, "slot", None)
        return slot.engine if slot is not None else self.slots[0].engine

    def leave(self) -> None:
        self._local.slot = None

    def place(self, step: Step) -> Slot:
        """Where `step` runs, from now on this thread's engine: a build is placed (the
        parent's engine when it has room, else the least loaded); everything else runs where
        its image's build is."""
        self._local.slot = chosen = self._choose(step)
        return chosen

    def _choose(self, step: Step) -> Slot:
        if not self.several:
            return self.slots[0]
        alive = [s for s in self.slots if s.alive]
        if not alive:
            raise EngineLost("no engine of the pool answers any more; nothing more was tagged")
        if not isinstance(step, Build):
            found = self.where.get(step.image)
            return found if found is not None else alive[0]
        spec = self.hierarchy[step.image]
        alive = placement.candidates(self.hierarchy, step.image, alive)  # native engines first (issue 24)
        with self._lock:
            parent = self.where.get(spec.parent) if spec.parent else None
            if parent is not None and parent in alive and parent.running < parent.jobs:
                chosen = parent
            else:
                chosen = min(alive, key=lambda s: (s.running / s.jobs, self.slots.index(s)))
            chosen.running += 1
        return chosen

    def guarded(self, slot: Slot, call: Callable[[], T]) -> T:
        """`call()`; in a pool, any engine error from an engine that no longer answers (a pull
        onto it, say) is that engine lost, so the build can go elsewhere."""
        try:
            return call()
        except EngineLost:
            raise
        except BbcError as exc:
            answers = getattr(slot.engine, "answers", None)
            if self.several and answers is not None and not answers():
                raise EngineLost(f"engine at {slot.name} stopped answering: {exc.message}") from None
            raise

    def replace(self, step: Step, slot: Slot, lost: EngineLost) -> Slot:
        """A build whose engine stopped answering goes, once, to another engine of the pool;
        anything else fails with `lost`."""
        slot.alive = False
        if not self.several or not isinstance(step, Build) or not any(s.alive for s in self.slots):
            raise lost
        with self._lock:
            slot.running -= 1
        again = self.place(step)
        self.events.message(f"[{step.image}] engine {slot.name} stopped answering; building on {again.name} instead")
        return again

    def settle(self, step: Step, slot: Slot, result: Result) -> Result:
        """A step on `slot` finished: its room is free again, a build's image is there."""
        if not self.several:
            return result
        if isinstance(step, Build):
            with self._lock:
                slot.running -= 1
            if result.ok:
                self.where[step.image] = slot
        return replace(result, engine=slot.name)

    @contextmanager
    def holding(self, image: str, image_id: str) -> Iterator[None]:
        """Within: this thread runs on the engine holding `image_id`, an up-to-date build of
        `image` (which is where the image's build is from now on)."""
        if self.several:
            self.where[image] = next(
                (s for s in self.slots if s.alive and s.engine.inspect(image_id) is not None), self.slots[0])
            self._local.slot = self.where[image]
        try:
            yield
        finally:
            self.leave()

    def parent_here(self, image: str, parent: str, parent_id: str, fingerprint: str | None,
                    role: str = "parent") -> str:
        """The parent's build (or, with `role` "used image", a used image's) on the engine
        this step runs on: where it is already, else pushed (under its candidate tag, unless the
        registry holds it) and pulled here, fingerprint checked."""
        slot = getattr(self._local, "slot", None)
        source = self.where.get(parent, self.slots[0])
        if slot is None or source is slot:
            return parent_id
        key = (slot.name, parent)
        if key in self._moved:
            return self._moved[key]
        if self.remote is None:
            raise BbcError(f"{image}: {role} {parent} is on {source.name}, and there is no registry to move it by")
        if not fingerprint:
            raise BbcError(f"{image}: {role} {parent} has no fingerprint to move it by")
        self._moved[key] = self._move(image, (role, parent), parent_id, fingerprint, source, slot, self.remote)
        return self._moved[key]

    def _move(self, image: str, what: tuple[str, str], parent_id: str, fingerprint: str, source: Slot, slot: Slot,
              remote: Remote) -> str:
        role, parent = what
        repository = self.hierarchy.config.ref(parent)
        tag = refs.candidate_tag(fingerprint)
        digest = trusted.held(self.hierarchy, remote, parent, tag, remote.held(parent, tag, fingerprint),
                              self.events.message)  # policy.signed_parents
        if not digest:
            if not source.alive:
                raise EngineLost(f"{image}: {role} {parent} is only on {source.name}, which stopped answering")
            source.engine.tag(parent_id, repository, tag)
            try:
                digest = source.engine.push(repository, tag, lambda line: None)
            finally:
                source.engine.remove_image(f"{repository}:{tag}")
        info = slot.engine.pull(repository, digest)  # by digest: what was pushed, whatever the tag does
        if info.labels.get(labels.FINGERPRINT) != fingerprint:
            raise BbcError(f"{image}: the registry's {repository}:{tag} is not the build of {parent} it should be")
        slot.engine.tag(info.id, repository, tag)  # BuildKit finds a local image by a tag, not by its ID
        self.events.message(f"[{image}] {role} {parent} brought from {source.name} to {slot.name} by the registry")
        return str(info.id)
