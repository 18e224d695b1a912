"""`bbc report`: the hierarchy's state in one place: a self-contained HTML page (`--html`), the
same data as JSON (`--format json`), or a table. bbc/page/ collects and renders it."""

from __future__ import annotations

import sys
from pathlib import Path

from bbc.adapters.engine import Engine
from bbc.errors import BbcError
from bbc.model.hierarchy import Hierarchy
from bbc.page import findings, html, jsonout
from bbc.page.collect import Options, collect
from bbc.run import report as out


def report(hierarchy: Hierarchy, engine: Engine, *, fmt: str = "table", output: Path | None = None,
           offline: bool = False, scans: tuple[str, ...] = (), level: str | None = "minor",
           index_url: str | None = None) -> int:
    """`scans`: `[IMAGE=]FILE` as typed; `level`: how far a pinned package may move (None: not asked)."""
    options = Options(offline=offline, scans=tuple(findings.parse_option(s) for s in scans), level=level,
                      index_url=index_url)
    if fmt == "html" and output is None:
        raise BbcError("--html needs -o FILE", tip="bbc report --html -o report.html")
    data = collect(hierarchy, engine, options)
    if fmt == "table":
        out.table(("image", "version", "state", "why"),
                  [(i.unit, i.version, ", ".join(s.value for s in i.states), "; ".join(i.why[:2]) or "-")
                   for i in data.images])
        for line in data.unknown:
            print(f"unknown: {line}")
        return 0
    text = html.render(data) if fmt == "html" else jsonout.dumps(data)
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BbcError(f"cannot write {output}: {exc.strerror}") from None
    print(f"bbc report: wrote {output} ({len(data.images)} builds)", file=sys.stderr)
    return 0
