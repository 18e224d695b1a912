"""Decisions that need every link at once: how sure a link by repository path is (an owner
other links share: `acme/python` beside `quay.io/acme/base`), cycles (refused, located), the
order bbc.yaml lists images in, the registry the tree's references point at, and the summary
of where the links came from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace

from bbc.errors import BbcError
from bbc.upkeep.adopt import refs
from bbc.upkeep.adopt.records import UNKNOWN, Image, Link, Source

_BY_NAME = (Source.FROM, Source.ARG_DEFAULT)


def _owners(links: list[Link]) -> Counter[str]:
    return Counter(link.namespace.rsplit("/", 1)[-1] for link in links
                   if link.source in _BY_NAME and link.namespace)


def confirm(images: Mapping[str, Image], suspect: frozenset[str]) -> tuple[dict[str, Image], list[str]]:
    """Links by repository path made sure when their owner is shared by other links; every link
    still unsure gets its `?` comment. Returns the images and a located line per doubt."""
    owners = _owners([i.link for i in images.values() if i.link is not None])
    out: dict[str, Image] = {}
    messages: list[str] = []
    for name, image in images.items():
        link = image.link
        if link is None:
            out[name] = image
            continue
        owner = link.namespace.rsplit("/", 1)[-1]
        if not link.sure and link.source in _BY_NAME and owner and owners[owner] > 1 and link.parent not in suspect:
            link = replace(link, sure=True)
        elif not link.sure and link.source in _BY_NAME and image.from_ is not None:
            messages.append(f"{link.where}: FROM {image.from_.raw} taken to name {link.parent} by its name alone "
                            "(check it)")
        notes = image.notes + ((f"? {link.why}",) if not link.sure else ())
        out[name] = replace(image, link=link, notes=notes)
    return out, messages


def flag_own_roots(images: Mapping[str, Image]) -> tuple[dict[str, Image], list[str]]:
    """Roots whose FROM names a repository under a namespace two or more links share
    (`acme/tools` beside `acme/python` and `acme/web` linked): likely an image of the tree bbc
    init could not find; a `?` and a located line, never a silent root."""
    shared = Counter(i.link.namespace for i in images.values() if i.link is not None and i.link.namespace)
    out = dict(images)
    messages: list[str] = []
    for name, image in images.items():
        ref = refs.parse(image.base) if image.parent is None and image.base else None
        if ref is None or shared[ref.namespace] < 2 or any(n.startswith("?") for n in image.notes):
            continue
        where = f"{image.file}:{image.from_.line}" if image.from_ else image.file
        out[name] = replace(image, notes=image.notes + (
            f"? FROM {image.base} ({where}) is under {ref.namespace}, where other images of the tree are, but "
            "names none of them: if it is one, set parent",))
        messages.append(f"{where}: FROM {image.base} is under {ref.namespace}, where other images of the tree "
                        "are, but names none of them; left as a root")
    return out, messages


def refuse_cycles(images: Mapping[str, Image]) -> None:
    """BbcError naming the loop and its FROM lines when parents go round."""
    for start in sorted(images):
        seen: list[str] = []
        name: str | None = start
        while name is not None and name in images:
            if name in seen:
                loop = seen[seen.index(name):] + [name]
                where = "; ".join(f"{_from_where(images[n])} names {images[n].parent}" for n in loop[:-1])
                raise BbcError(f"the Dockerfiles build on each other in a cycle: {' -> '.join(loop)} ({where})",
                               tip="nothing was written; break the cycle in one of those FROM lines")
            seen.append(name)
            name = images[name].parent


def _from_where(image: Image) -> str:
    shipped = image.from_
    return f"{image.file}:{shipped.line}" if shipped is not None else image.file


def ordered(images: Mapping[str, Image]) -> dict[str, Image]:
    """Parents first; otherwise by folder path, so the file reads like the tree."""
    out: dict[str, Image] = {}

    def place(name: str) -> None:
        if name in out:
            return
        parent = images[name].parent
        if parent is not None and parent in images:
            place(parent)
        out[name] = images[name]

    for name in sorted(images, key=lambda n: (images[n].path, images[n].dockerfile)):
        place(name)
    return out


def registry_guess(images: Mapping[str, Image]) -> str | None:
    """The namespace most links share (`quay.io/jupyter`, `acme`): where the tree's images live."""
    named = Counter(i.link.namespace for i in images.values() if i.link is not None and i.link.namespace
                    and UNKNOWN not in i.link.namespace)
    if not named:
        return None
    return max(sorted(named), key=lambda ns: (named[ns], ns.count("/"), len(ns)))


def summary(images: Mapping[str, Image]) -> str:
    """`152 links: Makefile 144, Makefile (?) 8; 49 roots` — how many links came from which source."""
    sure: Counter[str] = Counter()
    unsure: Counter[str] = Counter()
    for image in images.values():
        if image.link is not None:
            (sure if image.link.sure else unsure)[image.link.source.value] += 1
    total = sum(sure.values()) + sum(unsure.values())
    parts = [f"{source} {n}" for source, n in sorted(sure.items(), key=lambda kv: (-kv[1], kv[0]))]
    parts += [f"{source} {n} (?)" for source, n in sorted(unsure.items(), key=lambda kv: (-kv[1], kv[0]))]
    roots = sum(1 for i in images.values() if i.parent is None)
    return f"{total} link{'' if total == 1 else 's'}" + (f": {', '.join(parts)}" if parts else "") + \
        f"; {roots} root{'' if roots == 1 else 's'}"
