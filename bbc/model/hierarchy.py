"""The hierarchy: the one place links are followed. An image builds on its parent (`parent:`)
and on the other images it uses (`uses:`, issue 21); the two kinds of edge make one DAG.

Order, what an image needs, what builds on it (dependents, descendants), closures and cycles
answer over both kinds of edge; lineage questions (whose tests an image inherits, whose layers
it starts with, its depth) follow parent links alone. Validation asks the functions below for
cycles and lineages, the version cascade for the order, everything else the Hierarchy;
networkx (imported on first use) is there for anyone who wants the graph as a graph.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bbc.errors import BbcError, did_you_mean

if TYPE_CHECKING:
    from bbc.model.specs import Config, ImageSpec

# image -> the images it builds on: its parent first, then the images it uses
Needs = Mapping[str, Sequence[str]]


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


def loops(needs: Needs) -> list[list[str]]:
    """Cycles through parent and uses links: each a path in which every image builds on the
    next and the last on the first. Every image on a cycle is on at least one of them."""
    found: list[list[str]] = []
    state: dict[str, bool] = {}  # True: on the current path; False: done
    for start in needs:
        if start in state:
            continue
        path = [start]
        state[start] = True
        stack = [iter(needs.get(start, ()))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                state[path.pop()] = False
            elif nxt not in needs:
                continue  # an unknown image: validation says so on its own
            elif state.get(nxt) is True:
                found.append(path[path.index(nxt):])
            elif nxt not in state:
                state[nxt] = True
                path.append(nxt)
                stack.append(iter(needs.get(nxt, ())))
    return found


def order(needs: Needs, declared: Sequence[str]) -> tuple[str, ...]:
    """Every image after all it builds on, the lowest declaration index first among the ready
    ones (networkx's lexicographical_topological_sort keyed by declaration). Images on a cycle
    or on an unknown image are left out: validation reports them first."""
    index = {name: i for i, name in enumerate(declared)}
    waiting: dict[str, int] = {}
    below: dict[str, list[str]] = {}
    ready: list[int] = []
    for name in declared:
        deps = tuple(dict.fromkeys(needs.get(name, ())))
        if not deps:
            ready.append(index[name])
            continue
        if any(d not in index for d in deps):
            continue
        waiting[name] = len(deps)
        for dep in deps:
            below.setdefault(dep, []).append(name)
    heapq.heapify(ready)
    out = []
    while ready:
        name = declared[heapq.heappop(ready)]
        out.append(name)
        for kid in below.get(name, ()):
            waiting[kid] -= 1
            if not waiting[kid]:
                heapq.heappush(ready, index[kid])
    return tuple(out)


def topological(parents: Mapping[str, str | None], declared: Sequence[str]) -> tuple[str, ...]:
    """`order` over parent links alone."""
    return order({name: (p,) if (p := parents.get(name)) is not None else () for name in declared}, declared)


def needs_of(images: Mapping[str, ImageSpec]) -> dict[str, tuple[str, ...]]:
    """image -> what it builds on: its parent, then the images it uses (each once)."""
    return {name: tuple(dict.fromkeys(((spec.parent,) if spec.parent else ()) + spec.used))
            for name, spec in images.items()}


class EdgeKind(StrEnum):
    PARENT = "parent"  # built FROM the source's exact build
    USES = "uses"  # reads the source's exact build besides its parent (issue 21)


@dataclass(frozen=True)
class Edge:
    kind: EdgeKind
    source: str  # the image built on (the parent, the used image)
    target: str  # the image that builds on it
    key: str = ""  # a uses edge: the build arg (or reference) that carries the source's build


class Hierarchy:
    """The image DAG (parent and uses edges). An up-to-date `bbc build` only walks the links
    kept here and never pays networkx's import."""

    def __init__(self, config: Config, order: tuple[str, ...]) -> None:
        self.config = config
        self.order = order  # topological over both kinds of edge, stable (declaration order among equals)
        self.position = {name: i for i, name in enumerate(order)}
        self._kids: dict[str, list[str]] = {}  # parent edges, down
        self._users: dict[str, list[str]] = {}  # uses edges, down
        self._down: dict[str, list[str]] = {}  # both, in order, each once
        self._needs = needs_of(config.images)  # asked per image on the planning path: once
        for name in order:
            spec = config.images[name]
            if spec.parent is not None:
                self._kids.setdefault(spec.parent, []).append(name)
                self._down.setdefault(spec.parent, []).append(name)
            for used in spec.used:
                self._users.setdefault(used, []).append(name)
                if used != spec.parent:
                    self._down.setdefault(used, []).append(name)
        self._graph: Any = None
        self._parents = {name: spec.parent for name, spec in config.images.items()}
        # set by platforms.expand on a hierarchy of units: image -> its units (`static@arm64`, ...)
        self.units: dict[str, tuple[str, ...]] | None = None

    @classmethod
    def of(cls, config: Config) -> Hierarchy:
        # validation already rejected cycles and unknown images: every image is in the order
        return cls(config, order(needs_of(config.images), list(config.images)))

    @property
    def graph(self) -> Any:
        """A networkx DiGraph, edges source -> target, each with its `kind` (and `key`)."""
        if self._graph is None:
            import networkx as nx

            graph = nx.DiGraph()
            graph.add_nodes_from(self.order)
            for edge in self.edges():
                graph.add_edge(edge.source, edge.target, kind=str(edge.kind), key=edge.key)
            self._graph = graph
        return self._graph

    def __getitem__(self, name: str) -> ImageSpec:
        return self.config.images[name]

    # -- parent links: lineage --------------------------------------------------------
    def parent(self, name: str) -> str | None:
        return self.config.images[name].parent

    def children(self, name: str) -> list[str]:
        return list(self._kids.get(name, ()))  # already in topological order

    def ancestors(self, name: str) -> list[str]:
        """Parent first, root last."""
        return lineage(self._parents, name)[1:]

    def roots(self) -> list[str]:
        return [n for n in self.order if self.parent(n) is None]

    def depth(self, name: str) -> int:
        return len(self.ancestors(name))

    # -- both kinds of edge -----------------------------------------------------------
    def used(self, name: str) -> tuple[str, ...]:
        """The images `name` uses besides its parent (`uses:`), each once."""
        return self.config.images[name].used

    def users(self, name: str) -> list[str]:
        """The images that use `name` (`uses:`), in order."""
        return list(self._users.get(name, ()))

    def needs(self, name: str) -> tuple[str, ...]:
        """What `name` builds on: its parent first, then the images it uses (each once)."""
        return self._needs[name]

    def dependents(self, name: str) -> list[str]:
        """The images building on `name` directly, as child or user, in order."""
        return list(self._down.get(name, ()))

    def descendants(self, name: str) -> set[str]:
        """Every image that builds on `name`, through any chain of parent and uses links."""
        out: set[str] = set()
        todo = list(self._down.get(name, ()))
        while todo:
            node = todo.pop()
            if node not in out:
                out.add(node)
                todo.extend(self._down.get(node, ()))
        return out

    def upstream(self, name: str) -> set[str]:
        """Every image `name` builds on, through any chain of parent and uses links."""
        out: set[str] = set()
        todo = list(self.needs(name))
        while todo:
            node = todo.pop()
            if node not in out:
                out.add(node)
                todo.extend(self.needs(node))
        return out

    def edges(self) -> list[Edge]:
        """Every link, in order of the image that builds on it: its parent edge, then its uses."""
        out: list[Edge] = []
        for name in self.order:
            spec = self.config.images[name]
            if spec.parent is not None:
                out.append(Edge(EdgeKind.PARENT, spec.parent, name))
            out.extend(Edge(EdgeKind.USES, u.image, name, u.key) for u in spec.uses)
        return out

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
        return "intermediate" if self._down.get(name) else "app"

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
        """The named images and every image they build on (parents and used images, all the way up)."""
        out: set[str] = set()
        for name in names:
            if name not in out:
                out.add(name)
                out.update(self.upstream(name))
        return out

    def closure_down(self, names: Iterable[str]) -> set[str]:
        """The named images and every image that builds on them (children and users, all the way down)."""
        out: set[str] = set()
        for name in names:
            if name not in out:
                out.add(name)
                out.update(self.descendants(name))
        return out

    def sort(self, names: Iterable[str]) -> list[str]:
        wanted = set(names)
        return sorted(wanted, key=self.position.__getitem__)
