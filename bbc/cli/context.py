"""What every command of one `bbc` invocation shares: bbc.yaml's hierarchy (read once, when a
command first asks), the engine or pool of engines, the containers the run starts, the lock
two runs building one image take turns on. Typed: commands get the objects, not `Any`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bbc.adapters.docker.containers import Containers
    from bbc.adapters.docker.engine import DockerEngine
    from bbc.model.hierarchy import Hierarchy
    from bbc.plan.steps import Selection
    from bbc.run.options import ImageLock
    from bbc.run.pool import Slot


@dataclass(frozen=True)
class Wanted:
    """The images a command was asked for, as typed (IMAGES, --changed, --since, ...)."""

    names: tuple[str, ...] = ()
    changed: bool = False
    since: str | None = None
    with_dependents: bool = False
    force: bool = False


@dataclass
class Ctx:
    config_path: str | None
    # the containers this invocation's engines start: main() removes them on Ctrl-C
    live: Containers
    _hierarchy: Hierarchy | None = field(default=None, repr=False)

    @property
    def hierarchy(self) -> Hierarchy:
        if self._hierarchy is None:
            from bbc import config as config_mod

            path = Path(self.config_path) if self.config_path else config_mod.find_config(Path.cwd())
            self._hierarchy = config_mod.load_hierarchy(path)
            self.live.tree = str(self._hierarchy.config.root)  # the owner its containers are labelled with
            # The config lives as long as the process: out of the collector's full scans, which
            # otherwise walk its 10,000 specs again and again while a large plan is made
            # (measured: 10,000-image plan, median 2.13 s -> 1.89 s).
            import gc

            gc.freeze()
        return self._hierarchy

    def selection(self, wanted: Wanted) -> Selection:
        from bbc.plan import asked

        return asked.selection(self.hierarchy, wanted.names, changed=wanted.changed, since=wanted.since,
                               with_dependents=wanted.with_dependents, force=wanted.force)

    def engine(self) -> DockerEngine:
        """The one engine the environment names (DOCKER_HOST, a docker context)."""
        from bbc.adapters.docker.engine import connect

        return connect(live=self.live)

    def engines(self, override: tuple[str, ...] = ()) -> tuple[DockerEngine, tuple[Slot, ...]]:
        """The engine a command plans with, and the pool it spreads builds over (--engine, else
        bbc.yaml's `engines:`; empty: the one engine of the environment). Every engine of the
        pool answers before anything starts; the first is the one planned with."""
        from bbc.adapters.docker.engine import connect
        from bbc.run.pool import Slot

        declared = {e.host: e.platforms for e in self.hierarchy.config.engines}  # issue 24: else /info
        specs = [(host, 1) for host in override] or [(e.host, e.jobs) for e in self.hierarchy.config.engines]
        if not specs:
            return self.engine(), ()
        pool = [(connect(host, live=self.live), host, jobs) for host, jobs in specs]
        return pool[0][0], tuple(Slot(host, engine, jobs, platforms=declared.get(host, ()))
                                 for engine, host, jobs in pool)

    def engine_or_none(self) -> DockerEngine | None:
        """The engine when one answers (a fallback source of digests), else None."""
        from bbc.errors import BbcError

        try:
            return self.engine()
        except BbcError:
            return None

    def image_lock(self) -> ImageLock:
        """Builds of one image by two bbc runs at once take turns (bbc/adapters/lock.py)."""
        from bbc.adapters import lock

        root = self.hierarchy.config.root
        return lambda image: lock.image_lock(root, image)
