"""A fake engine for pure scheduling tests (order, parallelism, failure propagation).
Everything about real images is tested against the real engine instead."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from bbc.adapters.engine import BuildRequest, ImageInfo, Mount, PathState, RunResult
from bbc.errors import BuildError


class FakeEngine:
    address = "fake://"

    def __init__(self, *, fail: set[str] = frozenset(), delay: float = 0.05,  # type: ignore[assignment]
                 platform: str = "linux/amd64") -> None:
        self._platform = platform
        self.fail = set(fail)
        self.delay = delay
        self.images: dict[str, ImageInfo] = {}
        self.events: list[tuple[str, str, float]] = []  # (event, image, time)
        self.lock = threading.Lock()
        self.running = 0
        self.max_running = 0
        self.tags: dict[str, str] = {}

    def platform(self) -> str:
        return self._platform
    def version(self) -> str:
        return "Fake Engine 0"

    def diff_ids(self, ref: str) -> tuple[str, ...]:
        return ()

    def export(self, ref: str) -> Iterator[bytes]:
        """An image with no layers, as `docker save` would stream it (the build-time SBOM)."""
        import io
        import json
        import tarfile

        buf = io.BytesIO()
        files = {"config.json": {"config": {"User": "1000"}, "rootfs": {"diff_ids": []}, "history": []},
                 "manifest.json": [{"Config": "config.json", "Layers": [], "RepoTags": []}]}
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, doc in files.items():
                data = json.dumps(doc).encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        yield buf.getvalue()

    def images_with_label(self, label: str) -> list[ImageInfo]:
        return [i for i in self.images.values() if label in i.labels]

    def inspect(self, ref: str) -> ImageInfo | None:
        return self.images.get(self.tags.get(ref, ref))

    def inspect_many(self, refs: list[str]) -> dict[str, ImageInfo | None]:
        return {ref: self.inspect(ref) for ref in refs}

    def build(self, request: BuildRequest, on_line: Callable[[str], None]) -> str:
        name = request.labels["bbc.image"]
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            self.events.append(("start", name, time.monotonic()))
        try:
            on_line(f"Step 1/1 : building {name}")
            time.sleep(self.delay)
            if name in self.fail:
                raise BuildError(f"The command '/bin/sh -c make {name}' returned a non-zero code: 2",
                                 log_tail=["make: *** [all] Error 2"])
            image_id = f"sha256:{name}-{len(self.images)}"
            self.images[image_id] = ImageInfo(image_id, (), dict(request.labels), 100, str(time.time()))
        finally:
            with self.lock:
                self.running -= 1
                self.events.append(("end", name, time.monotonic()))
        for ref in request.tags:  # only after success, like the engine
            repository, _, tag = ref.rpartition(":")
            self.tag(image_id, repository, tag)
        return image_id

    def tag(self, image_id: str, repository: str, tag: str) -> None:
        ref = f"{repository}:{tag}"
        previous = self.tags.get(ref)
        if previous in self.images:
            old = self.images[previous]
            self.images[previous] = ImageInfo(old.id, tuple(t for t in old.tags if t != ref), old.labels, old.size,
                                              old.created)
        self.tags[ref] = image_id
        info = self.images[image_id]
        self.images[image_id] = ImageInfo(info.id, (*info.tags, ref), info.labels, info.size, info.created)

    def run(self, image: str, command: list[str] | None, *, mounts: list[Mount], network: str, timeout: int,
            on_line: Callable[[str], None], user: str | None = None, keep: bool = False) -> RunResult:
        return RunResult(0, "")

    def user_of(self, ref: str) -> str:
        return "1000"

    def file_exists(self, image: str, path: str) -> bool:
        return False

    def path_states(self, image: str, paths: list[str]) -> dict[str, PathState]:
        return {path: PathState(False) for path in paths}

    def push(self, repository: str, tag: str, on_line: Callable[[str], None]) -> str:
        return "sha256:0"

    def pull(self, repository: str, reference: str) -> ImageInfo:
        raise NotImplementedError

    def remove_image(self, ref: str) -> None:
        self.images.pop(ref, None)

    def containers_with_label(self, label: str) -> list[str]:
        return []

    def started(self) -> list[str]:
        return [name for event, name, _ in self.events if event == "start"]

    def span(self, name: str) -> tuple[float, float]:
        times = {e: t for e, n, t in self.events if n == name}
        return times["start"], times["end"]


def as_any(x: object) -> Any:
    return x
