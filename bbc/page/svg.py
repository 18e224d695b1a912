"""The hierarchy as an SVG picture: a box per image and platform, filled by its worst state,
a dot per further state, edges from a list of typed edges (parent: solid; uses: dashed).
Every box links to its row of the table below it; its tooltip says every state and why."""

from __future__ import annotations

from html import escape

from bbc.page.layout import Layout, place
from bbc.page.model import Edge, Image, Report, State

COLOURS = {
    State.UP_TO_DATE: "#c8e6c9",
    State.NOT_BUILT: "#eeeeee",
    State.BASE_MOVED: "#d1c4e9",
    State.REBUILD: "#fff176",
    State.FINDINGS_LOW: "#b3e5fc",
    State.FINDINGS_MEDIUM: "#ffcc80",
    State.FINDINGS_HIGH: "#ff8a65",
    State.FINDINGS_CRITICAL: "#e53935",
    State.TESTS_FAILED: "#ad1457",
}
DARK = {State.FINDINGS_CRITICAL, State.TESTS_FAILED}  # white text on these
MAX_WHY = 44  # characters of the second line


def css_class(state: State) -> str:
    return "st-" + state.name.lower().replace("_", "-")


def lines(image: Image) -> tuple[str, str]:
    """The two lines of a box: name and version; the worst state and its first reason."""
    return f"{image.unit} {image.version}", _short(image)


def _short(image: Image) -> str:
    state = image.state
    if state is State.REBUILD and image.why:
        text = f"rebuild: {image.why[0]}"
    elif state.name.startswith("FINDINGS"):
        text = " · ".join(f"{n} {sev}" for sev, n in image.findings)
    elif state is State.BASE_MOVED:
        moved = [b.base for b in image.bases if b.status == "outdated"]
        text = f"base moved: {moved[0]}" if moved else "base moved"
    elif state is State.TESTS_FAILED:
        text = f"tests {image.tests.status}"
    else:
        text = state.value
    return text if len(text) <= MAX_WHY else text[:MAX_WHY - 1] + "…"


def tooltip(image: Image) -> str:
    parts = [f"{image.unit} {image.version} ({image.kind})", *(s.value for s in image.states)]
    parts += [f"why: {w}" for w in image.why[:4]]
    parts.append(f"tests: {image.tests.status}")
    if image.release.state != "unknown":
        parts.append(f"registry: {image.release.state}")
    if image.owner:
        parts.append(f"owner: {image.owner}")
    return "\n".join(parts)


def render(report: Report) -> tuple[str, Layout]:
    units = [i.unit for i in report.images]
    layout = place(units, report.edges, {i.unit: lines(i) for i in report.images})
    has_kids = {e.source for e in report.edges if e.kind.value == "parent"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="graph" viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" '
           f'width="{layout.width:.0f}" height="{layout.height:.0f}" role="img" aria-label="the image hierarchy">',
           "<g class=\"edges\">"]
    out += [_edge(layout, e) for e in report.edges]
    out.append("</g><g class=\"nodes\">")
    out += [_node(layout, i, i.unit in has_kids) for i in report.images]
    out.append("</g></svg>")
    return "\n".join(out), layout


def _edge(layout: Layout, edge: Edge) -> str:
    return (f'<path class="edge {edge.kind.value}" data-source="{escape(edge.source)}" '
            f'data-target="{escape(edge.target)}" d="{layout.path(edge)}"/>')


def _node(layout: Layout, image: Image, has_kids: bool) -> str:
    box = layout.boxes[image.unit]
    unit = escape(image.unit)
    first, second = lines(image)
    name_len = len(image.unit)
    dots = [s for s in image.states[1:]]
    marks = "".join(f'<circle class="mark {css_class(s)}" cx="{box.width - 10 - 12 * k:.0f}" cy="9" r="4">'
                    f"<title>{escape(s.value)}</title></circle>" for k, s in enumerate(dots))
    toggle = (f'<g class="toggle" data-unit="{unit}"><circle cx="{box.width:.0f}" cy="{box.height / 2:.0f}" r="7"/>'
              f'<text x="{box.width:.0f}" y="{box.height / 2 + 4:.0f}">−</text></g>') if has_kids else ""
    return (f'<g class="node {css_class(image.state)}{" dark" if image.state in DARK else ""}" id="node-{unit}" '
            f'data-unit="{unit}" data-state="{escape(image.state.value)}" '
            f'transform="translate({box.x:.0f},{box.y:.0f})"><title>{escape(tooltip(image))}</title>'
            f'<a href="#image-{unit}"><rect width="{box.width:.0f}" height="{box.height:.0f}" rx="6"/>'
            f'<text x="10" y="15"><tspan class="name">{unit}</tspan>'
            f'<tspan class="ver"> {escape(first[name_len + 1:])}</tspan></text>'
            f'<text class="why" x="10" y="29">{escape(second)}</text></a>{marks}{toggle}</g>')
