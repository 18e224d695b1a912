"""Every label bbc reads or writes on images and containers: the one place their names live."""

from __future__ import annotations

from collections.abc import Mapping

FINGERPRINT = "bbc.fingerprint"  # what the build depended on, hashed (bbc/plan/fingerprint.py)
IMAGE = "bbc.image"  # the image's name in bbc.yaml
PLATFORM = "bbc.platform"  # on one platform's build of a multi-platform image: that platform
PARENT_ID = "bbc.parent.id"  # the exact parent build (image ID) it was built on
TEST_VARIANT = "bbc.test"  # test-layer | test: a test image, never a release build
TEST_CONTAINER = "bbc.test-container"  # containers bbc runs tests in (removed afterwards): the run
TEST_TREE = "bbc.test-tree"  # ... and the tree (bbc.yaml's folder) of the run that started it
TEST_KEPT = "bbc.test-kept"  # ... started with --keep: left for debugging, never swept
ROLLOUT_PROJECT = "bbc.rollout.project"  # a project built by `bbc rollout --test`

# OCI annotations (https://github.com/opencontainers/image-spec/blob/main/annotations.md)
TITLE = "org.opencontainers.image.title"
VERSION = "org.opencontainers.image.version"
SOURCE = "org.opencontainers.image.source"
REVISION = "org.opencontainers.image.revision"
DESCRIPTION = "org.opencontainers.image.description"
BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"

# issue 21: the exact builds of the images it uses, as {key: {"image": name, "id": image ID}}
# (key: the build arg, or the reference written out, that carried each)
USES = "bbc.uses"


def uses_value(used: Mapping[str, tuple[str, str]]) -> str:
    """The USES label for {key: (image, image ID)}."""
    import json

    return json.dumps({k: {"image": image, "id": image_id} for k, (image, image_id) in sorted(used.items())},
                      separators=(",", ":"))


def used_builds(values: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """{key: (image, image ID)} from an image's labels; empty without a readable USES label."""
    import json

    text = values.get(USES)
    if not text:
        return {}
    try:
        data = json.loads(text)
        return {str(k): (str(v["image"]), str(v["id"])) for k, v in data.items()}
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}
