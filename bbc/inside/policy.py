"""The policy gates of bbc.yaml (`policy:`), held against a built image: warnings after a build,
refusals at release. Every message names the image, the layer (index and Dockerfile step) and
the file; only the image's own layers are held to a gate (its parent was held to it already).
"""

from __future__ import annotations

from dataclasses import dataclass

from bbc.plan import bases
from bbc.inside import ownership
from bbc.adapters.engine import Engine
from bbc.model.hierarchy import Hierarchy
from bbc.inside.ownership import Inside

ROOT_USERS = ("", "0", "root", "0:0", "root:root")


@dataclass(frozen=True)
class Violation:
    image: str
    gate: str  # the policy key
    message: str
    refuse: bool = True  # at release; pinned_bases: warn only warns

    def __str__(self) -> str:
        return f"{self.image}: policy.{self.gate}: {self.message}"


def check(hierarchy: Hierarchy, inside: Inside) -> list[Violation]:
    """Every gate of bbc.yaml's policy that the image's current build breaks."""
    policy = hierarchy.config.policy
    name = inside.image
    spec = hierarchy[name]
    dockerfile = f"{spec.rel_path}/{spec.dockerfile}"
    content = inside.content
    own = inside.own_layers()
    out: list[Violation] = []

    def where(i: int) -> str:
        return f"layer {i} ({content.layers[i].created_by[:80]})"

    if policy.non_root and content.user.strip() in ROOT_USERS:
        out.append(Violation(name, "non_root", f"image config: runs as {content.user or 'root (no USER)'}; "
                                               f"add `USER <non-root>` to {dockerfile}"))
    if policy.no_package_caches:
        for i in own:
            kept = _surviving(inside, i, content.layers[i].caches)
            if kept:
                more = f" and {len(kept) - 3} more" if len(kept) > 3 else ""
                out.append(Violation(name, "no_package_caches", f"{where(i)}: keeps {', '.join(kept[:3])}{more} "
                                                                f"(clean up in the same RUN in {dockerfile})"))
    if policy.no_secrets:
        for i in own:
            for hit in content.layers[i].secrets:
                gone = "" if _surviving(inside, i, (hit.path,)) else ", deleted in a later layer but still in this one"
                out.append(Violation(name, "no_secrets", f"{where(i)}: {hit.path}: {hit.kind}{gone} "
                                                         f"(use a build secret: RUN --mount=type=secret in {dockerfile})"))
    own_size = sum(content.layers[i].size for i in own)
    total = sum(layer.size for layer in content.layers)
    if policy.max_own_size is not None and own_size > policy.max_own_size:
        big = max(own, key=lambda i: content.layers[i].size)
        out.append(Violation(name, "max_own_size", f"own layers are {_mb(own_size)}, over {_mb(policy.max_own_size)}; "
                                                   f"largest: {where(big)}, {_mb(content.layers[big].size)}, in {dockerfile}"))
    if policy.max_size is not None and total > policy.max_size:
        out.append(Violation(name, "max_size", f"the image is {_mb(total)}, over {_mb(policy.max_size)} "
                                               f"({_mb(own_size)} in its own layers, {dockerfile})"))
    for label in policy.required_labels:
        if not content.labels.get(label):
            out.append(Violation(name, "required_labels", f"image config: no label {label} "
                                                          f"(set it in bbc.yaml images.{name}.labels or defaults.labels)"))
    if policy.pinned_bases != "off":
        for found in bases.of(spec, hierarchy.config.root):
            if not found.pinned:
                out.append(Violation(name, "pinned_bases", f"{found.where}: base {found.ref} is not pinned by digest "
                                                           "(`bbc pin` pins it)", refuse=policy.pinned_bases == "error"))
    return out


def _surviving(inside: Inside, i: int, paths: tuple[str, ...]) -> list[str]:
    """The paths of layer i that no later layer deletes (whiteout, or an opaque folder above)."""
    later = inside.content.layers[i + 1:]
    gone = {p for layer in later for p in layer.deleted}
    hidden = tuple(f.rstrip("/") + "/" for layer in later for f in (*layer.opaque, *layer.deleted))
    return [p for p in paths if p not in gone and not p.startswith(hidden)]


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def refusals(hierarchy: Hierarchy, engine: Engine, images: list[str]) -> list[Violation]:
    """The violations that stop a release of `images` (their current builds)."""
    out: list[Violation] = []
    for name in images:
        out += [v for v in check(hierarchy, ownership.inside(engine, hierarchy, name, hierarchy.config.root)) if v.refuse]
    return out


def any_gate(hierarchy: Hierarchy) -> bool:
    """Whether bbc.yaml sets a gate a built image is held to at release."""
    p = hierarchy.config.policy
    return bool(p.non_root or p.no_package_caches or p.no_secrets or p.max_own_size or p.max_size
                or p.required_labels or p.pinned_bases == "error")
