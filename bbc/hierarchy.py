"""The hierarchy as a networkx DAG: the one copy of the graph that drives everything."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

from bbc.config import Config, ImageSpec
from bbc.errors import BbcError


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

    @classmethod
    def of(cls, config: Config) -> Hierarchy:
        # Kahn's algorithm, lowest declaration index first: the same order as networkx's
        # lexicographical_topological_sort keyed by declaration order (config.py already
        # rejected cycles and unknown parents).
        index = {name: i for i, name in enumerate(config.images)}
        kids: dict[str, list[str]] = {}
        ready: list[int] = []
        for name, spec in config.images.items():
            if spec.parent is None:
                ready.append(index[name])
            else:
                kids.setdefault(spec.parent, []).append(name)
        names = list(config.images)
        heapq.heapify(ready)
        order = []
        while ready:
            name = names[heapq.heappop(ready)]
            order.append(name)
            for kid in kids.get(name, ()):
                heapq.heappush(ready, index[kid])
        return cls(config, tuple(order))

    @classmethod
    def load(cls, path: Any) -> Hierarchy:
        """The hierarchy of the bbc.yaml at `path` as it is on disk now."""
        from bbc import config

        return cls.of(config.load(path))

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
        out = []
        node = self.parent(name)
        while node is not None:
            out.append(node)
            node = self.parent(node)
        return out

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
        from bbc.config import did_you_mean

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
