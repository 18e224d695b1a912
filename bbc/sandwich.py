"""Test images: an image's own Dockerfile built on a test layer over its parent's release
build (the CrowdStrike "sandwich"), so test tools never reach the release build.

    parent release ─► test layer (Dockerfile.test, ARG SOURCE_IMAGE) ─► image's Dockerfile
                                                                       (+ test.build_args)

A root image has no parent: its test layer goes on its own release build (on a rebuild
with test.build_args, when it has some). Without a layer and test build args the test
image *is* the release build and nothing is built.

Every part carries a fingerprint (variant test-layer / test) and is tagged only locally
(`<registry>/<name>:<version>-testlayer`, `...-test`); a part whose fingerprint is already
built on the same image below is reused, so a second `bbc test` builds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from bbc import fingerprint, planner, tags
from bbc.config import ImageSpec
from bbc.engine import BuildRequest, Engine
from bbc.errors import BbcError
from bbc.hierarchy import Hierarchy

VARIANT_LABEL = "bbc.test"  # test-layer | test: never a release build
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
            replace(owner, dockerfile=layer_file, build_args={}, labels={}, target=None,
                    platform=spec.platform, network=spec.network, version=spec.version),
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
    version_tag = tags.local_tags(hierarchy[name].version)[0]
    return hierarchy.config.ref(name), f"{version_tag}{suffix}"


def ensure(
    engine: Engine,
    hierarchy: Hierarchy,
    name: str,
    *,
    release_id: str,
    parent_id: str | None,
    on_line: Callable[[str], None],
    on_event: Callable[[str], None],
) -> str:
    """Build (or reuse) the test image of `name`, whose release build is `release_id` on
    the parent build `parent_id` (None for a root); return its ID."""
    plan = recipe(hierarchy, name)
    if not plan.parts:
        return release_id
    base_id = release_id if hierarchy.parent(name) is None else parent_id
    if base_id is None:
        raise BbcError(f"{name}: no release build of {plan.base} to build the test image on")
    below_id: str | None = base_id
    base = engine.inspect(base_id)
    if base is None:
        raise BbcError(f"{name}: release build {base_id[:19]} is gone; run bbc build")
    below_fp: str | None = base.labels.get(fingerprint.LABEL)
    for part in plan.parts:
        if part.arg is None:
            below_id, below_fp = None, None
        ctx = fingerprint.digest_context(part.spec.path, part.spec.dockerfile)
        fp = fingerprint.compute(part.spec, ctx, below_fp, variant=part.variant)
        repository, tag = test_ref(hierarchy, name, part.suffix)
        # Only the image carrying this test tag counts: the builder stages of a multi-stage
        # Dockerfile inherit the labels (fingerprint too) of the image they start from.
        current = engine.inspect(f"{repository}:{tag}")
        found = [i for i in ([current] if current else [])
                 if i.labels.get(fingerprint.LABEL) == fp
                 and (below_id is None or i.labels.get(planner.PARENT_LABEL) == below_id)]
        if found:
            image_id = found[0].id
            on_event(f"[{name}] reusing {part.what} ({image_id.removeprefix('sha256:')[:12]})")
        else:
            on_event(f"[{name}] building {part.what}")
            args = dict(part.spec.build_args)
            labels = {**part.spec.labels, fingerprint.LABEL: fp, planner.IMAGE_LABEL: name, VARIANT_LABEL: part.variant}
            if part.arg is not None and below_id is not None:
                args[part.arg] = below_id
                labels[planner.PARENT_LABEL] = below_id
            request = BuildRequest(
                context=part.spec.path, dockerfile=part.spec.dockerfile, build_args=args, labels=labels,
                target=part.spec.target, platform=part.spec.platform, network=part.spec.network,
                tags=(f"{repository}:{tag}",),
            )
            image_id = engine.build(request, on_line)
        below_id, below_fp = image_id, fp
    return image_id
