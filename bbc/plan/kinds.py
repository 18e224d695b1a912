"""The kinds of step and what a step will do, as enums (strings too: JSON and tables show them
as they are). bbc/plan/steps.py holds the steps themselves; this module imports nothing, so
reporting can name kinds without loading the planner."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What a step is: the first half of its id (`build:python`)."""

    PREPARE = "prepare"
    BUILD = "build"
    TEST_LAYER = "test-layer"
    TEST_IMAGE = "test-image"
    RUN_TEST = "run-test"
    TAG = "tag"
    PUSH = "push-candidate"
    PROMOTE = "promote"
    PROJECT = "build-project"


class Action(StrEnum):
    """What a step will do (`bbc plan`'s action column)."""

    BUILD = "build"
    UP_TO_DATE = "up-to-date"
    PULL = "pull"  # the registry holds this exact build
    REUSE = "reuse"  # a test image with this fingerprint is already built
    RUN = "run"
    CACHED = "cached"  # tests that passed before on the same image with the same tests


# The plan found these already done: they finish at once, without a thread or an engine call.
IDLE = frozenset({Action.UP_TO_DATE, Action.REUSE, Action.CACHED})
