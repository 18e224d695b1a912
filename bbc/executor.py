"""Run a Plan: each image starts as soon as its parent is done, up to `jobs` at once.

Release tags are applied only after a build (and, with a `before_tag` hook, its tests)
succeeded, so a failed or interrupted run never leaves a half-tagged image.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bbc import fingerprint, planner, state, tags
from bbc.engine import BuildRequest, Engine
from bbc.errors import BbcError, BuildError
from bbc.hierarchy import Hierarchy
from bbc.planner import Plan, Step
from bbc.report import Events

BUILT = "built"
UP_TO_DATE = "up-to-date"
FAILED = "failed"
SKIPPED = "skipped"
OK = (BUILT, UP_TO_DATE)


@dataclass(frozen=True)
class Result:
    image: str
    version: str
    status: str  # BUILT | UP_TO_DATE | FAILED | SKIPPED
    seconds: float = 0.0
    size: int = 0
    image_id: str = ""
    message: str = ""
    tags: tuple[str, ...] = ()
    log: str = ""


# Called after a build succeeded and before it is tagged; raise BbcError to refuse the tags.
BeforeTag = Callable[[str, str], None]


def build_labels(hierarchy: Hierarchy, step: Step, parent_id: str | None, revision: str | None,
                 source: str | None = None) -> dict[str, str]:
    spec = hierarchy[step.image]
    config = hierarchy.config
    labels = dict(spec.labels)
    labels.update({
        fingerprint.LABEL: step.fingerprint or "",
        planner.IMAGE_LABEL: step.image,
        "org.opencontainers.image.title": step.image,
        "org.opencontainers.image.version": spec.version,
        "org.opencontainers.image.source": source or _source(config.root, spec.rel_path),
    })
    if revision:
        labels["org.opencontainers.image.revision"] = revision
    if spec.parent and parent_id:
        parent = hierarchy[spec.parent]
        labels[planner.PARENT_LABEL] = parent_id
        labels["org.opencontainers.image.base.name"] = f"{config.ref(spec.parent)}:{parent.version}"
        labels["org.opencontainers.image.base.digest"] = parent_id
    if spec.description:
        labels["org.opencontainers.image.description"] = spec.description
    return labels


def _source(root: Path, rel: str) -> str:
    return (root / rel).resolve().as_posix()


class Executor:
    def __init__(
        self,
        engine: Engine,
        hierarchy: Hierarchy,
        events: Events,
        *,
        jobs: int = 1,
        fail_fast: bool = False,
        revision: str | None = None,
        before_tag: BeforeTag | None = None,
    ) -> None:
        self.engine = engine
        self.hierarchy = hierarchy
        self.events = events
        self.jobs = max(1, jobs)
        self.fail_fast = fail_fast
        self._revision = revision  # None: asked of git on the first build, not at start-up
        self._revision_lock = threading.Lock()
        self._source = ""  # the origin remote's URL, looked up with the revision
        self.before_tag = before_tag
        self.root = hierarchy.config.root

    def revision(self) -> str | None:
        with self._revision_lock:
            if self._revision is None:
                from bbc import git

                self._revision = git.revision(self.root) or ""
                self._source = git.remote_url(self.root) or ""
            return self._revision or None

    def run(self, plan: Plan) -> list[Result]:
        in_plan = {s.image for s in plan.steps}
        results: dict[str, Result] = {}
        ids: dict[str, str] = {}
        pending = list(plan.steps)
        done: queue.Queue[Result] = queue.Queue()
        running = 0
        stopping = False
        while pending or running:
            progressed = True
            while progressed:
                progressed = False
                for step in list(pending):
                    parent = self.hierarchy.parent(step.image)
                    if parent in in_plan and parent not in results:
                        continue  # parent still building
                    if parent in results and results[parent].status not in OK:
                        results[step.image] = self._skip(step, f"parent {parent} {results[parent].status}")
                    elif step.action == planner.UP_TO_DATE and step.existing is not None:
                        results[step.image] = self._current(step)
                        ids[step.image] = step.existing.id
                    elif stopping:
                        results[step.image] = self._skip(step, "not started (--fail-fast)")
                    elif running < self.jobs:
                        running += 1
                        parent_id = ids.get(parent) if parent else None
                        self.events.started(step.image, step)
                        threading.Thread(target=self._worker, args=(step, parent_id, done), daemon=True).start()
                    else:
                        continue
                    pending.remove(step)
                    progressed = True
            if not running:
                continue
            result = done.get()  # KeyboardInterrupt lands here; daemon workers die with us
            running -= 1
            results[result.image] = result
            if result.status == BUILT:
                ids[result.image] = result.image_id
            elif self.fail_fast:
                stopping = True
        return [results[s.image] for s in plan.steps]

    # -- one image -------------------------------------------------------------------
    def _skip(self, step: Step, why: str) -> Result:
        result = Result(step.image, step.version, SKIPPED, message=why)
        self.events.finished(result)
        return result

    def _current(self, step: Step) -> Result:
        existing = step.existing
        if existing is None:  # for mypy; the caller checked
            raise BbcError(f"{step.image}: no existing build")
        applied = self._tag(step.image, existing.id, existing.tags)
        result = Result(step.image, step.version, UP_TO_DATE, size=existing.size, image_id=existing.id, tags=applied)
        self.events.finished(result)
        return result

    def _worker(self, step: Step, parent_id: str | None, done: queue.Queue[Result]) -> None:
        start = time.monotonic()
        log = state.log_path(self.root, step.image)
        try:
            # Without a gate between build and release tags, the engine applies them at the end
            # of a successful build (one call, not four); with one, they wait for the gate.
            refs = self._refs(step.image)
            image_id = self._build(step, parent_id, log, refs if self.before_tag is None else ())
            if self.before_tag is not None:
                self.before_tag(step.image, image_id)
                applied = self._tag(step.image, image_id, ())
            else:
                applied = refs
            info = self.engine.inspect(image_id)
            spec = self.hierarchy[step.image]
            state.write_json(state.manifest_path(self.root, step.image), planner.manifest(spec, step))
            result = Result(step.image, step.version, BUILT, time.monotonic() - start,
                            info.size if info else 0, image_id, tags=applied, log=str(log))
        except BuildError as exc:
            tail = "\n".join(exc.log_tail[-12:])
            result = Result(step.image, step.version, FAILED, time.monotonic() - start,
                            message=exc.message + (f"\n{tail}" if tail else ""), log=str(log))
        except BbcError as exc:
            result = Result(step.image, step.version, FAILED, time.monotonic() - start, message=exc.message,
                            log=str(log))
        except Exception as exc:  # a bug or an engine hiccup: report it on this image, keep going
            result = Result(step.image, step.version, FAILED, time.monotonic() - start,
                            message=f"{type(exc).__name__}: {exc}", log=str(log))
        self.events.finished(result)
        done.put(result)

    def _build(self, step: Step, parent_id: str | None, log: Path, refs: tuple[str, ...]) -> str:
        spec = self.hierarchy[step.image]
        if step.fingerprint is None:
            raise BbcError(f"{step.image}: fingerprint unknown (run its prepare step first)")
        args = dict(spec.build_args)
        if spec.parent:
            if parent_id is None:
                raise BbcError(f"{step.image}: parent {spec.parent} has no build to start from")
            args[spec.parent_arg] = parent_id
        request = BuildRequest(
            context=spec.path, dockerfile=spec.dockerfile, build_args=args,
            labels=build_labels(self.hierarchy, step, parent_id, self.revision(), self._source or None),
            target=spec.target, platform=spec.platform, network=spec.network, tags=refs,
        )
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w", encoding="utf-8") as out:
            def on_line(line: str) -> None:
                out.write(line + "\n")
                self.events.line(step.image, line)

            return self.engine.build(request, on_line)

    def _refs(self, image: str) -> tuple[str, ...]:
        repository = self.hierarchy.config.ref(image)
        return tuple(f"{repository}:{tag}" for tag in tags.local_tags(self.hierarchy[image].version))

    def _tag(self, image: str, image_id: str, present: tuple[str, ...]) -> tuple[str, ...]:
        refs = self._refs(image)
        for ref in refs:
            if ref not in present:
                repository, _, tag = ref.rpartition(":")
                self.engine.tag(image_id, repository, tag)
        return refs
