"""Reading an image tree bbc did not write (`bbc init`): every Dockerfile below a folder, what
the repository's own build files say each one produces (repository *and tag*), what each builds
on, and the bbc.yaml decisions that follow, with a reason for each that was not certain.
`bbc check` (bbc/upkeep/drift.py) asks the same readers whether bbc.yaml still agrees.

The run, one module each:
    tree.scan ─► sources.read (makefile, shell, bake, compose, bashbrew: Builds, Aliases)
              ─► names.name (which Dockerfiles are images, their names; copied variants watched)
              ─► refs.index (repository:tag -> image) ─► assemble.image per Dockerfile
                 (stages: the shipped FROM; link: the parent, its source, how sure; uses)
              ─► graph (confirm links by shared owner, refuse cycles, order, registry, summary)

A link is never confidently wrong: by name alone, by placeholder, by tag-as-path, from a build
line commented out, or to an example, fixture or template, it carries a `?` comment and a
stderr line.
"""

from __future__ import annotations

from pathlib import Path

from bbc.upkeep.adopt import graph, names, refs, sources
from bbc.upkeep.adopt.assemble import image as _image
from bbc.upkeep.adopt.link import Known
from bbc.upkeep.adopt.matcher import Match, Matcher
from bbc.upkeep.adopt.names import sanitize
from bbc.upkeep.adopt.records import Adoption, Build, From, Image, Link, Source
from bbc.upkeep.adopt.stages import shipped_from
from bbc.upkeep.adopt.tree import TEST_LAYER, find, is_dockerfile, is_example, is_fixture, is_template, scan

__all__ = ["TEST_LAYER", "Adoption", "Build", "From", "Image", "Link", "Match", "Matcher", "Source", "adopt",
           "find", "is_dockerfile", "is_example", "is_fixture", "is_template", "sanitize", "shipped_from"]


def _suspect(drafts: list[names.Draft]) -> frozenset[str]:
    """Images a name-only link must never make sure: examples, fixtures, templates."""
    return frozenset(d.name for d in drafts if is_example(d.file) or is_fixture(d.file) or is_template(d.file))


def adopt(root: Path, registry: str | None = None) -> Adoption:
    """Read every Dockerfile and build file below `root` and decide the images of a bbc.yaml
    for them. BbcError (located, nothing decided) for names that cannot be unique, a cycle."""
    tree = scan(Path(root))
    found = sources.read(tree)
    drafts, messages = names.name(tree, sources.by_file(found.builds))
    by_file = {d.file: d.name for d in drafts}
    folders = {d.name: d.folder for d in drafts}
    suspect = _suspect(drafts)
    targets = {b.name: by_file[b.file] for b in found.builds if b.name and b.file in by_file}
    known = Known(refs.index(found.builds, found.aliases, by_file), Matcher(folders, registry), folders,
                  suspect, sanitize(tree.root.resolve().name), registry, targets)
    images: dict[str, Image] = {}
    decided: list[str] = []
    for draft in drafts:
        made, said = _image(draft, tree.read(draft.file), known)
        images[made.name] = made
        decided.extend(said)
    confirmed, doubts = graph.confirm(images, suspect)
    flagged, roots = graph.flag_own_roots(confirmed)
    graph.refuse_cycles(flagged)
    ordered = graph.ordered(flagged)
    guess = registry or graph.registry_guess(ordered)
    return Adoption(tree.root, registry, ordered, tuple(list(found.messages) + messages + decided + doubts + roots), guess,
                    graph.summary(ordered))
