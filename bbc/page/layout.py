"""Where each node of the picture goes: a tidy tree, roots on the left, one column per depth.

Parent edges form a forest (an image has one parent), so laying it out as a tree draws them
without a crossing: every leaf gets its own row, a node sits midway between its first and last
child. Other kinds of edge (`uses`, issue 21) are drawn over this layout between the boxes they
join. The page's script (html.py) places the nodes again the same way when a subtree is
collapsed or expanded: keep the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bbc.page.model import Edge, EdgeKind

ROW = 46  # px from one row to the next
BOX_HEIGHT = 36
GAP = 56  # px between columns
MARGIN = 12
CHAR = 7.2  # px per character of the 12px monospace-ish label, generous


@dataclass(frozen=True)
class Box:
    unit: str
    x: float
    y: float  # top
    width: float
    height: float = BOX_HEIGHT


@dataclass(frozen=True)
class Layout:
    boxes: Mapping[str, Box]
    columns: tuple[float, ...]  # x of each depth's column
    width: float
    height: float

    def path(self, edge: Edge) -> str:
        """An SVG path from the source's right side to the target's left side."""
        a, b = self.boxes[edge.source], self.boxes[edge.target]
        x1, y1 = a.x + a.width, a.y + a.height / 2
        x2, y2 = b.x, b.y + b.height / 2
        bend = max(GAP / 2, abs(x2 - x1) / 2)
        if edge.kind is EdgeKind.USES and x2 <= x1:  # a used image in a later column: loop round
            x1 = a.x
            bend = -bend
        return f"M{x1:.0f},{y1:.0f} C{x1 + bend:.0f},{y1:.0f} {x2 - bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"


def place(units: Sequence[str], edges: Sequence[Edge], labels: Mapping[str, Sequence[str]]) -> Layout:
    """Every unit placed; `labels`: the lines of text each box holds (they set its column's width)."""
    parent = {e.target: e.source for e in edges if e.kind is EdgeKind.PARENT}
    kids: dict[str, list[str]] = {}
    for unit in units:
        if unit in parent:
            kids.setdefault(parent[unit], []).append(unit)
    depth: dict[str, int] = {}
    for unit in units:  # in hierarchy order: parents first
        depth[unit] = depth[parent[unit]] + 1 if unit in parent else 0
    widths: dict[int, float] = {}
    for unit in units:
        text = max((len(line) for line in labels.get(unit, (unit,))), default=1)
        widths[depth[unit]] = max(widths.get(depth[unit], 0.0), text * CHAR + 24)
    columns = [float(MARGIN)]
    for d in range(1, len(widths)):
        columns.append(columns[-1] + widths[d - 1] + GAP)
    rows = rows_of([u for u in units if u not in parent], kids)
    boxes = {u: Box(u, columns[depth[u]], MARGIN + rows[u] * ROW, widths[depth[u]]) for u in units}
    width = (columns[-1] + widths[len(widths) - 1] + MARGIN) if units else 2 * MARGIN
    height = MARGIN * 2 + (max(rows.values()) * ROW + BOX_HEIGHT if rows else 0)
    return Layout(boxes, tuple(columns), width, height)


def rows_of(roots: Sequence[str], kids: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """The row of each node: leaves one after another, a parent midway between its first and
    last child (iterative: a deep chain needs no recursion)."""
    rows: dict[str, float] = {}
    nxt = 0
    stack: list[tuple[str, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        unit, done = stack.pop()
        children = kids.get(unit, ())
        if not children:
            rows[unit] = nxt
            nxt += 1
        elif done:
            rows[unit] = (rows[children[0]] + rows[children[-1]]) / 2
        else:
            stack.append((unit, True))
            stack.extend((c, False) for c in reversed(children))
    return rows
