"""`bbc init`: a commented bbc.yaml for an existing tree of Dockerfiles (bbc/upkeep/adopt decides).

The file is checked as bbc itself loads it before it takes the name bbc.yaml, so what init
writes passes `bbc check` as written; an existing bbc.yaml is never overwritten without
`--force`, and then kept as bbc.yaml.bak (bbc.yaml.bak.1, .2, ... when that is
taken: a backup is never overwritten).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from bbc.adapters import state
from bbc.upkeep import adopt as adopt_mod
from bbc.errors import BbcError
from bbc.model.specs import CONFIG_NAME

HEADER = """\
# bbc.yaml for the Dockerfiles below this folder, written by `bbc init`.
# Comments starting with "?" mark decisions bbc init was not sure of: read those first.
# Then `bbc check` (validation, unpinned bases, drift) and `bbc plan` (what a build would do).
"""


def init(folder: Path, *, registry: str | None = None, to_stdout: bool = False, force: bool = False) -> int:
    folder = Path(folder)
    if not folder.is_dir():
        raise BbcError(f"{folder}: not a folder")
    target = folder / CONFIG_NAME
    if target.exists() and not to_stdout and not force:
        raise BbcError(f"{target} exists; bbc init never overwrites it",
                       tip="`bbc init --print` shows what it would write; --force replaces it (keeping bbc.yaml.bak)")
    adoption = adopt_mod.adopt(folder, registry)
    if not adoption.images:
        raise BbcError(f"{folder}: no Dockerfile below it (Dockerfile, Dockerfile.*, *.Dockerfile)")
    for message in adoption.messages:
        print(f"bbc init: {message}", file=sys.stderr)
    print(f"bbc init: {adoption.summary}", file=sys.stderr)
    text = render(adoption)
    _check(folder, text)
    if to_stdout:
        sys.stdout.write(text)
        return 0
    if target.exists():
        kept = _backup(target)
        print(f"bbc init: kept the old {CONFIG_NAME} as {kept.name}", file=sys.stderr)
    _write(target, text)
    roots = sum(1 for img in adoption.images.values() if img.parent is None)
    unsure = text.count("# ?")
    print(f"wrote {target}: {_count(len(adoption.images), 'image')} ({_count(roots, 'root')})"
          + (f", {_count(unsure, 'decision')} to check (comments starting with '?')" if unsure else ""))
    return 0


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def render(adoption: adopt_mod.Adoption) -> str:
    """bbc.yaml text: registry, then the images parents first, each decision's doubt beside it."""
    lines = [HEADER]
    if adoption.registry:
        lines.append(f"registry: {_scalar(adoption.registry)}\n")
    elif adoption.registry_guess:
        lines.append(f"# ? no --registry given: the namespace the tree's FROM lines name each other in\n"
                     f"registry: {_scalar(adoption.registry_guess)}\n")
    else:
        guess = adopt_mod.sanitize(adoption.root.resolve().name)
        lines.append(f"# ? no --registry given and no FROM line names one: where bbc pushes, set it\n"
                     f"registry: localhost:5000/{guess}\n")
    lines.append("\nimages:\n")
    for img in adoption.images.values():
        lines.append(f"  {img.name}:\n")
        for note in img.notes:
            lines.append(f"    # {note}\n")
        if img.parent is None and img.base and not any(n.startswith("a root") for n in img.notes):
            where = f"{img.file}:{img.from_.line}" if img.from_ else img.file
            lines.append(f"    # a root: builds on {img.base} ({where})\n")
        lines.append(f"    path: {_scalar(img.path)}\n")
        if img.dockerfile != "Dockerfile":
            lines.append(f"    dockerfile: {_scalar(img.dockerfile)}\n")
        if img.unknown_parent:
            lines.append("    # parent: ?\n")
        if img.parent:
            lines.append(f"    parent: {_scalar(img.parent)}\n")
        if img.parent_arg and img.parent_arg != "SOURCE_IMAGE":
            lines.append(f"    parent_arg: {_scalar(img.parent_arg)}\n")
        if img.parent_ref:
            lines.append(f"    parent_ref: {_scalar(img.parent_ref)}   # the FROM reference bbc replaces with the parent's build\n")
        if img.target:
            lines.append(f"    target: {_scalar(img.target)}\n")
        if img.build_args:
            lines.append("    build_args:   # as the build files pass them\n")
            lines.extend(f"      {_scalar(k)}: {_scalar(v)}\n" for k, v in img.build_args.items())
        kept, loops = _uses(adoption, img)
        if kept:
            lines.append("    uses:   # other images of the tree it reads: bbc passes their exact builds\n")
            lines.extend(f"      {_scalar(k)}: {_scalar(v)}\n" for k, v in kept.items())
        for key, image, loop in loops:
            lines.append(f"    # ? uses: {{{key}: {image}}} left out: {loop}\n")
        version = f"    version: {_scalar(img.version)}"
        lines.append(version + (f"   # {img.version_from}\n" if img.version_from else "\n"))
        if img.watch:
            lines.append(f"    watch: [{', '.join(_scalar(w) for w in img.watch)}]\n")
        if img.test_layer:
            lines.append(f"    test:\n      layer: {_scalar(img.test_layer)}\n"
                         "      # command: [...]   what to run in the test image (the image on this layer)\n")
    return "".join(lines)


def _uses(adoption: adopt_mod.Adoption, img: adopt_mod.Image) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """What `img` reads of the tree, as `uses:` (key -> image), and the reads left out because
    bbc could not build them: a link back to what builds on the image (a cycle through
    parent and uses links), or the parent's own build arg."""
    from bbc.model import hierarchy

    needs = {n: tuple(x for x in ((i.parent,) if i.parent else ()) + tuple(i.uses.values()) if x in adoption.images)
             for n, i in adoption.images.items()}
    kept: dict[str, str] = {}
    left: list[tuple[str, str, str]] = []
    for key, image in img.uses.items():
        if img.parent and key in (img.parent_arg or "SOURCE_IMAGE", img.parent_ref):
            continue  # the parent's arg (or reference) read in a builder stage too: the parent carries it
        back = [loop for loop in hierarchy.loops({**needs, img.name: (image,)}) if img.name in loop]
        if back:
            chain = " -> ".join(back[0][back[0].index(img.name):] + back[0][:back[0].index(img.name)] + [img.name])
            left.append((key, image, f"{image} builds on {img.name} ({chain})"))
        else:
            kept[key] = image
    return kept, left


_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./@+-]*(?::[A-Za-z0-9_][A-Za-z0-9_./@+-]*)*\Z")
_SPECIAL = re.compile(r"(?i)(?:y|n|yes|no|on|off|true|false|null|~|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:e[-+]?[0-9]+)?)\Z")


def _scalar(value: str) -> str:
    """`value` as YAML that reads back as the same string: plain when safe, else quoted."""
    if _PLAIN.match(value) and not _SPECIAL.match(value) and ":" not in value[-1:]:
        return value  # names, paths, references, versions: the common case, without a parser
    import yaml

    if value and value.strip() == value and not value[0] in "!&*?|>%@`'\"{[#,-" and ": " not in value \
            and " #" not in value and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def _check(folder: Path, text: str) -> None:
    """Validate `text` as bbc would load it from `folder`: a file init wrote that bbc refuses
    is a bug, and nothing is written."""
    from bbc.errors import ConfigError
    from bbc.config.validate import validate_tracked
    from bbc.config.yamlnodes import YamlProblem, load as load_yaml

    try:
        doc = load_yaml(text)
        validate_tracked(folder.resolve() / CONFIG_NAME, doc.value, doc.lines, doc.raw)
    except (ConfigError, YamlProblem) as exc:
        raise BbcError("bbc init made a bbc.yaml that bbc refuses (this is a bug, please report it):\n"
                       + str(exc), tip="nothing was written; `bbc init --print` shows the file") from exc


def _backup(target: Path) -> Path:
    """Keep `target` under the first free name of bbc.yaml.bak, bbc.yaml.bak.1, .2, ...: a
    backup is never overwritten (a second `--force` would lose the hand-written file). A hard
    link claims the name only if it is free, so two runs at once cannot take the same one."""
    for n in range(10_000):
        backup = target.with_name(f"{target.name}.bak" + (f".{n}" if n else ""))
        try:
            os.link(target, backup)
        except FileExistsError:
            continue
        except OSError as exc:  # a filesystem without hard links: copy to a name made only if free
            try:
                with open(backup, "xb") as f:
                    f.write(target.read_bytes())
            except FileExistsError:
                continue
            except OSError:
                raise BbcError(f"{backup}: cannot keep the old {target.name} there ({exc.strerror})",
                               tip="nothing was written") from None
        return backup
    raise BbcError(f"{target.parent}: 10,000 backups of {target.name} already; remove some",
                   tip="nothing was written")


def _write(target: Path, text: str) -> None:
    state.atomic_write(target, text, mode=0o644)