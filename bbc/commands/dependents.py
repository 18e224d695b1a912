"""`bbc dependents` and `bbc ancestry`: who builds on an image (as child or, through `uses:`,
as user), and what a built image is built on and with.

`dependents` reads the one graph (plus the `projects` of bbc.yaml); `--built-on` and
`ancestry` read the labels of the images on the engine, so they tell what was really
built, not what bbc.yaml says today.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bbc.model import labels, refs
from bbc.inside import lineage
from bbc.run import report
from bbc.config import ProjectSpec
from bbc.adapters.engine import Engine, ImageInfo
from bbc.model.hierarchy import Hierarchy
from bbc.model.labels import IMAGE as IMAGE_LABEL


def below(hierarchy: Hierarchy, image: str, *, transitive: bool) -> list[str]:
    """IMAGE's children and users (`uses:`), or with `transitive` every image building on it
    through either kind of link, in graph order."""
    hierarchy.check_names([image])
    if transitive:
        return hierarchy.sort(hierarchy.descendants(image))
    return hierarchy.dependents(image)


def projects_using(hierarchy: Hierarchy, images: Iterable[str]) -> list[ProjectSpec]:
    """The projects of bbc.yaml that build on any of `images`, in declaration order."""
    wanted = set(images)
    return [p for p in hierarchy.config.projects.values() if wanted.intersection(p.images)]


def dependents(hierarchy: Hierarchy, image: str, *, transitive: bool = False, fmt: str = "table") -> int:
    names = below(hierarchy, image, transitive=transitive)
    projects = projects_using(hierarchy, [image, *names])
    base_depth = hierarchy.depth(image)
    if fmt == "json":
        report.dump_json({
            "image": image,
            "version": hierarchy[image].version,
            "transitive": transitive,
            "images": [{"image": n, "version": hierarchy[n].version, "parent": hierarchy.parent(n),
                        "uses": {u.key: u.image for u in hierarchy[n].uses},
                        "depth": hierarchy.depth(n) - base_depth} for n in names],
            "projects": [{"project": p.name, "repo": p.repo, "file": p.file, "images": list(p.images)}
                         for p in projects],
        })
        return 0
    what = "descendants" if transitive else "children" if not hierarchy.users(image) else "children and users"
    if names:
        uses = any(hierarchy[n].uses for n in names)
        rows = [(n, hierarchy[n].version, hierarchy.parent(n) or "-",
                 *([", ".join(f"{u.image} ({u.key})" for u in hierarchy[n].uses) or "-"] if uses else []))
                for n in names]
        report.table(("image", "version", "parent", *(["uses"] if uses else [])), rows,
                     title=f"{what} of {image} {hierarchy[image].version}")
    else:
        print(f"{image} has no {what}")
    if projects:
        report.table(("project", "repo", "uses"), [(p.name, p.repo, ", ".join(p.images)) for p in projects],
                     title="projects")
    else:
        print("no projects in bbc.yaml build on " + (f"{image} or its {what}" if names else image))
    return 0


def ancestry(engine: Engine, ref: str, *, fmt: str = "table") -> int:
    levels = lineage.ancestry(ref, engine.inspect)
    if fmt == "json":
        report.dump_json([{"image": lv.image, "platform": lv.platform or None, "version": lv.version, "id": lv.id,
                           "tags": list(lv.tags), "present": lv.present, "via": lv.via or None} for lv in levels])
        return 0
    rows = [(lv.image + (f" ({lv.platform})" if lv.platform else ""), lv.version,
             _short(lv.id) + ("" if lv.present else " (not on this engine)"), lv.via or "-") for lv in levels]
    report.table(("image", "version", "id", "via"), rows)
    return 0


def built_on(hierarchy: Hierarchy, connect: Callable[[], Engine], image: str, expression: str, *,
             fmt: str = "table") -> int:
    """Local builds whose ancestry holds `image` at a version in `expression`.

    The name and the range are checked before the engine is asked (`connect`).
    """
    hierarchy.check_names([image])
    matches = lineage.version_matcher(expression)
    engine = connect()
    local = engine.images_with_label(IMAGE_LABEL)
    by_id: dict[str, ImageInfo | None] = {info.id: info for info in local}

    def lookup(image_id: str) -> ImageInfo | None:
        # an untagged parent of another image is hidden from the image list: ask for it
        if image_id not in by_id:
            by_id[image_id] = engine.inspect(image_id)
        return by_id[image_id]

    # Image names repeat across hierarchies on one engine (and identical builds are shared
    # between them), so the images listed are those tagged in this hierarchy's registry;
    # untagged leftovers of earlier builds are nobody's reference and are left out.
    prefix = hierarchy.config.registry + "/"
    found: list[tuple[ImageInfo, lineage.Level]] = []
    for info in local:
        if not any(t.startswith(prefix) for t in info.tags):
            continue
        # the first level is the image itself: "built on" means strictly above it
        for level in lineage.builds_on(info, lookup)[1:]:
            if level.image == image and matches(level.version):
                found.append((info, level))
                break
    found.sort(key=lambda f: (_position(hierarchy, f[0]), f[0].labels.get(labels.VERSION, "")))
    rows: list[dict[str, Any]] = []
    for info, level in found:
        name = info.labels.get(IMAGE_LABEL, "?")
        version = info.labels.get(labels.VERSION, "?")
        # current: what the version tag of bbc.yaml's version points at on this engine
        current = name in hierarchy.config.images and \
            f"{hierarchy.config.ref(name)}:{refs.version_tag(hierarchy[name].version)}" in info.tags
        rows.append({"image": name, "version": version, "id": info.id,
                     "tags": [t for t in info.tags if t.startswith(prefix)],
                     "current": current, "on": {"image": image, "version": level.version, "id": level.id}})
    if fmt == "json":
        report.dump_json(rows)
        return 0
    if not rows:
        print(f"no local image is built on {image} {expression}")
        return 0
    report.table(
        ("image", "version", "id", f"{image}", "current", "tags"),
        [(r["image"], r["version"], _short(r["id"]), r["on"]["version"], "yes" if r["current"] else "no",
          ", ".join(t.rsplit("/", 1)[-1] for t in r["tags"] if t.startswith(prefix))) for r in rows],
        title=f"local images built on {image} {expression}",
    )
    return 0


def _position(hierarchy: Hierarchy, info: ImageInfo) -> int:
    name = info.labels.get(IMAGE_LABEL, "")
    return hierarchy.order.index(name) if name in hierarchy.config.images else len(hierarchy.order)


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]
