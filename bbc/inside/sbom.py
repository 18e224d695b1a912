"""A built image's SBOM as CycloneDX JSON, written with cyclonedx-python-lib: every package with
its purl and the properties `bbc:image` (the image of the hierarchy that introduced it),
`bbc:layer` (that layer's diff ID), `bbc:layer-index`, `bbc:step` and `bbc:path`."""

from __future__ import annotations

import re
from pathlib import Path

from bbc.adapters import state
from bbc.inside.ownership import Inside, Owned

SCHEMA = "CycloneDX 1.6"


def path(root: Path, image: str) -> Path:
    """Where the build writes an image's SBOM: `.bbc/sbom/<image>.cdx.json`."""
    return state.bbc_dir(root) / "sbom" / f"{image}.cdx.json"


def purl(o: Owned, os_id: str, os_version: str) -> str:
    from packageurl import PackageURL

    p = o.package
    if p.kind == "pypi":
        return str(PackageURL(type="pypi", name=re.sub(r"[-_.]+", "-", p.name).lower(), version=p.version))
    namespace = os_id or ("alpine" if p.kind == "apk" else "debian")
    qualifiers = {"arch": p.arch} if p.arch else {}
    if os_version:
        qualifiers["distro"] = f"{namespace}-{os_version}"
    return str(PackageURL(type=p.kind, namespace=namespace, name=p.name, version=p.version, qualifiers=qualifiers))


def render(inside: Inside, version: str) -> str:
    """The CycloneDX JSON document."""
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    c = inside.content
    bom = Bom()
    components: list[Component] = []
    repository, _, _ = inside.ref.rpartition(":")
    bom.metadata.component = Component(
        name=repository, version=version, type=ComponentType.CONTAINER, bom_ref=f"image:{inside.image}",
        purl=PackageURL(type="oci", name=repository.rsplit("/", 1)[-1], version=c.image_id,
                        qualifiers={"repository_url": repository}),
        properties=[Property(name="bbc:image", value=inside.image), Property(name="bbc:image-id", value=c.image_id),
                    *[Property(name="bbc:lineage", value=f"{b.image} {b.image_id}") for b in inside.lineage]])
    for o in inside.packages:
        ref = purl(o, c.os_id, c.os_version)
        components.append(Component(
            name=o.package.name, version=o.package.version, type=ComponentType.LIBRARY,
            bom_ref=f"{ref}#{o.package.source}", purl=PackageURL.from_string(ref),
            properties=[Property(name="bbc:image", value=o.image), Property(name="bbc:layer", value=o.diff_id),
                        Property(name="bbc:layer-index", value=str(o.layer)), Property(name="bbc:step", value=o.step),
                        Property(name="bbc:path", value=o.package.source),
                        *([Property(name="bbc:copied-by", value=o.copied_by)] if o.copied_by else [])]))
    # the image holds every package directly: a flat dependency graph, stated so the document
    # says it is complete (package-to-package dependencies are not read)
    bom.components.update(components)
    bom.register_dependency(bom.metadata.component, components)
    return str(JsonV1Dot6(bom).output_as_string(indent=2))


def write(root: Path, inside: Inside, version: str) -> Path:
    target = path(root, inside.image)
    state.ensure(target.parent)
    state.atomic_write(target, render(inside, version), mode=0o644)  # the mode a plain write gets (umask 022)
    return target


def table(inside: Inside) -> str:
    rows = [("PACKAGE", "VERSION", "TYPE", "OWNER", "LAYER", "PATH")]
    rows += [(o.package.name, o.package.version, o.package.kind,
              o.image + (f" (copied by {o.copied_by})" if o.copied_by else ""), str(o.layer), o.package.source)
             for o in inside.packages]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(r[i].ljust(widths[i]) for i in range(5)) + "  " + r[5] for r in rows)
