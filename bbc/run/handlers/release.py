"""What happens to a build after it (and its tests) succeeded: release tags applied (a gated
`bbc build --test`), the candidate pushed, and every release tag promoted at once."""

from __future__ import annotations

from typing import ClassVar

from bbc.errors import BbcError, RegistryError
from bbc.model import refs
from bbc.plan.kinds import Kind
from bbc.plan.steps import Promote, Push, Tag
from bbc.run.handlers.base import Context, Handler
from bbc.run.results import Result, Status


class TagHandler(Handler[Tag]):
    LOG = None

    def run(self, ctx: Context, step: Tag, start: float) -> Result:
        image_id = ctx.image_id(f"build:{step.image}")
        if image_id is None:
            raise BbcError(f"{step.image}: no build to tag")
        with ctx.lock(step.image):
            applied = ctx.tag(step.image, image_id, set())
        return Result.of(step, Status.TAGGED, start, image_id=image_id, tags=applied)


class PushHandler(Handler[Push]):
    LOG: ClassVar[str] = ".push"

    def run(self, ctx: Context, step: Push, start: float) -> Result:
        image_id = ctx.image_id(f"build:{step.image}")
        if image_id is None:
            raise BbcError(f"{step.image}: no build to push")
        repository = ctx.hierarchy.config.ref(step.image)
        tag = refs.candidate_tag(step.fingerprint)
        held = ctx.remote.held(step.image, tag, step.fingerprint) if ctx.remote is not None else ""
        if held:
            # pulled from there, or pushed by another job (a CI pipeline's parent job): pushing
            # again only races that job's tag cleanup on a shared engine
            ctx.events.message(f"[{step.image}] candidate {tag} already in the registry ({held[:19]})")
            _mark_latest(ctx, step.image, tag)
            return Result.of(step, Status.PUSHED, start, image_id=image_id, tags=(tag,), digest=held)
        ctx.here.tag(image_id, repository, tag)
        try:
            digest = ctx.here.push(repository, tag, lambda line: ctx.events.line(step.image, line))
        except BbcError as exc:
            raise RegistryError(
                f"{step.image}: pushing {repository}:{tag} failed: {exc.message}",
                tip="no release tag was moved; fix the registry and run `bbc release` again to finish",
            ) from None
        finally:
            ctx.here.remove_image(f"{repository}:{tag}")  # only the local name; the registry keeps it
        ctx.events.message(f"[{step.image}] pushed candidate {tag} ({digest[:19]})")
        _mark_latest(ctx, step.image, tag)
        return Result.of(step, Status.PUSHED, start, image_id=image_id, tags=(tag,), digest=digest)


def _mark_latest(ctx: Context, image: str, tag: str) -> None:
    """The newest candidate is where later builds take their cache from (issue 24); a registry
    refusing the tag costs them that cache, never this push."""
    problem = ctx.remote.mark_latest(image, tag) if ctx.remote is not None else ""
    if problem:
        ctx.events.message(f"[{image}] {refs.latest_candidate_tag(image)} not moved ({problem}): "
                           "later builds take their cache from releases only")


class PromoteHandler(Handler[Promote]):
    LOG = None

    def run(self, ctx: Context, step: Promote, start: float) -> Result:
        if ctx.remote is None:
            raise BbcError("promote: no registry to promote in")
        from bbc.release import promote  # only a release promotes

        candidates = {r.image: r.tags[0] for r in ctx.results.values() if r.kind == Kind.PUSH and r.ok}
        signing = None
        if ctx.options.signer is not None:
            from bbc.run.attest import signing_for

            signing = signing_for(ctx, ctx.options.signer)
        try:
            released = promote.promote(ctx.hierarchy, ctx.remote.client, ctx.remote.repo_of, step.images,
                                       step.released, candidates, ctx.events.message, signing)
        except promote.Stopped as stopped:  # part-way: the rows say what each image holds now
            return Result.of(step, Status.FAILED, start, message=stopped.message, released=tuple(stopped.released))
        return Result.of(step, Status.PROMOTED, start, released=tuple(released))
