"""The report as one self-contained HTML page: the picture (svg.py), a table per image, the
downstream projects and the routed scan findings. Styles and the script are inlined from
page.css and page.js beside this file; nothing is fetched when the page opens (no CDN, no
font, no image), so it reads the same from a CI artifact, a file share or an offline laptop."""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from importlib import resources

from bbc.page import layout as layout_mod
from bbc.page import svg
from bbc.page.model import Finding, Image, ProjectPin, Report, State
from bbc.run.report import human_size

# the script collapses subtrees with nothing to look at past this many boxes
COLLAPSE_ABOVE = 40


def render(report: Report) -> str:
    picture, placed = svg.render(report)
    data = {
        "units": [i.unit for i in report.images],
        "parent": {e.target: e.source for e in report.edges if e.kind.value == "parent"},
        "ok": [i.unit for i in report.images if i.state is State.UP_TO_DATE],
        "columns": list(placed.columns), "row": layout_mod.ROW, "box": layout_mod.BOX_HEIGHT,
        "margin": layout_mod.MARGIN, "gap": layout_mod.GAP, "collapseAbove": COLLAPSE_ABOVE,
    }
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>bbc report: {escape(report.registry)}</title>",
        f"<style>{_asset('page.css')}{_state_css()}</style></head><body>",
        _header(report), _graph(picture), _images(report), _projects(report.projects), _findings(report),
        f'<script type="application/json" id="bbc-graph">{_json(data)}</script>',
        f"<script>{_asset('page.js')}</script>", "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _asset(name: str) -> str:
    return resources.files("bbc.page").joinpath(name).read_text(encoding="utf-8")


def _json(data: object) -> str:
    # inside <script>: a "</" in a name must not end the element
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


def _state_css() -> str:
    rules = [f".{svg.css_class(s)} rect, .{svg.css_class(s)}.mark, .chip.{svg.css_class(s)} {{fill:{c};background:{c}}}"
             for s, c in svg.COLOURS.items()]
    return "\n".join(rules)


def chip(state: State) -> str:
    dark = " dark" if state in svg.DARK else ""
    return f'<span class="chip {svg.css_class(state)}{dark}">{escape(state.value)}</span>'


def _header(report: Report) -> str:
    counts: dict[State, int] = {}
    for image in report.images:
        counts[image.state] = counts.get(image.state, 0) + 1
    summary = " ".join(f"{chip(s)}&nbsp;{n}" for s, n in sorted(counts.items(), key=lambda kv: -kv[0].rank))
    unknown = "".join(f"<li>{escape(u)}</li>" for u in report.unknown)
    mode = "offline: nothing asked of any registry" if report.offline else "registry asked"
    return (f'<header><h1>bbc report</h1><p class="meta">{escape(report.registry)} · {len(report.images)} builds · '
            f"generated {escape(report.generated)} · {mode}</p>"
            f'<p class="summary">{summary}</p>' + (f'<ul class="unknown">{unknown}</ul>' if unknown else "")
            + "</header>")


def _graph(picture: str) -> str:
    legend = " ".join(chip(s) for s in State)
    tools = ('<div class="tools"><button data-zoom="in" title="zoom in">+</button>'
             '<button data-zoom="out" title="zoom out">−</button><button data-zoom="fit">fit</button>'
             '<button data-zoom="1">100%</button><button id="expand-all">expand all</button>'
             '<button id="collapse-ok">collapse what is up to date</button>'
             '<input id="find" type="search" placeholder="find an image" list="units" aria-label="find an image">'
             "</div>")
    return (f'<section id="hierarchy"><h2>Hierarchy</h2>{tools}<p class="legend">{legend} '
            '<span class="hint">fill: the worst state; dots: the others; click a box for its row, '
            "its ± to fold what is below it</span></p>"
            f'<div id="canvas">{picture}</div></section>')


def _td(*cells: str) -> str:
    return "".join(f"<td>{c}</td>" for c in cells)


def _images(report: Report) -> str:
    head = ["image", "version", "state", "released", "size", "own", "owner", "external bases",
            "pinned packages", "last test"] + (["signature"] if report.signing else [])
    rows = [_image_row(i, report.signing) for i in report.images]
    return (f'<section id="images"><h2>Images</h2><table><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table></section>')


def _image_row(i: Image, signing: bool) -> str:
    unit = escape(i.unit)
    states = " ".join(chip(s) for s in i.states)
    why = _list(i.why)
    rel = i.release
    released = escape(rel.state) + (f"<br><code title=\"{escape(rel.digest)}\">{escape(rel.digest[:19])}…</code>"
                                     if rel.digest else "") + (f"<br>built {escape(rel.created[:19])}" if rel.created
                                                                else "") + (f"<br><small>{escape(rel.detail)}</small>"
                                                                            if rel.detail else "")
    size = human_size(i.size) if i.size else "-"
    own = human_size(i.own_size) if i.own_size else "-"
    tests = escape(i.tests.status) + (f"<br><small>{escape(i.tests.when)}</small>" if i.tests.when else "") + \
        (f"<br><small>{escape(i.tests.detail)}</small>" if i.tests.detail else "")
    cells = [f'<a href="#node-{unit}">{unit}</a>' + (f"<br><small>{escape(i.description)}</small>"
                                                     if i.description else ""),
             escape(i.version), states + why, released, size, own, escape(i.owner or "-"), _bases(i), _packages(i),
             tests]
    if signing:
        cells.append(escape(i.signature.status) + f"<br><small>{escape(i.signature.detail)}</small>"
                     if i.signature else "-")
    return f'<tr id="image-{unit}" data-unit="{unit}">{_td(*cells)}</tr>'


def _list(items: Iterable[str]) -> str:
    shown = "".join(f"<li>{escape(x)}</li>" for x in items)
    return f"<ul>{shown}</ul>" if shown else ""


def _bases(i: Image) -> str:
    if not i.bases:
        return "-"
    return _list(f"{b.base}{'' if b.pinned else ' (unpinned)'}: {b.status}"
                 + (f" ({(b.in_use or '?')[:19]}… → {b.latest[:19]}…)" if b.status == "outdated" and b.latest else "")
                 + (f" — {b.detail}" if b.detail and b.status == "unknown" and not b.detail.startswith("not asked")
                    else "") for b in i.bases)


def _packages(i: Image) -> str:
    if not i.packages:
        return "-"
    outdated = [p for p in i.packages if p.status == "outdated"]
    unknown = [p for p in i.packages if p.status == "unknown"]
    head = f"{len(i.packages)} pinned"
    head += f", {len(outdated)} outdated" if outdated else (", not asked" if unknown else ", all current")
    return escape(head) + _list(f"{p.package} {p.pinned} → {p.newest}" for p in outdated)


def _projects(pins: tuple[ProjectPin, ...]) -> str:
    if not pins:
        return ('<section id="projects"><h2>Downstream projects</h2><p>No <code>projects:</code> in bbc.yaml.</p>'
                "</section>")
    head = ("project", "pins", "at", "bbc.yaml now", "behind", "built on (root first)", "where")
    rows = []
    for p in pins:
        chain = " › ".join(escape(f"{lv.image} {lv.version}") for lv in p.ancestry) or "?"
        rows.append(f'<tr class="behind-{escape(p.behind)}">' + _td(
            f"{escape(p.project)}<br><small>{escape(p.repo)}</small>", escape(p.image), escape(p.version)
            + (f"<br><code>{escape(p.digest[:19])}…</code>" if p.digest else ""), escape(p.current), escape(p.behind),
            chain + (f"<br><small>{escape(p.detail)}</small>" if p.detail else ""), escape(p.where)) + "</tr>")
    return (f'<section id="projects"><h2>Downstream projects</h2><p class="hint">the furthest behind first</p>'
            f'<table><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')


def _findings(report: Report) -> str:
    if not report.scans:
        return ""
    scans = ", ".join(escape(f"{s.image}: {s.file} ({s.format}, {s.findings} findings)") for s in report.scans)
    head = ("severity", "id", "package", "installed", "fixed", "in", "owned by", "owner", "blast radius", "fix")
    rows = "".join(_finding_row(f) for f in report.findings)
    return (f'<section id="findings"><h2>Scan findings by owner</h2><p class="hint">{scans}</p><table><thead><tr>'
            f'{"".join(f"<th>{h}</th>" for h in head)}</tr></thead><tbody>{rows}</tbody></table></section>')


def _finding_row(f: Finding) -> str:
    return (f'<tr class="sev-{escape(f.severity)}">' + _td(
        escape(f.severity), escape(f.id), escape(f.package), escape(f.installed), escape(f.fixed or "-"),
        escape(f.scanned), escape(f.image or "(not in the image)"), escape(f.owner or "-"),
        escape(", ".join(f.blast) or "-"), f"<code>{escape(f.fix)}</code>" if f.fix else "-") + "</tr>")
