"""Test images: an image's own Dockerfile built on a test layer over its parent's release
build (the CrowdStrike "sandwich"), so test tools never reach the release build.

    parent release ─► test layer (Dockerfile.test, ARG SOURCE_IMAGE) ─► image's Dockerfile
                                                                       (+ test.build_args)

The image's own Dockerfile gets the builds of the images it uses (`uses:`) as its release
build does; the test layer gets none. A root image has no parent: its test layer goes on its own release build (on a rebuild
with test.build_args, when it has some). Without a layer and test build args the test
image *is* the release build and nothing is built.

Every part is a step of the plan (bbc/plan/testplan.py) with a fingerprint (variant test-layer /
test), tagged only locally (`<registry>/<name>:<version>-testlayer`, `...-test`); a part whose
fingerprint is already built on the same image below is reused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bbc.model import refs
from bbc.config import ImageSpec
from bbc.model.hierarchy import Hierarchy

LAYER_ARG = "SOURCE_IMAGE"


@dataclass(frozen=True)
class Part:
    """One build of the sandwich, described as the ImageSpec it builds."""

    variant: str  # "test-layer" | "test"
    spec: ImageSpec  # path = context, dockerfile, build_args (test args merged in)
    arg: str | None  # the build arg receiving the image below; None: builds from scratch
    suffix: str  # tag suffix after the version
    what: str  # for humans: "test layer from debian", "python with test build args"


@dataclass(frozen=True)
class Recipe:
    base: str  # the image whose release build is the bottom slice
    parts: tuple[Part, ...]  # empty: the tests run in the release build itself


def layer_declarer(hierarchy: Hierarchy, name: str) -> str | None:
    """The nearest of `name` and its ancestors that declares `test.layer`."""
    for image in [name, *hierarchy.ancestors(name)]:
        test = hierarchy[image].test
        if test is not None and test.layer:
            return image
    return None


def recipe(hierarchy: Hierarchy, name: str) -> Recipe:
    spec = hierarchy[name]
    test_args = dict(spec.test.build_args) if spec.test else {}
    layer: Part | None = None
    declarer = layer_declarer(hierarchy, name)
    if declarer is not None:
        owner = hierarchy[declarer]
        layer_file = owner.test.layer if owner.test and owner.test.layer else ""
        layer = Part(
            "test-layer",
            replace(owner, dockerfile=layer_file, build_args={}, labels={}, target=None, parent_ref=None,
                    platform=spec.platform, network=spec.network, version=spec.version, uses=()),
            LAYER_ARG, "-testlayer", f"test layer {layer_file} from {declarer}",
        )
    own = Part("test", replace(spec, build_args={**spec.build_args, **test_args}),
               spec.parent_arg if spec.parent else None, "-testargs",
               f"{name} with test build args {', '.join(f'{k}={v}' for k, v in test_args.items())}"
               if test_args else f"{name} on the test layer")
    if spec.parent is None:
        parts = ([own] if test_args else []) + ([layer] if layer else [])
    else:
        parts = [layer, own] if layer else ([own] if test_args else [])
    if parts:
        parts[-1] = replace(parts[-1], suffix="-test")
    return Recipe(spec.parent or name, tuple(parts))


def test_ref(hierarchy: Hierarchy, name: str, suffix: str = "-test") -> tuple[str, str]:
    """(repository, tag) of a local-only test tag, e.g. localhost:5000/acme/app, 1.2.0-test."""
    return hierarchy.config.ref(name), refs.test_tag(hierarchy[name].version, suffix, name)
