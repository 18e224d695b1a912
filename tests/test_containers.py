"""What a run has started (bbc/adapters/docker/containers.py): removed on Ctrl-C, creates in
flight included, and nothing created after. The Ctrl-C of a real `bbc test` is in
tests/commands/test_test.py; this pins down the race with an API that answers when told."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from bbc.adapters.docker import owners
from bbc.adapters.docker.containers import Containers
from bbc.errors import BbcError
from bbc.model import labels


class SlowApi:
    """Answers a create only once `answer` is set; records removals."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.answer = threading.Event()
        self.removed: list[str] = []
        self.labels: list[dict[str, str]] = []

    def create_container(self, image: str, labels: dict[str, str], **options: Any) -> dict[str, str]:
        self.labels.append(labels)
        self.asked.set()
        self.answer.wait()
        return {"Id": f"id-of-{image}"}

    def remove_container(self, container_id: str, force: bool) -> None:
        self.removed.append(container_id)


def test_removal_waits_for_a_create_in_flight_and_refuses_new_ones() -> None:
    api = SlowApi()
    live = Containers()
    created: list[str] = []
    creator = threading.Thread(target=lambda: created.append(live.create(api, "app", command=["true"])))
    creator.start()
    api.asked.wait()
    removed: list[int] = []
    remover = threading.Thread(target=lambda: removed.append(live.remove_all()))
    remover.start()
    while not live._stopping:  # removal has begun (and waits), while the create is unanswered
        time.sleep(0.001)
    api.answer.set()  # the engine answers only now: the container must still be found
    creator.join()
    remover.join()
    assert created == ["id-of-app"] and api.removed == ["id-of-app"] and removed == [1]
    assert api.labels == [{labels.TEST_CONTAINER: owners.this_run()}]  # no tree read: no tree named
    with pytest.raises(BbcError, match="interrupted"):
        live.create(api, "later")


def test_a_container_its_starter_removed_is_not_removed_again() -> None:
    api = SlowApi()
    api.answer.set()
    live = Containers()
    first = live.create(api, "a")
    live.create(api, "b")
    live.forget(first)
    assert live.remove_all() == 1 and api.removed == ["id-of-b"]
