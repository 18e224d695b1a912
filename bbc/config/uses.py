"""`uses:` of one image (issue 21): build arg (or a reference written out in the Dockerfile) ->
another image of the hierarchy, whose exact build bbc passes there as it passes the parent's.

Each key must be read by the Dockerfile: through `${KEY}` in a FROM, `COPY --from` or
`RUN --mount=from` (resolved through ARG defaults), or written out as the reference itself
(`COPY --from=acme/web:1`, a named context). What the names point at (known images, no cycle,
platforms) is checked once every image is read: bbc/config/graph.py."""

from __future__ import annotations

from typing import Any

from bbc.config.checker import Checker
from bbc.model import dockerfile
from bbc.model.specs import Use


def of(r: Checker, keys: tuple[str, ...], body: dict[str, Any], text: str | None, file: str,
       parent: tuple[str | None, str, str | None]) -> tuple[Use, ...]:
    """The `uses:` of an image whose Dockerfile (`file`, relative) reads `text` (None: not
    readable, said already), with `parent` = (its parent, parent_arg, parent_ref)."""
    written = r.str_map(body, keys, "uses")
    if not written:
        return ()
    name, parent_arg, parent_ref = parent
    found = dockerfile.reads(text) if text is not None else []
    out: list[Use] = []
    for key, image in written.items():
        where = keys + ("uses", key)
        if not key or any(c.isspace() for c in key):
            r.problem(where, "a build arg or an image reference as the Dockerfile writes it, without spaces")
            continue
        if name is not None and key in (parent_arg, parent_ref):
            r.problem(where, f"{key} carries the parent '{name}'; uses: names the other images it reads")
            continue
        reading = dockerfile.reads_key(found, key)
        if text is not None and not reading:
            r.problem(where, f"no FROM, COPY --from or RUN --mount=from of {file} reads ${{{key}}} (nor names "
                             f"{key} as written), so '{image}' would be ignored; write `ARG {key}` and "
                             f"`FROM ${{{key}}} AS {image}`, then `COPY --from={image} ...`")
            continue
        by_arg = any(key in read.args for read in reading)
        out.append(Use(key, image, written=not by_arg, on_build=dockerfile.on_build_platform(reading)))
    return tuple(out)
