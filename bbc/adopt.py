"""Reading an image tree bbc did not write: every Dockerfile below a folder, what each builds
on, and the bbc.yaml decisions that follow (`bbc init`), with a reason for each decision that
was not certain. `bbc check` asks the same matcher whether a Dockerfile still names the parent
bbc.yaml gives it (drift).

Links come from FROM lines only, as the builder reads them (bbc/dockerfile.py): the final
stage's FROM, through stage aliases, global ARG defaults and `--platform`. A reference links
to an image folder when its repository path names that folder (with or without registry and
owner), never when it is pinned by digest (a published image: docs and examples build on
those).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bbc.model import dockerfile
from bbc.errors import BbcError

TEST_LAYER = "Dockerfile.test"
# vendored code, caches and environments: their Dockerfiles are somebody else's images
SKIP_FOLDERS = frozenset({"node_modules", "vendor", "vendored", "third_party", "third-party", "site-packages",
                          "__pycache__", "venv", "env"})
# stage names that are not what a Dockerfile ships when they come last
_NOT_SHIPPED = frozenset({"test", "tests", "testing", "dev", "devel", "development", "debug", "lint", "ci"})
_EXAMPLE_FOLDERS = frozenset({"doc", "docs", "example", "examples", "sample", "samples", "demo", "demos"})
_NAME_OK = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*\Z")
_VERSION = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+][0-9A-Za-z.+-]*)?\Z")
_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?\Z")
_ONE_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))\Z")


def is_dockerfile(name: str) -> bool:
    """`Dockerfile`, `Dockerfile.*`, `*.Dockerfile`, `*.dockerfile` (not `.dockerignore` files)."""
    if name.endswith(".dockerignore"):
        return False
    return name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith((".Dockerfile", ".dockerfile"))


def find(root: Path) -> list[str]:
    """Every Dockerfile below `root` as a posix path relative to it, sorted; hidden, vendored
    and environment folders skipped, and in a git work tree what `.gitignore` ignores (unless
    it ignores the whole folder: then the folder is read as if outside git)."""
    from bbc.adapters import git

    listed = git.visible_files(root)
    if listed:  # ls-files runs in `root` and answers relative to it; none: all of it ignored
        return [rel for rel in listed if is_dockerfile(rel.rpartition("/")[2]) and not any(
            part.startswith(".") or part in SKIP_FOLDERS for part in rel.split("/")[:-1])]
    out: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_FOLDERS)
        rel = os.path.relpath(folder, root)
        for name in files:
            if is_dockerfile(name):
                out.append(name if rel == "." else f"{Path(rel).as_posix()}/{name}")
    return sorted(out)


# -- what a Dockerfile builds on ---------------------------------------------------------

@dataclass(frozen=True)
class From:
    """The FROM the shipped stage starts from (through earlier stages)."""

    line: int
    raw: str  # as written
    image: str  # expanded with the global ARG defaults ("" when a variable has none)
    arg: str | None  # the one global ARG the reference is (`FROM $X`, `FROM ${X:-d}`)
    stages: int
    target: str | None  # a stage to build when the last one is not what ships
    target_why: str = ""


def shipped_from(text: str, target: str | None = None) -> From | None:
    """The FROM of the stage the Dockerfile ships (`target`'s when given; else the last, or
    the one before a last stage named like `test`), None without any FROM."""
    stages = dockerfile.stages(text)
    if not stages:
        return None
    index, why = len(stages) - 1, ""
    last = stages[-1]
    if target is not None:
        index = next((s.index for s in stages if s.alias == target.lower()), index)
        target = None  # given, not decided here
    elif last.alias in _NOT_SHIPPED and len(stages) > 1:
        shipped = [s for s in stages[:-1] if s.alias not in _NOT_SHIPPED]
        if shipped:
            index = shipped[-1].index
            target = shipped[-1].alias or str(index)
            why = f"the last stage ('{last.alias}') looks like a {last.alias} stage; built to stage '{target}'"
    while stages[index].from_stage is not None:
        index = stages[index].from_stage  # type: ignore[assignment]
    stage = stages[index]
    m = _ONE_VAR.match(stage.raw)
    arg = (m.group(1) or m.group(2)) if m else None
    if arg is not None and arg not in dockerfile.global_args(text):
        arg = None
    return From(stage.line, stage.raw, stage.image, arg, len(stages), target, why)


def version_label(text: str) -> tuple[str, int] | None:
    """(value, line) of `LABEL org.opencontainers.image.version=` (or `version=`), the last
    one written, with global ARG defaults expanded."""
    values = {k: v for k, (_, v) in dockerfile.global_args(text).items() if v is not None}
    found: tuple[str, int] | None = None
    for line, word, rest in dockerfile.instructions(text):
        if word == "ARG":
            continue
        if word != "LABEL":
            continue
        for key, value in dockerfile.assignments(rest):
            if key.strip("\"'") in ("org.opencontainers.image.version", "version") and value:
                found = (dockerfile.expand(value, values)[0], line)
    return found


def semantic(value: str) -> tuple[str, bool]:
    """(a semantic version for `value`, whether it is exactly what was written)."""
    if _SEMVER.match(value):
        return value, True
    m = _VERSION.match(value)
    if m:
        return f"{int(m.group(1))}.{int(m.group(2) or 0)}.{int(m.group(3) or 0)}", False
    return "0.1.0", False


# -- which image a reference names ----------------------------------------------------------

@dataclass(frozen=True)
class Match:
    image: str | None  # the image it links to
    candidates: tuple[str, ...]  # when several fit equally
    under_registry: bool
    pinned: bool
    namespace: str  # the repository path before the last component ("" for `python`)


def _components(folder: str) -> list[str]:
    return [] if folder in ("", ".") else folder.split("/")


class Matcher:
    """Names image folders by repository paths: `localhost:5000/acme/python:1`, `acme/python`
    and `python` all name the folder `.../python` (or an image named python)."""

    def __init__(self, images: Mapping[str, str], registry: str | None = None) -> None:
        self.images = dict(images)  # name -> folder (posix, relative)
        self.registry = registry.rstrip("/") if registry else None
        self.by_last: dict[str, set[str]] = {}
        for name, folder in self.images.items():
            self.by_last.setdefault(name, set()).add(name)
            parts = _components(folder)
            if parts:
                self.by_last.setdefault(parts[-1].lower(), set()).add(name)

    def match(self, reference: str, *, exclude: str | None = None) -> Match | None:
        """None when `reference` is not an image reference at all (empty, a variable left)."""
        try:
            ref = dockerfile.parse_reference(reference)
        except ValueError:
            return None
        repo = ref.name
        under = bool(self.registry and (repo + "/").startswith(self.registry + "/"))
        parts = repo.split("/")
        namespace = "/".join(parts[:-1])
        found = self.by_last.get(parts[-1], set()) - {exclude}
        if len(found) > 1:  # the longest common tail of repository path and folder wins
            def tail(name: str) -> int:
                folder = _components(self.images[name])
                n = 0
                while n < min(len(folder), len(parts)) and folder[-1 - n].lower() == parts[-1 - n]:
                    n += 1
                return n + (1 if name == parts[-1] else 0)

            best = max(tail(n) for n in found)
            found = {n for n in found if tail(n) == best}
            # documentation and examples build on the tree; they are not what it builds on
            ours = {n for n in found if not set(_components(self.images[n])) & _EXAMPLE_FOLDERS}
            found = ours or found
        image = next(iter(found)) if len(found) == 1 else None
        return Match(image, tuple(sorted(found)) if len(found) > 1 else (), under, ref.pinned, namespace)


# -- the decisions -------------------------------------------------------------------------

@dataclass
class Image:
    """One image as bbc init will write it."""

    name: str
    path: str  # folder, posix, relative to the tree ("." for the tree itself)
    dockerfile: str = "Dockerfile"
    parent: str | None = None
    parent_arg: str | None = None  # written only when not SOURCE_IMAGE
    parent_ref: str | None = None
    target: str | None = None
    test_layer: str | None = None
    version: str = "0.1.0"
    version_from: str = ""  # where the version came from, for its comment
    base: str | None = None  # the external base of a root, for its comment
    watch: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # uncertain decisions: comments in the file
    from_: From | None = None
    unknown_parent: bool = False

    @property
    def file(self) -> str:
        return self.dockerfile if self.path == "." else f"{self.path}/{self.dockerfile}"


@dataclass
class Adoption:
    root: Path
    registry: str | None
    images: dict[str, Image]  # parents first, then by path
    messages: list[str]  # located, one per problem or uncertain decision
    registry_guess: str | None = None


def _sanitize(word: str) -> str:
    out = re.sub(r"[^a-z0-9._-]+", "-", word.lower())
    out = re.sub(r"[._-]*([._-])[._-]*", r"\1", out).strip("._-")
    return out or "image"


def _variant_suffix(file: str) -> str:
    if file.startswith("Dockerfile."):
        return file[len("Dockerfile."):]
    return file.rsplit(".", 1)[0]


def adopt(root: Path, registry: str | None = None) -> Adoption:
    """Read every Dockerfile below `root` and decide the images of a bbc.yaml for them.
    BbcError (located, nothing decided) for a cycle."""
    root = Path(root)
    files = find(root)
    by_folder: dict[str, list[str]] = {}
    for rel in files:
        folder, _, name = rel.rpartition("/")
        by_folder.setdefault(folder or ".", []).append(name)
    messages: list[str] = []
    texts: dict[str, str] = {}

    def read(rel: str) -> str:
        if rel not in texts:
            try:
                texts[rel] = (root / rel).read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise BbcError(f"{rel}: cannot read it: {exc.strerror or exc}") from exc
        return texts[rel]

    # 1. one image per Dockerfile that is not a test layer; a name from its folder
    images: list[Image] = []
    for folder in sorted(by_folder):
        names = by_folder[folder]
        builds = [n for n in names if n != TEST_LAYER]
        if not builds:
            messages.append(f"{folder}/{TEST_LAYER}: a test layer with no Dockerfile beside it; left out")
            continue
        main = "Dockerfile" if "Dockerfile" in builds else (builds[0] if len(builds) == 1 else None)
        for file in builds:
            img = Image(name="", path=folder, dockerfile=file)
            if TEST_LAYER in names:
                img.test_layer = TEST_LAYER
            img.name = "" if file == main else _variant_suffix(file)  # a suffix for now
            images.append(img)

    folders = {img.path for img in images}

    def enclosing(folder: str) -> str | None:
        parts = _components(folder)
        for n in range(len(parts) - 1, -1, -1):
            above = "/".join(parts[:n]) or "."
            if above in folders and above != folder:
                return above
        return None

    # 2. names: the folder's (the enclosing image's first for variants in subfolders), the
    # Dockerfile's suffix for a second one in a folder; by path where folders share a name
    base_name: dict[str, str] = {}
    for folder in sorted(folders, key=lambda f: len(_components(f))):
        up = enclosing(folder)
        own = _sanitize(root.resolve().name if folder == "." else _components(folder)[-1])
        base_name[folder] = f"{base_name[up]}-{own}" if up is not None else own
    suffixes = {id(img): (f"-{_sanitize(img.name)}" if img.name else "") for img in images}
    for img in images:
        img.name = base_name[img.path] + suffixes[id(img)]
    taken: dict[str, list[Image]] = {}
    for img in images:
        taken.setdefault(img.name, []).append(img)
    for name, same in sorted(taken.items()):
        if len(same) < 2:
            continue
        for img in same:
            img.name = "-".join(_sanitize(p) for p in _components(img.path) or [name]) + suffixes[id(img)]
        where = ", ".join(img.file for img in same)
        renamed = ", ".join(img.name for img in same)
        for img in same:
            img.notes.append(f"? {where} would all be named '{name}': named by their paths ({renamed})")
        messages.append(f"{same[0].file}: {len(same)} Dockerfiles would get the name '{name}' ({where}); "
                        f"named {renamed} instead")
    counted = Counter(img.name for img in images)
    dupes = sorted(n for n, k in counted.items() if k > 1)
    if dupes:
        raise BbcError(f"cannot give every image a unique name: {', '.join(dupes)}",
                       tip="nothing was written; rename a folder, or write bbc.yaml by hand")
    for img in images:
        if not _NAME_OK.match(img.name):
            raise BbcError(f"{img.file}: cannot make an image name of its folder ({img.name!r})",
                           tip="nothing was written; rename the folder, or write bbc.yaml by hand")

    by_name = {img.name: img for img in images}

    # 3. variants in subfolders that the enclosing image copies from are part of its build
    for img in list(images):
        up = enclosing(img.path)
        if up is None:
            continue
        sub = img.path[len(up) + 1:] if up != "." else img.path
        copier = next((o for o in images if o.path == up and _copies_from(read(o.file), sub, img.dockerfile)), None)
        if copier is not None:
            copier.watch.append(img.file)
            images.remove(img)
            del by_name[img.name]
            messages.append(f"{img.file}: part of {copier.name}'s build ({copier.file} copies {sub}/): "
                            f"a watch of {copier.name}, not an image")
            copier.notes.append(f"{img.file} is in a subfolder {copier.file} copies: watched, not an image")
        else:
            img.notes.append(f"a variant in a subfolder of {by_name_path(images, up)}: its own image "
                             f"({up}/ does not copy {sub}/ or its Dockerfile)")
    matcher = Matcher({img.name: img.path for img in images}, registry)

    # 4. parents from FROM lines
    namespaces: dict[str, int] = {}
    links: dict[str, tuple[Image, Match]] = {}
    for img in images:
        text = read(img.file)
        shipped = shipped_from(text)
        img.from_ = shipped
        label = version_label(text)
        if label is not None:
            version, exact = semantic(label[0])
            img.version = version
            img.version_from = f"LABEL at {img.file}:{label[1]}"
            if not exact:
                img.notes.append(f"? the version label at {img.file}:{label[1]} reads {label[0]!r}: written as {version}")
        if shipped is None:
            messages.append(f"{img.file}: no FROM line; left as a root")
            img.notes.append("? its Dockerfile has no FROM line")
            continue
        if shipped.target:
            img.target = shipped.target
            img.notes.append(f"? {shipped.target_why} ({img.file}:{shipped.line})")
        where = f"{img.file}:{shipped.line}"
        if not shipped.image or shipped.image == "scratch":
            if not shipped.image:
                img.unknown_parent = True
                messages.append(f"{where}: FROM {shipped.raw} has no default to tell the parent by; "
                                "left as a root: set its parent in bbc.yaml")
                img.notes.append(f"? FROM {shipped.raw} ({where}) names no image without a build arg: set parent")
            else:  # shipped on scratch: a builder stage may still take the parent (`COPY --from`)
                for stage in dockerfile.stages(text):
                    if not stage.image and stage.line != shipped.line:
                        img.unknown_parent = True
                        at = f"{img.file}:{stage.line}"
                        messages.append(f"{at}: a builder stage is FROM {stage.raw}, which has no default; the "
                                        "image ships on scratch: if that arg is the parent, set parent in bbc.yaml")
                        img.notes.append(f"? a builder stage is FROM {stage.raw} ({at}) with no default: if it "
                                         "is the parent, set parent")
                        break
            continue
        m = matcher.match(shipped.image, exclude=img.name)
        if m is None:
            messages.append(f"{where}: FROM {shipped.raw} is not an image reference ({shipped.image!r}); left as a root")
            img.notes.append(f"? FROM {shipped.raw} ({where}) could not be read as a reference")
            continue
        if m.pinned:
            img.base = shipped.image
            if m.image or m.candidates:
                img.notes.append(f"a root on a published, pinned image ({where}), not a child of "
                                 f"{m.image or ' or '.join(m.candidates)}")
            continue
        if m.candidates:
            img.base = shipped.image
            messages.append(f"{where}: FROM {shipped.raw} could name {', '.join(m.candidates)}; left as a root: "
                            "set its parent in bbc.yaml")
            img.notes.append(f"? FROM {shipped.raw} ({where}) could name {' or '.join(m.candidates)}: set parent")
            continue
        if m.image is None:
            img.base = shipped.image
            if m.under_registry:
                messages.append(f"{where}: {shipped.image} is under --registry but names no image folder; "
                                "left as a root with it as an external base")
                img.notes.append(f"? {shipped.image} ({where}) is under the registry but names no image folder")
            continue
        links[img.name] = (img, m)
        namespaces[m.namespace] = namespaces.get(m.namespace, 0) + 1
        img.parent = m.image
        if shipped.arg is not None:
            img.parent_arg = shipped.arg
        else:
            img.parent_ref = shipped.raw

    # 5. how sure: under --registry, through an ARG, or under an owner other links share
    # (`acme/python` beside `quay.io/acme/base`)
    owners: dict[str, int] = {}
    for ns, n in namespaces.items():
        if ns:
            owners[ns.rsplit("/", 1)[-1]] = owners.get(ns.rsplit("/", 1)[-1], 0) + n
    for name, (img, m) in links.items():
        shipped = img.from_
        if shipped is None:
            continue
        owner = m.namespace.rsplit("/", 1)[-1]
        sure = m.under_registry or shipped.arg is not None or (owner and owners[owner] > 1)
        if not sure:
            img.notes.append(f"? linked by name: FROM {shipped.raw} ({img.file}:{shipped.line}) names folder "
                             f"{by_name[m.image or ''].path}; if it means a published image, delete parent")
            messages.append(f"{img.file}:{shipped.line}: FROM {shipped.raw} taken to name {m.image} by its name "
                            "alone (check it)")

    _refuse_cycles(by_name)
    ordered = _ordered(by_name)
    guess = registry or _registry_guess(namespaces)
    return Adoption(root, registry, ordered, messages, guess)


def by_name_path(images: Iterable[Image], folder: str) -> str:
    return next((i.name for i in images if i.path == folder and i.dockerfile == "Dockerfile"),
                next((i.name for i in images if i.path == folder), folder))


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


def _refuse_cycles(images: Mapping[str, Image]) -> None:
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


def _from_where(img: Image) -> str:
    shipped = img.from_
    return f"{img.file}:{shipped.line}" if shipped is not None else img.file


def _ordered(images: Mapping[str, Image]) -> dict[str, Image]:
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


def _registry_guess(namespaces: Mapping[str, int]) -> str | None:
    """The namespace most links share (`quay.io/jupyter`, `acme`): where the tree's images live."""
    named = {ns: n for ns, n in namespaces.items() if ns}
    if not named:
        return None
    return max(sorted(named), key=lambda ns: (named[ns], ns.count("/"), len(ns)))
