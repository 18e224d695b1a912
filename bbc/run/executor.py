"""Run a Plan: every step starts as soon as the steps it needs succeeded, up to `jobs` at once.

A failed step skips every step that needs it; independent branches go on unless `fail_fast`;
an engine that stops answering starts nothing more. Steps the plan found already done (up to
date, reused, passed before) finish at once, without a thread or an engine call.

This module only schedules. What a step does is its handler's (bbc/run/handlers/, found by the
step's class); which engine it runs on, the pool's (bbc/run/pool.py). Release tags move last,
once everything else for a build succeeded (its log and manifest written), all of them or none,
or, when the plan gates them on tests, from a Tag step after the tests passed; so a failed or
interrupted run never leaves a half-tagged image.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import TYPE_CHECKING

from bbc.adapters.engine import Engine
from bbc.errors import BbcError, BuildError, EngineLost, Interrupted
from bbc.model.hierarchy import Hierarchy
from bbc.plan.kinds import IDLE, Kind
from bbc.plan.steps import Plan, Step
from bbc.run import postbuild, tagging
from bbc.run.handlers import Context, handler_for
from bbc.run.options import RunOptions
from bbc.run.pool import Pool, Slot
from bbc.run.report import Events
from bbc.run.results import Result, Status

if TYPE_CHECKING:
    from bbc.plan.remote import (
        Remote,  # its module imports the registry client: only when used
    )


class Executor:
    def __init__(self, engine: Engine, hierarchy: Hierarchy, events: Events, options: RunOptions = RunOptions(),
                 remote: Remote | None = None) -> None:
        """`engine` runs everything unless `options.pool` spreads builds over several; `remote`
        is the registry to push to, pull from and move parent builds between engines by."""
        pool = Pool(options.pool or (Slot("", engine, max(1, options.jobs)),), hierarchy, events, remote)
        self.context = Context(hierarchy, events, pool, options, remote, tagging.Source(hierarchy.config.root))
        if options.cache and remote is not None:
            from bbc.plan.buildcache import Sources

            self.context.cache = Sources(remote.client, remote.repo_of, hierarchy.config.ref)
        self.events = events
        self.jobs = max(1, options.jobs)
        self.fail_fast = options.fail_fast
        self._lost = False  # the engine stopped answering: start nothing more

    def run(self, plan: Plan) -> list[Result]:
        self.context.plan = plan
        results = self.context.results
        in_plan = {s.id for s in plan.steps}
        pending = list(plan.steps)
        done: queue.Queue[Result] = queue.Queue()
        running = 0
        stopping = False
        try:
            while pending or running:
                running += self._start(pending, in_plan, done, running, stopping)
                if not running:
                    continue
                result = done.get()  # KeyboardInterrupt lands here; daemon workers die with us
                running -= 1
                results[result.step] = result
                if not result.ok and (self.fail_fast or self._lost):
                    stopping = True
        finally:
            self.context.drop_build_tags()  # no build of this run reads them any more
        postbuild.wait()  # issue 13: the SBOMs written beside the builds
        return [results[s.id] for s in plan.steps]

    def _start(self, pending: list[Step], in_plan: set[str], done: queue.Queue[Result], running: int,
               stopping: bool) -> int:
        """Settle every pending step whose needs are settled: skipped, idle, or started in a
        thread while there is room; how many threads it started."""
        results = self.context.results
        started = 0
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
                elif step.action in IDLE:
                    results[step.id] = self._idle(step)
                elif stopping:
                    results[step.id] = self._skip(step, "not started: the engine stopped answering"
                                                  if self._lost else "not started (--fail-fast)")
                elif running + started < self.jobs:
                    started += 1
                    self.events.started(step.image, step)
                    threading.Thread(target=self._worker, args=(step, done), daemon=True).start()
                else:
                    continue
                pending.remove(step)
                progressed = True
        return started

    def _skip(self, step: Step, why: str) -> Result:
        result = Result.of(step, Status.SKIPPED, message=why)
        self.events.finished(result)
        return result

    def _idle(self, step: Step) -> Result:
        """A step the plan found already done."""
        handler = handler_for(step)
        if handler is None:
            raise BbcError(f"{step.id}: nothing to reuse")  # the planner only marks such steps idle
        return handler.idle(self.context, step)

    def _worker(self, step: Step, done: queue.Queue[Result]) -> None:
        start = time.monotonic()
        pool = self.context.pool
        slot: Slot | None = None
        try:
            handler = handler_for(step)
            if handler is None:
                raise BbcError(f"{step.id}: no way to run a {step.kind} step")
            slot = pool.place(step)
            try:
                result = pool.guarded(slot, lambda: handler.run(self.context, step, start))
            except EngineLost as lost:
                slot = pool.replace(step, slot, lost)  # raises when there is nowhere else to go
                result = handler.run(self.context, step, start)
        except Interrupted:  # Ctrl-C cut it short: it neither failed nor passed; the CLI says so
            return
        except EngineLost as exc:
            if pool.gone:
                self._lost = True  # start nothing more on an engine that is gone
            result = self._failed(step, start, exc.message)
        except BuildError as exc:
            tail = "\n".join(exc.log_tail[-12:])
            result = self._failed(step, start, exc.message + (f"\n{tail}" if tail else ""))
        except BbcError as exc:
            result = self._failed(step, start, exc.message)
        except OSError as exc:  # a file of .bbc/ (a full disk): named
            where = f"{exc.filename}: " if exc.filename else ""
            result = self._failed(step, start, f"{where}{exc.strerror or exc}")
        except Exception as exc:  # a bug or an engine hiccup: report it on this step, keep going
            result = self._failed(step, start, f"{type(exc).__name__}: {exc}")
        finally:
            pool.leave()
        if slot is not None:
            result = pool.settle(step, slot, result)
        self.events.finished(result)
        done.put(result)

    def _failed(self, step: Step, start: float, message: str) -> Result:
        """The failure of `step`, pointing at its log when this run wrote all of it."""
        handler = handler_for(step)
        log = handler.log_path(self.context, step) if handler is not None else None
        return Result.of(step, Status.FAILED, start, message=message,
                         log=str(log) if self.context.pointable(log) else "")


def _why_skipped(step: Step, failed: Result) -> str:
    if step.kind == Kind.BUILD and failed.kind == Kind.TAG:
        return f"parent {failed.image} failed its tests"
    if step.kind == Kind.BUILD and failed.kind == Kind.BUILD:
        return f"parent {failed.image} {failed.status}"
    if failed.kind == Kind.RUN_TEST and failed.status == Status.FAILED:
        return f"tests of {failed.image} failed"
    what = failed.kind.replace("-", " ")
    return f"{what} of {failed.image} {failed.status}" if failed.image != step.image else f"{what} {failed.status}"
