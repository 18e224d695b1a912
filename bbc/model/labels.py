"""Every label bbc reads or writes on images and containers: the one place their names live."""

from __future__ import annotations

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
