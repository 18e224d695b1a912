"""`bbc graph`: the hierarchy as a tree, or dot / mermaid / json for pictures and tools."""

from __future__ import annotations

import json

from bbc.model.hierarchy import Hierarchy


def graph(hierarchy: Hierarchy, *, fmt: str = "tree") -> int:
    print(render(hierarchy, fmt), end="")
    return 0


def render(h: Hierarchy, fmt: str) -> str:
    if fmt == "dot":
        lines = ["digraph bbc {", "  rankdir=TB;", "  node [shape=box];"]
        for n in h.order:
            lines.append(f'  "{n}" [label="{n}\\n{h[n].version}\\n({h.kind(n)})"];')
        for n in h.order:
            if h.parent(n):
                lines.append(f'  "{h.parent(n)}" -> "{n}";')
        return "\n".join(lines + ["}"]) + "\n"
    if fmt == "mermaid":
        lines = ["graph TD"]
        ids = {n: f"n{i}" for i, n in enumerate(h.order)}
        for n in h.order:
            lines.append(f'  {ids[n]}["{n} {h[n].version}"]')
        for n in h.order:
            if h.parent(n):
                lines.append(f"  {ids[h.parent(n)]} --> {ids[n]}")  # type: ignore[index]
        return "\n".join(lines) + "\n"
    if fmt == "json":
        data = {
            "registry": h.config.registry,
            "images": [
                {"name": n, "version": h[n].version, "parent": h.parent(n), "kind": h.kind(n),
                 "path": h[n].rel_path, "children": h.children(n), "platforms": list(h[n].platforms)}
                for n in h.order
            ],
        }
        return json.dumps(data, indent=2) + "\n"
    out: list[str] = []

    def walk(name: str, prefix: str, last: bool, top: bool) -> None:
        several = h[name].platforms if len(h[name].platforms) > 1 else ()
        label = f"{name} {h[name].version} ({h.kind(name)}, {h[name].rel_path}{''.join(', ' + p for p in several)})"
        out.append(label if top else f"{prefix}{'└── ' if last else '├── '}{label}")
        kids = h.children(name)
        for i, kid in enumerate(kids):
            walk(kid, prefix if top else prefix + ("    " if last else "│   "), i == len(kids) - 1, False)

    for root in h.roots():
        walk(root, "", True, True)
    return "\n".join(out) + "\n"
