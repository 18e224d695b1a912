"""Which Dockerfiles are images and what they are called: one image per Dockerfile that is not
a test layer, a template or a test fixture (unless a build file builds it); named by its
bake target or compose service, else by its folder (the enclosing image's name first for a
variant in a subfolder, the Dockerfile's suffix for a second one in a folder, the path where
folders share a name). A variant folder the enclosing image copies whole is part of that build:
a watch, not an image."""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from bbc.model import dockerfile
from bbc.errors import BbcError
from bbc.upkeep.adopt.records import Build
from bbc.upkeep.adopt.tree import TEST_LAYER, Tree, is_fixture, is_template

NAME_OK = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*\Z")


@dataclass(frozen=True)
class Draft:
    """An image before its parent is decided."""

    name: str
    file: str  # the Dockerfile, relative to the tree
    test_layer: str | None = None  # relative to the tree
    builds: tuple[Build, ...] = ()  # what the build files say about it, surest first
    watch: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def folder(self) -> str:
        return posixpath.dirname(self.file) or "."

    @property
    def dockerfile(self) -> str:
        return posixpath.basename(self.file)


def sanitize(word: str) -> str:
    out = re.sub(r"[^a-z0-9._-]+", "-", word.lower())
    out = re.sub(r"[._-]*([._-])[._-]*", r"\1", out).strip("._-")
    return out or "image"


def _components(folder: str) -> list[str]:
    return [] if folder in ("", ".") else folder.split("/")


def _variant_suffix(file: str) -> str:
    if file.startswith("Dockerfile."):
        return file[len("Dockerfile."):]
    return file.rsplit(".", 1)[0]


def _left_out(rel: str, built: bool) -> str | None:
    """Why a Dockerfile is not an image, or None when it is one."""
    if built:
        return None
    if is_template(rel):
        return f"{rel}: a template no build file builds: not an image"
    if is_fixture(rel):
        return f"{rel}: a test fixture no build file builds: not an image"
    return None


def _by_folder(tree: Tree, builds: Mapping[str, Sequence[Build]]) -> tuple[dict[str, list[str]], list[str]]:
    folders: dict[str, list[str]] = {}
    messages: list[str] = []
    for rel in tree.dockerfiles:
        why = _left_out(rel, rel in builds)
        if why is not None:
            messages.append(why)
            continue
        folder, _, name = rel.rpartition("/")
        folders.setdefault(folder or ".", []).append(name)
    return folders, messages


def _drafts(folders: Mapping[str, list[str]], builds: Mapping[str, Sequence[Build]]) -> tuple[list[Draft], list[str]]:
    """One draft per Dockerfile, named by its variant suffix for now ("" for the folder's main one)."""
    out: list[Draft] = []
    messages: list[str] = []
    for folder in sorted(folders):
        names = folders[folder]
        images = [n for n in names if n != TEST_LAYER]
        if not images:
            messages.append(f"{folder}/{TEST_LAYER}: a test layer with no Dockerfile beside it; left out")
            continue
        main = "Dockerfile" if "Dockerfile" in images else (images[0] if len(images) == 1 else None)
        layer = (TEST_LAYER if folder == "." else f"{folder}/{TEST_LAYER}") if TEST_LAYER in names else None
        for file in images:
            rel = file if folder == "." else f"{folder}/{file}"
            suffix = "" if file == main else _variant_suffix(file)
            out.append(Draft(suffix, rel, layer, tuple(builds.get(rel, ()))))
    return out, messages


def _folder_names(root: str, drafts: Sequence[Draft]) -> list[Draft]:
    folders = {d.folder for d in drafts}

    def enclosing(folder: str) -> str | None:
        parts = _components(folder)
        for n in range(len(parts) - 1, -1, -1):
            above = "/".join(parts[:n]) or "."
            if above in folders and above != folder:
                return above
        return None

    base: dict[str, str] = {}
    for folder in sorted(folders, key=lambda f: len(_components(f))):
        up = enclosing(folder)
        own = sanitize(root if folder == "." else _components(folder)[-1])
        base[folder] = f"{base[up]}-{own}" if up is not None else own
    return [replace(d, name=base[d.folder] + (f"-{sanitize(d.name)}" if d.name else "")) for d in drafts]


def _unique(drafts: list[Draft], suffixes: Mapping[str, str]) -> tuple[list[Draft], list[str]]:
    """Drafts that would share a name, named by their paths instead (said, with a `?`)."""
    taken: dict[str, list[Draft]] = {}
    for d in drafts:
        taken.setdefault(d.name, []).append(d)
    renamed: dict[str, Draft] = {}
    messages: list[str] = []
    for name, same in sorted(taken.items()):
        if len(same) < 2:
            continue
        new = {d.file: "-".join(sanitize(p) for p in _components(d.folder) or [name]) + suffixes[d.file]
               for d in same}
        where = _some(d.file for d in same)
        names = _some(new[d.file] for d in same)
        for d in same:
            note = f"? {where} would all be named '{name}': named by their paths ({names})"
            renamed[d.file] = replace(d, name=new[d.file], notes=d.notes + (note,))
        messages.append(f"{same[0].file}: {len(same)} Dockerfiles would get the name '{name}' ({where}); "
                        f"named {names} instead")
    return [renamed.get(d.file, d) for d in drafts], messages


def _some(words: Iterable[str], shown: int = 3) -> str:
    """The first few of a list, and how many more."""
    found = list(words)
    more = len(found) - shown
    return ", ".join(found[:shown]) + (f" and {more} more" if more > 1 else f", {found[-1]}" if more == 1 else "")


def _build_names(drafts: list[Draft]) -> list[Draft]:
    """The bake target or compose service a Dockerfile is built as, where that name is its alone."""
    wanted = {d.file: sanitize(d.builds[0].name) for d in drafts
              if d.builds and d.builds[0].name and len({b.name for b in d.builds if b.name}) == 1}
    counts = Counter(wanted.values())
    taken = {d.name for d in drafts if d.file not in wanted}
    return [replace(d, name=wanted[d.file]) if d.file in wanted and counts[wanted[d.file]] == 1
            and wanted[d.file] not in taken and NAME_OK.match(wanted[d.file]) else d for d in drafts]


def _check(drafts: Sequence[Draft]) -> None:
    dupes = sorted(n for n, k in Counter(d.name for d in drafts).items() if k > 1)
    if dupes:
        raise BbcError(f"cannot give every image a unique name: {', '.join(dupes)}",
                       tip="nothing was written; rename a folder, or write bbc.yaml by hand")
    for d in drafts:
        if not NAME_OK.match(d.name):
            raise BbcError(f"{d.file}: cannot make an image name of its folder ({d.name!r})",
                           tip="nothing was written; rename the folder, or write bbc.yaml by hand")


def name(tree: Tree, builds: Mapping[str, Sequence[Build]]) -> tuple[list[Draft], list[str]]:
    """The images of the tree, named, and a located line for each Dockerfile left out or renamed.
    BbcError (nothing decided) when names cannot be made unique."""
    folders, messages = _by_folder(tree, builds)
    drafts, more = _drafts(folders, builds)
    suffixes = {d.file: f"-{sanitize(d.name)}" if d.name else "" for d in drafts}
    named, renamed = _unique(_folder_names(tree.root.resolve().name, drafts), suffixes)
    named = _build_names(named)
    _check(named)
    kept, folded = _fold_copied_variants(tree, named)
    return kept, messages + more + renamed + folded


def _fold_copied_variants(tree: Tree, drafts: list[Draft]) -> tuple[list[Draft], list[str]]:
    """Variants in subfolders that the enclosing image copies whole become its watches."""
    by_folder: dict[str, list[Draft]] = {}
    for d in drafts:
        by_folder.setdefault(d.folder, []).append(d)
    out = {d.file: d for d in drafts}
    messages: list[str] = []
    for d in drafts:
        up = _enclosing_image_folder(d.folder, by_folder)
        if up is None or d.builds:
            continue
        sub = d.folder[len(up) + 1:] if up != "." else d.folder
        copier = next((o for o in by_folder[up] if _copies_from(tree.read(o.file), sub, d.dockerfile)), None)
        if copier is None:
            main = next((o.name for o in by_folder[up] if o.dockerfile == "Dockerfile"), by_folder[up][0].name)
            out[d.file] = replace(d, notes=d.notes + (f"a variant in a subfolder of {main}: its own image "
                                                      f"({up}/ does not copy {sub}/ or its Dockerfile)",))
            continue
        del out[d.file]
        holder = out[copier.file]
        out[copier.file] = replace(holder, watch=holder.watch + (d.file,), notes=holder.notes + (
            f"{d.file} is in a subfolder {copier.file} copies: watched, not an image",))
        messages.append(f"{d.file}: part of {copier.name}'s build ({copier.file} copies {sub}/): "
                        f"a watch of {copier.name}, not an image")
    return list(out.values()), messages


def _enclosing_image_folder(folder: str, by_folder: Mapping[str, object]) -> str | None:
    parts = _components(folder)
    for n in range(len(parts) - 1, -1, -1):
        above = "/".join(parts[:n]) or "."
        if above in by_folder and above != folder:
            return above
    return None


def _copies_from(text: str, sub: str, file: str) -> bool:
    """Whether a COPY/ADD (not --from another stage) of `text` takes folder `sub` whole, or the
    Dockerfile `file` in it: then that Dockerfile is data of this build, not an image. One file
    copied out of a variant's folder (a shared script) does not make the variant data."""
    wanted = {sub, sub + "/", sub + "/.", sub + "/*", f"{sub}/{file}"}
    for _, word, rest in dockerfile.instructions(text):
        if word not in ("COPY", "ADD"):
            continue
        words = rest.split()
        if any(w.startswith("--from") for w in words):
            continue
        sources = [w.strip("\"',[]") for w in words if not w.startswith("--")][:-1]
        if any((source[2:] if source.startswith("./") else source) in wanted for source in sources):
            return True
    return False
