"""The hierarchy: the one place parent links are followed. Validation asks it for cycles and
lineages, the version cascade for the order, everything else for the graph; networkx (imported
on first use) answers the graph questions, the parent links the cheap ones."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bbc.errors import BbcError, did_you_mean

if TYPE_CHECKING:
    from bbc.model.specs import Config, ImageSpec


def lineage(parents: Mapping[str, str | None], name: str) -> list[str]:
    """`name`, its parent, ... up to the root (stopping where a cycle would repeat)."""
    out: list[str] = []
    node: str | None = name
    while node is not None and node not in out:
        out.append(node)
        node = parents.get(node)
    return out


def cycles(parents: Mapping[str, str | None]) -> list[list[str]]:
    """Every cycle of parent links, each once, from where a walk in `parents` order enters it."""
    found: list[list[str]] = []
    reported: set[str] = set()
    for start in parents:
        walk = lineage(parents, start)
        last = parents.get(walk[-1])
        if last is not None and last in walk and last not in reported:
            loop = walk[walk.index(last):]
            reported.update(loop)
            found.append(loop)
    return found


def topological(parents: Mapping[str, str | None], declared: Sequence[str]) -> tuple[str, ...]:
    """Parents before children, lowest declaration index first among the ready ones (the order
    of networkx's lexicographical_topological_sort keyed by declaration). Images on a cycle or
    below an unknown parent are left out: validation reports them first."""
    index = {name: i for i, name in enumerate(declared)}
    kids: dict[str, list[str]] = {}
    ready: list[int] = []
    for name in declared:
        parent = parents.get(name)
        if parent is None:
            ready.append(index[name])
        elif parent in index:
            kids.setdefault(parent, []).append(name)
    heapq.heapify(ready)
    order = []
    while ready:
        name = declared[heapq.heappop(ready)]
        order.append(name)
        for kid in kids.get(name, ()):
            heapq.heappush(ready, index[kid])
    return tuple(order)


class Hierarchy:
    """The image DAG. `graph` (networkx, edges parent -> child) is built on first use: an
    up-to-date `bbc build` only walks parent links and never pays networkx's import."""

    def __init__(self, config: Config, order: tuple[str, ...]) -> None:
        self.config = config
        self.order = order  # topological, stable (declaration order among equals)
        self.position = {name: i for i, name in enumerate(order)}
        self._kids: dict[str, list[str]] = {}
        for name in order:
            parent = config.images[name].parent
            if parent is not None:
                self._kids.setdefault(parent, []).append(name)
        self._graph: Any = None
        self._parents = {name: spec.parent for name, spec in config.images.items()}
        # set by platforms.expand on a hierarchy of units: image -> its units (`static@arm64`, ...)
        self.units: dict[str, tuple[str, ...]] | None = None

    @classmethod
    def of(cls, config: Config) -> Hierarchy:
        # validation already rejected cycles and unknown parents: every image is in the order
        parents = {name: spec.parent for name, spec in config.images.items()}
        return cls(config, topological(parents, list(config.images)))

    @property
    def graph(self) -> Any:
        if self._graph is None:
            import networkx as nx

            graph = nx.DiGraph()
            graph.add_nodes_from(self.order)
            graph.add_edges_from((s.parent, n) for n, s in self.config.images.items() if s.parent)
            self._graph = graph
        return self._graph

    def __getitem__(self, name: str) -> ImageSpec:
        return self.config.images[name]

    def parent(self, name: str) -> str | None:
        return self.config.images[name].parent

    def children(self, name: str) -> list[str]:
        return list(self._kids.get(name, ()))  # already in topological order

    def ancestors(self, name: str) -> list[str]:
        """Parent first, root last."""
        return lineage(self._parents, name)[1:]

    def descendants(self, name: str) -> set[str]:
        import networkx as nx

        return set(nx.descendants(self.graph, name))

    def roots(self) -> list[str]:
        return [n for n in self.order if self.parent(n) is None]

    def kind(self, name: str) -> str:
        """root / intermediate / app: from the graph, the folder breaking ties."""
        spec = self.config.images[name]
        if spec.parent is None:
            return "root"
        parts = set(spec.rel_path.replace("\\", "/").split("/"))
        if "app" in parts or "apps" in parts:
            return "app"
        if "intermediate" in parts:
            return "intermediate"
        return "intermediate" if self._kids.get(name) else "app"

    def depth(self, name: str) -> int:
        return len(self.ancestors(name))

    def check_names(self, names: Iterable[str]) -> list[str]:
        out = []
        for name in names:
            if name not in self.config.images:
                raise BbcError(
                    f"unknown image '{name}'{did_you_mean(name, self.config.images)}",
                    tip=f"images in {self.config.path.name}: {', '.join(self.order[:12])}"
                    + (" ..." if len(self.order) > 12 else ""),
                )
            out.append(name)
        return out

    def closure_up(self, names: Iterable[str]) -> set[str]:
        """The named images and every ancestor they need."""
        out: set[str] = set()
        for name in names:
            out.add(name)
            out.update(self.ancestors(name))
        return out

    def closure_down(self, names: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for name in names:
            out.add(name)
            out.update(self.descendants(name))
        return out

    def sort(self, names: Iterable[str]) -> list[str]:
        wanted = set(names)
        return sorted(wanted, key=self.position.__getitem__)
