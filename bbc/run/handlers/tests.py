"""The test sandwich's steps: a test layer or test image built on the build below it, and the
run of an image's own and inherited tests (a pass remembered under its key, bbc/plan/testplan.py)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from bbc.adapters import state
from bbc.adapters.engine import BuildRequest
from bbc.errors import BbcError
from bbc.model import dockerfile, labels, platforms
from bbc.plan import testing, testplan
from bbc.plan.kinds import Kind
from bbc.plan.steps import Build, RunTest, TestPart
from bbc.run.handlers.base import Context, Handler
from bbc.run.results import Result, Status


class TestPartHandler(Handler[TestPart]):
    __test__ = False

    def log_path(self, ctx: Context, step: TestPart) -> Path:
        return state.log_path(ctx.root, step.image, ".testlayer" if step.kind == Kind.TEST_LAYER else ".testimage")

    def run(self, ctx: Context, step: TestPart, start: float) -> Result:
        part = step.part
        below_id = ctx.image_id(step.below)
        below = ctx.plan.get(step.below) if step.below else None
        if below_id and isinstance(below, Build) and below.image != step.image:  # the parent's build
            below_id = ctx.pool.parent_here(step.image, below.image, below_id, below.fingerprint)
        args = dict(part.spec.build_args)
        part_labels = {**part.spec.labels, labels.FINGERPRINT: step.fingerprint,
                       labels.IMAGE: platforms.image_of(step.image),
                       labels.TEST_VARIANT: part.variant}
        if part.arg is not None:
            if below_id is None:
                raise BbcError(f"{step.image}: no build below {part.what} to start from")
            args[dockerfile.PARENT_ARG if part.spec.parent_ref else part.arg] = below_id
            part_labels[labels.PARENT_ID] = below_id
        used_args, written = ctx.build_args(part.spec, ctx.used_here(step, part.spec))  # issue 21: as its release build
        args.update(used_args)
        ctx.events.message(f"[{step.image}] building {part.what}")
        text = ctx.dockerfile_text(step.image, part.spec, step.bases, below_id if part.arg else None, written)
        request = BuildRequest(
            context=part.spec.path, dockerfile=part.spec.dockerfile, build_args=args, labels=part_labels,
            target=part.spec.target, platform=part.spec.platform, network=part.spec.network, tags=(step.ref,),
            dockerfile_text=text, secrets=ctx.secrets(part.spec),
        )
        log = self.log_path(ctx, step)
        image_id = ctx.engine_build(step.image, request, log)
        return Result.of(step, Status.BUILT, start, image_id=image_id, tags=(step.ref,), log=str(log))

    def idle(self, ctx: Context, step: TestPart) -> Result:
        """Already built with this fingerprint: reused, said in one line."""
        if step.existing is None:
            return super().idle(ctx, step)
        ctx.events.message(f"[{step.image}] reusing {step.part.what} ({step.existing.id.removeprefix('sha256:')[:12]})")
        return Result.of(step, Status.REUSED, image_id=step.existing.id)


class RunTestHandler(Handler[RunTest]):
    LOG: ClassVar[str] = ".test"

    def run(self, ctx: Context, step: RunTest, start: float) -> Result:
        release_id = ctx.image_id(step.release)
        test_id = ctx.image_id(step.test_image)
        if release_id is None or test_id is None:
            raise BbcError(f"{step.image}: no image to test")
        checks, skipped = testing.checks_for(ctx.hierarchy, step.image)
        skips = tuple(testing.CheckResult(s, False, testing.CheckStatus.SKIPPED,
                                          message=f"skipped by {step.image}'s test.skip") for s in skipped)
        log = state.log_path(ctx.root, step.image, self.LOG)
        results = _run_checks(ctx, step, checks, test_id, release_id, log)
        passed = all(r.status != testing.CheckStatus.FAILED for r in results)
        key = _key(ctx, step, release_id)
        if key is not None:
            testplan.remember(ctx.root, step.image, key, passed=passed)
        return Result.of(step, Status.PASSED if passed else Status.FAILED, start, image_id=test_id,
                         message="" if passed else testing.failure_message(results), log=str(log),
                         checks=(*results, *skips))

    def idle(self, ctx: Context, step: RunTest) -> Result:
        """Passed before on the same image with the same tests."""
        result = Result.of(step, Status.CACHED, message=step.reasons[-1])
        ctx.events.finished(result)
        return result


# A test's output in its log: the first LOG_HEAD bytes as they come, then only the last
# LOG_TAIL (written when it ends): a test printing gigabytes keeps its last lines.
LOG_HEAD = 2 * 1024 * 1024
LOG_TAIL = 2 * 1024 * 1024


def _run_checks(ctx: Context, step: RunTest, checks: list[testing.Check], test_id: str, release_id: str,
                log: Path) -> list[testing.CheckResult]:
    """Each check in turn, its output in `log` and streamed as events."""
    results: list[testing.CheckResult] = []
    with ctx.open_log(log, head=LOG_HEAD, tail=LOG_TAIL) as out:
        def on_output(line: str) -> None:
            out.output(line)
            ctx.events.line(step.image, line)

        def say(line: str) -> None:
            out.line(line)
            ctx.events.line(step.image, line)

        for check in checks:
            what = " ".join(check.command) if check.command else "expect"
            say(f"== test {check.name}: {what}")
            result = testing.run_check(ctx.here, check, own=check.name == step.image, test_image=test_id,
                                       release_image=release_id, on_line=on_output, keep=ctx.options.keep)
            say(f"== test {check.name}: {result.status}" + (f" ({result.message})" if result.message else ""))
            results.append(result)
    return results


def _key(ctx: Context, step: RunTest, release_id: str) -> str | None:
    """The key a pass is remembered under (None: the build has no fingerprint to key it by)."""
    build = ctx.plan.get(step.release)
    if not isinstance(build, Build) or build.fingerprint is None:
        return None
    parts = []
    below = ctx.plan.get(step.test_image)
    while isinstance(below, TestPart):
        parts.append(below.fingerprint)
        below = ctx.plan.get(below.below) if below.below else None
    return testplan.run_key(ctx.hierarchy, step.image, release_id, build.fingerprint, parts[::-1])
