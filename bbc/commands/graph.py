"""`bbc graph`: the hierarchy as a tree, or dot / mermaid / json for pictures and tools. Parent
links make the tree; used images (`uses:`, issue 21) are drawn apart: a `uses:` line under the
image in the tree, dashed edges labelled with their build arg in dot and mermaid, `uses` and
`users` in json."""

from __future__ import annotations

import json

from bbc.model.hierarchy import EdgeKind, Hierarchy


def graph(hierarchy: Hierarchy, *, fmt: str = "tree") -> int:
    print(render(hierarchy, fmt), end="")
    return 0


def render(h: Hierarchy, fmt: str) -> str:
    if fmt == "dot":
        return _dot(h)
    if fmt == "mermaid":
        return _mermaid(h)
    if fmt == "json":
        data = {
            "registry": h.config.registry,
            "images": [
                {"name": n, "version": h[n].version, "parent": h.parent(n), "kind": h.kind(n),
                 "path": h[n].rel_path, "children": h.children(n), "platforms": list(h[n].platforms),
                 "uses": {u.key: u.image for u in h[n].uses}, "users": h.users(n)}
                for n in h.order
            ],
            "edges": [{"kind": str(e.kind), "from": e.source, "to": e.target, **({"key": e.key} if e.key else {})}
                      for e in h.edges()],
        }
        return json.dumps(data, indent=2) + "\n"
    return _tree(h)


def _dot(h: Hierarchy) -> str:
    lines = ["digraph bbc {", "  rankdir=TB;", "  node [shape=box];"]
    for n in h.order:
        lines.append(f'  "{n}" [label="{n}\\n{h[n].version}\\n({h.kind(n)})"];')
    for e in h.edges():
        if e.kind is EdgeKind.PARENT:
            lines.append(f'  "{e.source}" -> "{e.target}";')
        else:  # used images: dashed, apart from the tree's ranks
            lines.append(f'  "{e.source}" -> "{e.target}" [style=dashed, constraint=false, label="{e.key}"];')
    return "\n".join(lines + ["}"]) + "\n"


def _mermaid(h: Hierarchy) -> str:
    lines = ["graph TD"]
    ids = {n: f"n{i}" for i, n in enumerate(h.order)}
    for n in h.order:
        lines.append(f'  {ids[n]}["{n} {h[n].version}"]')
    for e in h.edges():
        arrow = "-->" if e.kind is EdgeKind.PARENT else f"-.->|uses {e.key}|"
        lines.append(f"  {ids[e.source]} {arrow} {ids[e.target]}")
    return "\n".join(lines) + "\n"


def _tree(h: Hierarchy) -> str:
    out: list[str] = []

    def walk(name: str, prefix: str, last: bool, top: bool) -> None:
        several = h[name].platforms if len(h[name].platforms) > 1 else ()
        label = f"{name} {h[name].version} ({h.kind(name)}, {h[name].rel_path}{''.join(', ' + p for p in several)})"
        out.append(label if top else f"{prefix}{'└── ' if last else '├── '}{label}")
        inner = prefix if top else prefix + ("    " if last else "│   ")
        kids = h.children(name)
        if h[name].uses:  # drawn apart from the tree: the parent links alone make it
            used = ", ".join(f"{u.image} ({u.key})" for u in h[name].uses)
            out.append(f"{inner}{'│   ' if kids else '    '}uses: {used}")
        for i, kid in enumerate(kids):
            walk(kid, inner, i == len(kids) - 1, False)

    for root in h.roots():
        walk(root, "", True, True)
    return "\n".join(out) + "\n"
