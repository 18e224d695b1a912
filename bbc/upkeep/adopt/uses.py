"""The other images of the tree an image reads besides its parent (issue 21's `uses:`): a
builder stage's FROM or a `COPY --from=<image>` naming what the build files say an image
produces, and bake's `contexts = {x = "target:y"}` (or `docker-image://` a tree image). And
the build args the build files pass that bbc.yaml must pass too (`build_args`)."""

from __future__ import annotations

from bbc.upkeep.adopt import refs, stages
from bbc.upkeep.adopt.link import Known, named_context, uses_key
from bbc.upkeep.adopt.records import UNKNOWN, Build, From


def _produced_by(image: str, name: str, known: Known) -> str | None:
    ref = refs.parse(image)
    if ref is None:
        return None
    found = [p.image for p in known.index.lookup(ref) if p.image != name and p.sure]
    return found[0] if len(found) == 1 else None


def reads(name: str, text: str, shipped: From | None, build: Build | None, known: Known) -> dict[str, str]:
    """`uses` of image `name`: build arg (or named context, or reference as written) -> image."""
    args = dict(build.args) if build else None
    out: dict[str, str] = {}
    contexts = build.contexts if build else {}
    for read in stages.other_reads(text, shipped, args):
        if read.image in contexts:
            image = named_context(contexts[read.image], name, known)
        else:
            image = _produced_by(read.image, name, known)
        if image is not None:
            out[uses_key(read.arg, read.raw)] = image
    for key, value in (build.contexts.items() if build else ()):
        image = named_context(value, name, known)
        if image is not None:
            out[key] = image
    return out


def build_args(build: Build | None, parent_arg: str | None) -> dict[str, str]:
    """The build args a build file passes, for bbc.yaml: not the parent's (bbc passes its own
    build there), not those whose value is only known when the build file runs."""
    if build is None:
        return {}
    return {k: v for k, v in sorted(build.args.items()) if k != parent_arg and UNKNOWN not in v}
