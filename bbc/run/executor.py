"""Run a Plan: every step starts as soon as the steps it needs succeeded, up to `jobs` at once.

A failed step skips every step that needs it; independent branches go on unless `fail_fast`.
Release tags travel with a build (the engine applies them only when it succeeded) or, when
the plan gates them on tests, come from a Tag step after the tests passed; so a failed or
interrupted run never leaves a half-tagged image. Steps the plan found already done (up to
date, reused, passed before) finish at once, without a thread or an engine call.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ContextManager

from bbc.plan import bases, fingerprint, planner, testing
from bbc.plan import steps
from bbc.model import dockerfile, labels, platforms, refs
from bbc.run import postbuild
from bbc.adapters import state
from bbc.adapters.engine import BuildRequest, Engine
from bbc.errors import BbcError, BuildError, EngineLost, RegistryError
from bbc.config import ImageSpec
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Build, Plan, ProjectBuild, Promote, Push, RunTest, Step, Tag, TestPart
from bbc.run.report import Events

if TYPE_CHECKING:
    from bbc.adapters.registry.protocol import RegistryAPI
    from bbc.release import promote

BUILT = "built"
UP_TO_DATE = "up-to-date"
PULLED = "pulled"
REUSED = "reused"
PASSED = "passed"
CACHED = "passed before"
TAGGED = "tagged"
PUSHED = "pushed"
PROMOTED = "promoted"
FAILED = "failed"
SKIPPED = "skipped"
OK = (BUILT, UP_TO_DATE, PULLED, REUSED, PASSED, CACHED, TAGGED, PUSHED, PROMOTED)


@dataclass(frozen=True)
class Result:
    step: str  # the step's id
    kind: str
    image: str
    version: str
    status: str
    seconds: float = 0.0
    size: int = 0
    image_id: str = ""
    message: str = ""
    tags: tuple[str, ...] = ()
    log: str = ""
    checks: tuple[testing.CheckResult, ...] = ()
    digest: str = ""
    released: tuple[promote.Released, ...] = ()
    engine: str = ""  # with a pool of engines: the one the step ran on

    @property
    def ok(self) -> bool:
        return self.status in OK


def build_labels(hierarchy: Hierarchy, step: Build, parent_id: str | None, revision: str | None,
                 source: str | None = None) -> dict[str, str]:
    spec = hierarchy[step.image]
    config = hierarchy.config
    out = dict(spec.labels)
    image = platforms.image_of(step.image)
    out.update({
        labels.FINGERPRINT: step.fingerprint or "",
        labels.IMAGE: image,
        labels.TITLE: image,
        labels.VERSION: spec.version,
        labels.SOURCE: source or (config.root / spec.rel_path).resolve().as_posix(),
    })
    if revision:
        out[labels.REVISION] = revision
    if image != step.image and spec.platform:
        out[labels.PLATFORM] = spec.platform
    if spec.parent and parent_id:
        out[labels.PARENT_ID] = parent_id
        out[labels.BASE_NAME] = refs.ref(config.ref(spec.parent), hierarchy[spec.parent].version)
        out[labels.BASE_DIGEST] = parent_id
    else:
        upstream = next(((f, d) for f, d in step.bases if f.final), None)
        if upstream is not None:  # a root on an upstream image: the name as written, the digest built on
            out[labels.BASE_NAME] = upstream[0].ref.partition("@")[0]
            out[labels.BASE_DIGEST] = upstream[1]
    if spec.description:
        out[labels.DESCRIPTION] = spec.description
    return out


# A lock held around building and tagging one image (bbc/lock.py), so two runs building the
# same image never leave a tag on a half-finished build.
ImageLock = Callable[[str], ContextManager[Any]]


@dataclass
class Slot:
    """One engine of the pool: how many builds it takes, how many it runs, whether it answers."""

    name: str
    engine: Engine
    jobs: int = 1
    running: int = 0
    alive: bool = True


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
        keep: bool = False,
        registry: RegistryAPI | None = None,
        repo_of: Callable[[str], str] | None = None,
        image_lock: ImageLock | None = None,
        pool: list[Slot] | None = None,
    ) -> None:
        self.engine = engine  # the first of the pool: the plan's index, projects, promotion
        # A pool spreads builds over engines (bbc.yaml `engines:`, --engine); an image's tests,
        # pushes and children start where its build is, a child elsewhere gets it by registry
        self.pool = pool or [Slot("", engine, max(1, jobs))]
        self.where: dict[str, Slot] = {}  # image -> the engine holding its build
        self._moved: dict[tuple[str, str], str] = {}  # (engine, image) -> its build's id there
        self._place_lock = threading.Lock()
        self._local = threading.local()  # the engine this worker thread's step runs on
        self.hierarchy = hierarchy
        self.events = events
        self.jobs = max(1, jobs)
        self.fail_fast = fail_fast
        self.keep = keep
        self.registry = registry
        self.repo_of = repo_of
        self.image_lock = image_lock or (lambda image: nullcontext())
        self._unlocked = image_lock is None  # no other run can have built it meanwhile
        self._revision = revision  # None: asked of git on the first build, not at start-up
        self._revision_lock = threading.Lock()
        self._source = ""  # the origin remote's URL, looked up with the revision
        self.root = hierarchy.config.root
        self.results: dict[str, Result] = {}
        self._lost = False
        self.plan = Plan(())

    @property
    def here(self) -> Engine:
        """The engine of the step this thread runs (the first of the pool outside steps)."""
        slot = getattr(self._local, "slot", None)
        return slot.engine if slot is not None else self.engine

    def _slot_of(self, step: Step) -> Slot:
        """Where a step runs: a build is placed (the parent's engine when it has room, else the
        least loaded); everything else runs where its image's build is."""
        if len(self.pool) == 1:
            return self.pool[0]
        alive = [s for s in self.pool if s.alive]
        if not alive:
            raise EngineLost("no engine of the pool answers any more; nothing more was tagged")
        if not isinstance(step, Build):
            found = self.where.get(step.image)
            return found if found is not None else alive[0]
        spec = self.hierarchy[step.image]
        with self._place_lock:
            parent = self.where.get(spec.parent) if spec.parent else None
            if parent is not None and parent.alive and parent.running < parent.jobs:
                chosen = parent
            else:
                chosen = min(alive, key=lambda s: (s.running / s.jobs, self.pool.index(s)))
            chosen.running += 1
        return chosen

    def _parent_here(self, image: str, parent: str, parent_id: str) -> str:
        """The parent's build on the engine this step runs on: where it is already, else pushed
        (under its candidate tag, unless the registry holds it) and pulled here, fingerprint
        checked."""
        slot = getattr(self._local, "slot", None)
        source = self.where.get(parent, self.pool[0])
        if slot is None or source is slot:
            return parent_id
        key = (slot.name, parent)
        if key in self._moved:
            return self._moved[key]
        if self.registry is None or self.repo_of is None:
            raise BbcError(f"{image}: parent {parent} is on {source.name}, and there is no registry to move it by")
        build = self.plan.get(f"build:{parent}")
        fingerprint = build.fingerprint if isinstance(build, Build) else None
        if not fingerprint:
            raise BbcError(f"{image}: parent {parent} has no fingerprint to move it by")
        repository = self.hierarchy.config.ref(parent)
        tag = refs.candidate_tag(fingerprint)
        digest = self._held(parent, tag, fingerprint)
        if not digest:
            if not source.alive:
                raise EngineLost(f"{image}: parent {parent} is only on {source.name}, which stopped answering")
            source.engine.tag(parent_id, repository, tag)
            try:
                digest = source.engine.push(repository, tag, lambda line: None)
            finally:
                source.engine.remove_image(f"{repository}:{tag}")
        info = slot.engine.pull(repository, digest)  # by digest: what was pushed, whatever the tag does
        if info.labels.get(labels.FINGERPRINT) != fingerprint:
            raise BbcError(f"{image}: the registry's {repository}:{tag} is not the build of {parent} it should be")
        slot.engine.tag(info.id, repository, tag)  # BuildKit finds a local image by a tag, not by its ID
        self.events.message(f"[{image}] parent {parent} brought from {source.name} to {slot.name} by the registry")
        self._moved[key] = str(info.id)
        return str(info.id)

    def revision(self) -> str | None:
        with self._revision_lock:
            if self._revision is None:
                from bbc.adapters import git

                self._revision = git.revision(self.root) or ""
                self._source = git.remote_url(self.root) or ""
            return self._revision or None

    # -- scheduling -------------------------------------------------------------------
    def run(self, plan: Plan) -> list[Result]:
        self.plan = plan
        results = self.results
        in_plan = {s.id for s in plan.steps}
        pending = list(plan.steps)
        done: queue.Queue[Result] = queue.Queue()
        running = 0
        stopping = False
        while pending or running:
            progressed = True
            while progressed:
                progressed = False
                for step in list(pending):
                    needs = [n for n in step.needs if n in in_plan]
                    if any(n not in results for n in needs):
                        continue
                    failed = [results[n] for n in needs if not results[n].ok]
                    if failed:
                        results[step.id] = self._skip(step, _why_skipped(step, failed[0]))
                    elif step.action in steps.IDLE:
                        results[step.id] = self._idle(step)
                    elif stopping:
                        results[step.id] = self._skip(step, "not started: the engine stopped answering"
                                                      if self._lost else "not started (--fail-fast)")
                    elif running < self.jobs:
                        running += 1
                        self.events.started(step.image, step)
                        threading.Thread(target=self._worker, args=(step, done), daemon=True).start()
                    else:
                        continue
                    pending.remove(step)
                    progressed = True
            if not running:
                continue
            result = done.get()  # KeyboardInterrupt lands here; daemon workers die with us
            running -= 1
            results[result.step] = result
            if not result.ok and (self.fail_fast or self._lost):
                stopping = True
        postbuild.wait()  # issue 13: the SBOMs written beside the builds
        return [results[s.id] for s in plan.steps]

    def _skip(self, step: Step, why: str) -> Result:
        result = Result(step.id, step.kind, step.image, step.version, SKIPPED, message=why)
        self.events.finished(result)
        return result

    def _idle(self, step: Step) -> Result:
        """A step the plan found already done."""
        if isinstance(step, Build) and step.existing is not None:
            existing = step.existing
            present = set(existing.tags)
            if len(self.pool) > 1:  # up to date on one engine of the pool: which?
                self.where[step.image] = next(
                    (s for s in self.pool if s.alive and s.engine.inspect(existing.id) is not None), self.pool[0])
                self._local.slot = self.where[step.image]
            try:
                applied = self._tag(step.image, existing.id, present)
            finally:
                self._local.slot = None
            result = Result(step.id, step.kind, step.image, step.version, UP_TO_DATE, size=existing.size,
                            image_id=existing.id, tags=applied)
        elif isinstance(step, TestPart) and step.existing is not None:
            result = Result(step.id, step.kind, step.image, step.version, REUSED, image_id=step.existing.id)
            self.events.message(f"[{step.image}] reusing {step.part.what} ({_short(step.existing.id)})")
            return result
        elif isinstance(step, RunTest):
            result = Result(step.id, step.kind, step.image, step.version, CACHED, message=step.reasons[-1])
        else:
            raise BbcError(f"{step.id}: nothing to reuse")  # the planner only marks such steps idle
        self.events.finished(result)
        return result

    def _worker(self, step: Step, done: queue.Queue[Result]) -> None:
        start = time.monotonic()
        handler = {
            "build": self._build, "test-layer": self._test_part, "test-image": self._test_part,
            "run-test": self._run_test, "tag": self._tag_step, "push-candidate": self._push,
            "promote": self._promote, "build-project": self._build_project,
        }.get(step.kind)
        log = ""
        slot: Slot | None = None
        try:
            if handler is None:
                raise BbcError(f"{step.id}: no way to run a {step.kind} step")
            slot = self._local.slot = self._slot_of(step)
            try:
                result = self._on(slot, handler, step, start)
            except EngineLost as lost:
                slot = self._replace(step, slot, lost)  # raises when there is nowhere else to go
                result = handler(step, start)
        except EngineLost as exc:
            if len(self.pool) == 1 or not any(s.alive for s in self.pool):
                self._lost = True  # start nothing more on an engine that is gone
            result = self._failed(step, start, exc.message, log)
        except BuildError as exc:
            tail = "\n".join(exc.log_tail[-12:])
            result = self._failed(step, start, exc.message + (f"\n{tail}" if tail else ""), log)
        except BbcError as exc:
            result = self._failed(step, start, exc.message, log)
        except Exception as exc:  # a bug or an engine hiccup: report it on this step, keep going
            result = self._failed(step, start, f"{type(exc).__name__}: {exc}", log)
        finally:
            self._local.slot = None
        if slot is not None and len(self.pool) > 1:
            if isinstance(step, Build):
                with self._place_lock:
                    slot.running -= 1
                if result.ok:
                    self.where[step.image] = slot
            result = replace(result, engine=slot.name)
        self.events.finished(result)
        done.put(result)

    def _on(self, slot: Slot, handler: Callable[[Step, float], Result], step: Step, start: float) -> Result:
        """Run `handler`; in a pool, any engine error from an engine that no longer answers (a
        pull onto it, say) is that engine lost, so the build can go elsewhere."""
        try:
            return handler(step, start)
        except EngineLost:
            raise
        except BbcError as exc:
            answers = getattr(slot.engine, "answers", None)
            if len(self.pool) > 1 and answers is not None and not answers():
                raise EngineLost(f"engine at {slot.name} stopped answering: {exc.message}") from None
            raise

    def _replace(self, step: Step, slot: Slot, lost: EngineLost) -> Slot:
        """A build whose engine stopped answering goes, once, to another engine of the pool."""
        slot.alive = False
        if len(self.pool) == 1 or not isinstance(step, Build) or not any(s.alive for s in self.pool):
            raise lost
        with self._place_lock:
            slot.running -= 1
        again = self._slot_of(step)
        self._local.slot = again
        self.events.message(f"[{step.image}] engine {slot.name} stopped answering; building on {again.name} instead")
        return again

    def _failed(self, step: Step, start: float, message: str, log: str) -> Result:
        path = log or (str(state.log_path(self.root, step.image, _log_suffix(step)))
                       if step.kind not in ("promote", "tag") else "")
        return Result(step.id, step.kind, step.image, step.version, FAILED, time.monotonic() - start,
                      message=message, log=path)

    def _image_id(self, step_id: str | None) -> str | None:
        if step_id is None:
            return None
        result = self.results.get(step_id)
        return result.image_id if result else None

    # -- the kinds of step ------------------------------------------------------------
    def _build(self, step: Step, start: float) -> Result:
        if not isinstance(step, Build):
            raise BbcError(f"{step.id}: not a build step")
        spec = self.hierarchy[step.image]
        if step.fingerprint is None:
            raise BbcError(f"{step.image}: fingerprint unknown (run its prepare step first)")
        parent_id = self._image_id(f"build:{spec.parent}") if spec.parent else None
        if spec.parent and parent_id is None:
            raise BbcError(f"{step.image}: parent {spec.parent} has no build to start from")
        if spec.parent and parent_id:
            parent_id = self._parent_here(step.image, spec.parent, parent_id)
        log = state.log_path(self.root, step.image)
        refs_ = self._refs(step.image)
        with self.image_lock(step.image):
            done = self._built_meanwhile(step, parent_id)
            if done is not None:
                self.events.message(f"[{step.image}] another bbc run built it meanwhile; reusing its build")
                applied = () if step.gated else self._tag(step.image, done.id, set(done.tags))
                return Result(step.id, step.kind, step.image, step.version, UP_TO_DATE, time.monotonic() - start,
                              done.size, done.id, tags=applied)
            if step.action == steps.PULL:
                pulled = self._pull(step, parent_id)
                if pulled is not None:
                    applied = () if step.gated else self._tag(step.image, pulled.id, set(pulled.tags))
                    postbuild.after_build(self.here, self.hierarchy, step.image, pulled.id, self.root,
                                          self.events.message)  # issue 13
                    return Result(step.id, step.kind, step.image, step.version, PULLED,
                                  time.monotonic() - start, pulled.size, pulled.id, tags=applied)
            args = dict(spec.build_args)
            if spec.parent and parent_id:
                args[dockerfile.PARENT_ARG if spec.parent_ref else spec.parent_arg] = parent_id
            text = self._dockerfile_text(step.image, spec, step.bases, parent_id)
            request = BuildRequest(
                context=spec.path, dockerfile=spec.dockerfile, build_args=args,
                labels=build_labels(self.hierarchy, step, parent_id, self.revision(), self._source or None),
                target=spec.target, platform=spec.platform, network=spec.network,
                tags=() if step.gated else refs_, files=step.file_list, dockerfile_text=text,
            )
            image_id = self._engine_build(step.image, request, log)
        info = self.here.inspect(image_id)
        state.write_json(state.manifest_path(self.root, step.image), planner.manifest(spec, step))
        postbuild.after_build(self.here, self.hierarchy, step.image, image_id, self.root, self.events.message)  # issue 13
        return Result(step.id, step.kind, step.image, step.version, BUILT, time.monotonic() - start,
                      info.size if info else 0, image_id, tags=() if step.gated else refs_, log=str(log))

    def _build_project(self, step: Step, start: float) -> Result:
        if not isinstance(step, ProjectBuild):
            raise BbcError(f"{step.id}: not a project build")
        request = BuildRequest(context=step.context, dockerfile=step.dockerfile, network=step.network,
                               labels={labels.ROLLOUT_PROJECT: step.image})
        log = state.log_path(self.root, step.image, _log_suffix(step))
        image_id = self._engine_build(step.image, request, log)
        return Result(step.id, step.kind, step.image, step.version, BUILT, time.monotonic() - start,
                      image_id=image_id, log=str(log))

    def _dockerfile_text(self, image: str, spec: ImageSpec, resolved: tuple[tuple[bases.Found, str], ...],
                         below_id: str | None) -> str | None:
        """The Dockerfile to send (None: the file as it is): external bases pinned to the digests
        the plan fingerprinted, and a parent written out as `parent_ref` replaced by the exact
        build below."""
        # a base a bbc.yaml mirror holds: the engine gets it from there (issue 22)
        placed = bases.placed(self.here, self.hierarchy.config.mirrors, resolved,
                              lambda line: self.events.message(f"[{image}] {line}"))
        text, loose = bases.pinned_text(spec, resolved, placed)
        for where in loose:
            self.events.message(f"[{image}] warning: base at {where} is put together from variables; "
                                "built from its tag, not pinned to the digest it was fingerprinted with")
        if spec.parent_ref and below_id:
            text = dockerfile.with_parent(text if text is not None else fingerprint.dockerfile_text(spec),
                                          spec.parent_ref)
        return text

    def _built_meanwhile(self, step: Build, parent_id: str | None) -> Any:
        """With a lock shared by other runs: the build another run finished while this one
        waited for the lock (same fingerprint, same parent build), if any."""
        if self._unlocked or step.action == steps.BUILD and step.reasons and "forced" in step.reasons:
            return None
        tagged = self.here.inspect(refs.ref(self.hierarchy.config.ref(step.image), step.version, step.image))
        if tagged is None or tagged.labels.get(labels.FINGERPRINT) != step.fingerprint:
            return None
        if parent_id is not None and tagged.labels.get(labels.PARENT_ID) != parent_id:
            return None
        return tagged

    def _pull(self, step: Build, parent_id: str | None) -> Any:
        """The registry's build of this fingerprint, pulled; None (build instead) if that fails
        or it was built on another parent build than ours."""
        repository = self.hierarchy.config.ref(step.image)
        try:
            info = self.here.pull(repository, step.pull_ref)
        except BbcError as exc:
            self.events.message(f"[{step.image}] pull failed ({exc.message}); building instead")
            return None
        if info.labels.get(labels.FINGERPRINT) != step.fingerprint or (
                parent_id is not None and info.labels.get(labels.PARENT_ID) != parent_id):
            self.events.message(f"[{step.image}] the registry's build is on another parent build; building instead")
            return None
        return info

    def _engine_build(self, image: str, request: BuildRequest, log: Path, mode: str = "w") -> str:
        state.ensure(log.parent)
        with open(log, mode, encoding="utf-8", buffering=1) as out:  # line by line: `tail -f` works
            def on_line(line: str) -> None:
                out.write(line + "\n")
                self.events.line(image, line)

            return self.here.build(request, on_line)

    def _test_part(self, step: Step, start: float) -> Result:
        if not isinstance(step, TestPart):
            raise BbcError(f"{step.id}: not a test part")
        part = step.part
        below_id = self._image_id(step.below)
        below = self.plan.get(step.below) if step.below else None
        if below_id and isinstance(below, Build) and below.image != step.image:  # the parent's build
            below_id = self._parent_here(step.image, below.image, below_id)
        args = dict(part.spec.build_args)
        part_labels = {**part.spec.labels, labels.FINGERPRINT: step.fingerprint,
                       labels.IMAGE: platforms.image_of(step.image),
                       labels.TEST_VARIANT: part.variant}
        if part.arg is not None:
            if below_id is None:
                raise BbcError(f"{step.image}: no build below {part.what} to start from")
            args[dockerfile.PARENT_ARG if part.spec.parent_ref else part.arg] = below_id
            part_labels[labels.PARENT_ID] = below_id
        self.events.message(f"[{step.image}] building {part.what}")
        text = self._dockerfile_text(step.image, part.spec, step.bases, below_id if part.arg else None)
        request = BuildRequest(
            context=part.spec.path, dockerfile=part.spec.dockerfile, build_args=args, labels=part_labels,
            target=part.spec.target, platform=part.spec.platform, network=part.spec.network, tags=(step.ref,),
            dockerfile_text=text,
        )
        log = state.log_path(self.root, step.image, _log_suffix(step))
        image_id = self._engine_build(step.image, request, log)
        return Result(step.id, step.kind, step.image, step.version, BUILT, time.monotonic() - start,
                      image_id=image_id, tags=(step.ref,), log=str(log))

    def _run_test(self, step: Step, start: float) -> Result:
        if not isinstance(step, RunTest):
            raise BbcError(f"{step.id}: not a test run")
        release_id = self._image_id(step.release)
        test_id = self._image_id(step.test_image)
        if release_id is None or test_id is None:
            raise BbcError(f"{step.image}: no image to test")
        checks, skipped = testing.checks_for(self.hierarchy, step.image)
        skips = tuple(testing.CheckResult(s, False, testing.SKIPPED, message=f"skipped by {step.image}'s test.skip")
                      for s in skipped)
        log = state.log_path(self.root, step.image, ".test")
        state.ensure(log.parent)
        lock = threading.Lock()
        results: list[testing.CheckResult] = []
        with open(log, "w", encoding="utf-8") as out:
            def on_line(line: str) -> None:
                with lock:
                    out.write(line + "\n")
                    out.flush()
                self.events.line(step.image, line)

            for check in checks:
                what = " ".join(check.command) if check.command else "expect"
                on_line(f"== test {check.name}: {what}")
                result = testing.run_check(self.here, check, own=check.name == step.image, test_image=test_id,
                                           release_image=release_id, on_line=on_line, keep=self.keep)
                on_line(f"== test {check.name}: {result.status}" + (f" ({result.message})" if result.message else ""))
                results.append(result)
        passed = all(r.status != testing.FAILED for r in results)
        key = self._test_key(step, release_id)
        if key is not None:
            from bbc.plan import testplan

            testplan.remember(self.root, step.image, key, passed=passed)
        return Result(step.id, step.kind, step.image, step.version, PASSED if passed else FAILED,
                      time.monotonic() - start, image_id=test_id,
                      message="" if passed else testing.failure_message(results), log=str(log),
                      checks=(*results, *skips))

    def _test_key(self, step: RunTest, release_id: str) -> str | None:
        build = self.plan.get(step.release)
        if not isinstance(build, Build) or build.fingerprint is None:
            return None
        parts = []
        below = self.plan.get(step.test_image)
        while isinstance(below, TestPart):
            parts.append(below.fingerprint)
            below = self.plan.get(below.below) if below.below else None
        from bbc.plan import testplan

        return testplan.run_key(self.hierarchy, step.image, release_id, build.fingerprint, parts[::-1])

    def _tag_step(self, step: Step, start: float) -> Result:
        image_id = self._image_id(f"build:{step.image}")
        if image_id is None:
            raise BbcError(f"{step.image}: no build to tag")
        with self.image_lock(step.image):
            applied = self._tag(step.image, image_id, set())
        return Result(step.id, step.kind, step.image, step.version, TAGGED, time.monotonic() - start,
                      image_id=image_id, tags=applied)

    def _push(self, step: Step, start: float) -> Result:
        if not isinstance(step, Push):
            raise BbcError(f"{step.id}: not a push")
        image_id = self._image_id(f"build:{step.image}")
        if image_id is None:
            raise BbcError(f"{step.image}: no build to push")
        repository = self.hierarchy.config.ref(step.image)
        tag = refs.candidate_tag(step.fingerprint)
        held = self._held(step.image, tag, step.fingerprint)
        if held:
            # pulled from there, or pushed by another job (a CI pipeline's parent job): pushing
            # again only races that job's tag cleanup on a shared engine
            self.events.message(f"[{step.image}] candidate {tag} already in the registry ({held[:19]})")
            return Result(step.id, step.kind, step.image, step.version, PUSHED, time.monotonic() - start,
                          image_id=image_id, tags=(tag,), digest=held)
        self.here.tag(image_id, repository, tag)
        try:
            digest = self.here.push(repository, tag, lambda line: self.events.line(step.image, line))
        except BbcError as exc:
            raise RegistryError(
                f"{step.image}: pushing {repository}:{tag} failed: {exc.message}",
                tip="no release tag was moved; fix the registry and run `bbc release` again to finish",
            ) from None
        finally:
            self.here.remove_image(f"{repository}:{tag}")  # only the local name; the registry keeps it
        self.events.message(f"[{step.image}] pushed candidate {tag} ({digest[:19]})")
        return Result(step.id, step.kind, step.image, step.version, PUSHED, time.monotonic() - start,
                      image_id=image_id, tags=(tag,), digest=digest)

    def _held(self, image: str, tag: str, fingerprint: str) -> str:
        """The digest under `tag` when the registry holds this fingerprint there, else ""."""
        if self.registry is None or self.repo_of is None:
            return ""
        try:
            manifest = self.registry.manifest(self.repo_of(image), tag)
            found = self.registry.labels_if_present(self.repo_of(image), tag) if manifest else None
        except RegistryError:
            return ""  # the push will say what is wrong
        return manifest.digest if manifest is not None and (found or {}).get(labels.FINGERPRINT) == fingerprint else ""

    def _promote(self, step: Step, start: float) -> Result:
        if not isinstance(step, Promote) or self.registry is None or self.repo_of is None:
            raise BbcError("promote: no registry to promote in")
        from bbc.release import promote

        candidates = {r.image: r.tags[0] for r in self.results.values() if r.kind == "push-candidate" and r.ok}
        released = promote.promote(self.hierarchy, self.registry, self.repo_of, step.images, step.released,
                                   candidates, self.events.message)
        return Result(step.id, step.kind, step.image, step.version, PROMOTED, time.monotonic() - start,
                      released=tuple(released))

    # -- tags -------------------------------------------------------------------------
    def _refs(self, image: str) -> tuple[str, ...]:
        spec = self.hierarchy[image]
        return refs.local_refs(self.hierarchy.config.ref(image), spec.version, image,
                               plain=spec.platform == platforms.native())

    def _tag(self, image: str, image_id: str, present: set[str]) -> tuple[str, ...]:
        out = self._refs(image)
        for ref in out:
            if ref not in present:
                repository, _, tag = ref.rpartition(":")
                self.here.tag(image_id, repository, tag)
        return out


def _log_suffix(step: Step) -> str:
    return {"build": "", "test-layer": ".testlayer", "test-image": ".testimage", "run-test": ".test",
            "push-candidate": ".push", "build-project": ".rollout"}.get(step.kind, f".{step.kind}")


def _why_skipped(step: Step, failed: Result) -> str:
    if step.kind == "build" and failed.kind == "tag":
        return f"parent {failed.image} failed its tests"
    if step.kind == "build" and failed.kind == "build":
        return f"parent {failed.image} {failed.status}"
    if failed.kind == "run-test" and failed.status == FAILED:
        return f"tests of {failed.image} failed"
    what = failed.kind.replace("-", " ")
    return f"{what} of {failed.image} {failed.status}" if failed.image != step.image else f"{what} {failed.status}"


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]

