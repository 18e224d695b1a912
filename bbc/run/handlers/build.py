"""Builds: an image of the hierarchy (or its build pulled from the registry, or another run's
build of it reused), and a downstream project's Dockerfile (`bbc rollout --test`)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar

from bbc.adapters import state
from bbc.adapters.engine import BuildRequest, ImageInfo
from bbc.config import ImageSpec
from bbc.errors import BbcError
from bbc.model import dockerfile, labels, refs
from bbc.plan import planner
from bbc.plan.kinds import Action
from bbc.plan.steps import Build, ProjectBuild
from bbc.run import postbuild, tagging, trusted
from bbc.run.handlers.base import Context, Handler
from bbc.run.results import Result, Status


class BuildHandler(Handler[Build]):
    """Release tags move last, once everything else for the build succeeded (its log and its
    what-changed manifest written), all of them or none (tagging.tag puts back what it moved);
    with a gate on the image's tests, a Tag step moves them after the tests instead."""

    LOG: ClassVar[str] = ""

    def run(self, ctx: Context, step: Build, start: float) -> Result:
        spec = ctx.hierarchy[step.image]
        if step.fingerprint is None:
            raise BbcError(f"{step.image}: fingerprint unknown (run its prepare step first)")
        started = datetime.now(timezone.utc)
        parent_id = _parent_id(ctx, step, spec)
        used = ctx.used_here(step, spec)
        with ctx.lock(step.image):
            done = _reused(ctx, step, (parent_id, used), start)
            if done is not None:
                return done
            trusted.bases(ctx.hierarchy, step)  # policy.trusted_bases, before anything is built
            log = state.log_path(ctx.root, step.image, self.LOG)
            image_id = ctx.engine_build(step.image, _request(ctx, step, spec, parent_id, used), log)
            info = ctx.here.inspect(image_id)
            # the build's times go into its signed provenance when it is released (bbc/release/facts.py)
            built = {"started": started.isoformat(), "finished": datetime.now(timezone.utc).isoformat()}
            _remember(ctx, step, {**planner.manifest(spec, step), "built": built})
            # in the lock: a run waiting for it finds this build by its tag
            tags = () if step.gated else ctx.tag(step.image, image_id, set())
        postbuild.after_build(ctx.here, ctx.hierarchy, step.image, image_id, ctx.root, ctx.events.message)  # issue 13
        return Result.of(step, Status.BUILT, start, size=info.size if info else 0, image_id=image_id,
                         tags=tags, log=str(log))

    def idle(self, ctx: Context, step: Build) -> Result:
        """Up to date: it gets any release tag it lacks."""
        existing = step.existing
        if existing is None:
            return super().idle(ctx, step)
        with ctx.pool.holding(step.image, existing.id):  # up to date on one engine of a pool: that one
            applied = ctx.tag(step.image, existing.id, set(existing.tags))
        result = Result.of(step, Status.UP_TO_DATE, size=existing.size, image_id=existing.id, tags=applied)
        ctx.events.finished(result)
        return result


def _remember(ctx: Context, step: Build, manifest: dict[str, Any]) -> None:
    """The build's what-changed manifest (.bbc/state/), for the next plan's reasons."""
    path = state.manifest_path(ctx.root, step.image)
    try:
        state.write_json(path, manifest)
    except OSError as exc:
        raise BbcError(f"cannot write {path}: {exc.strerror or exc}; nothing was tagged") from None


def _parent_id(ctx: Context, step: Build, spec: ImageSpec) -> str | None:
    """The parent's build this one starts from, on this step's engine."""
    if not spec.parent:
        return None
    parent_id = ctx.image_id(f"build:{spec.parent}")
    if parent_id is None:
        raise BbcError(f"{step.image}: parent {spec.parent} has no build to start from")
    return ctx.pool.parent_here(step.image, spec.parent, parent_id, step.parent_fingerprint) if parent_id else parent_id


Below = tuple[str | None, dict[str, tuple[str, str]]]  # the parent build's ID, {key: (used image, build ID)}


def _on(info: ImageInfo, below: Below) -> bool:
    """Whether `info` was built on exactly these parent and used builds (its labels say so)."""
    parent_id, used = below
    if parent_id is not None and info.labels.get(labels.PARENT_ID) != parent_id:
        return False
    return {k: i for k, (_, i) in labels.used_builds(info.labels).items()} == {k: i for k, (_, i) in used.items()}


def _reused(ctx: Context, step: Build, below: Below, start: float) -> Result | None:
    """Another run's build of this fingerprint on the same parent and used builds (made while
    this run waited for the lock), or, with a PULL action, the registry's; None: build it."""
    done = _built_meanwhile(ctx, step, below)
    if done is not None:
        ctx.events.message(f"[{step.image}] {_why_there(ctx, step, done)}")
        applied = () if step.gated else ctx.tag(step.image, done.id, set(done.tags))
        return Result.of(step, Status.UP_TO_DATE, start, size=done.size, image_id=done.id, tags=applied)
    pulled = _pull(ctx, step, below) if step.action == Action.PULL else None
    if pulled is None:
        return None
    applied = () if step.gated else ctx.tag(step.image, pulled.id, set(pulled.tags))
    postbuild.after_build(ctx.here, ctx.hierarchy, step.image, pulled.id, ctx.root, ctx.events.message)  # issue 13
    return Result.of(step, Status.PULLED, start, size=pulled.size, image_id=pulled.id, tags=applied)


def _built_meanwhile(ctx: Context, step: Build, below: Below) -> ImageInfo | None:
    """With a lock shared by other runs: the build another run finished while this one
    waited for the lock (same fingerprint, same parent and used builds), if any."""
    if not ctx.shared or step.action == Action.BUILD and step.reasons and "forced" in step.reasons:
        return None
    tagged = ctx.here.inspect(refs.ref(ctx.hierarchy.config.ref(step.image), step.version, step.image))
    if tagged is None or tagged.labels.get(labels.FINGERPRINT) != step.fingerprint:
        return None
    return tagged if _on(tagged, below) else None


def _why_there(ctx: Context, step: Build, found: ImageInfo) -> str:
    """Why the build this step was to make is there already. Tagged as it was when the plan
    looked: no other run made it; its parent was rebuilt (it had gone: `docker rmi`) as the
    very image it was before, so this build on it is current again."""
    ref = refs.ref(ctx.hierarchy.config.ref(step.image), step.version, step.image)
    seen = ctx.plan.index.by_tag.get(ref)
    if seen is None or seen.id != found.id:
        return "another bbc run built it meanwhile; reusing its build"
    parent = ctx.hierarchy[step.image].parent
    if parent:
        return (f"{parent} came out as the same image as before: the build of {step.image} on it is current; "
                "reusing it")
    return "its build is here already; reusing it"


def _pull(ctx: Context, step: Build, below: Below) -> ImageInfo | None:
    """The registry's build of this fingerprint, pulled (by the digest that verified, under
    policy.signed_parents); None (build instead) if that fails or it was built on another parent
    build, or with other used builds, than ours."""
    repository = ctx.hierarchy.config.ref(step.image)
    reference = trusted.pulled(ctx.hierarchy, ctx.remote, step, ctx.events.message)
    if reference is None:
        return None
    try:
        info = ctx.here.pull(repository, reference)
    except BbcError as exc:
        ctx.events.message(f"[{step.image}] pull failed ({exc.message}); building instead")
        return None
    if info.labels.get(labels.FINGERPRINT) != step.fingerprint or not _on(info, below):
        what = ("on another parent build" if below[0] and info.labels.get(labels.PARENT_ID) != below[0]
                else "made with other builds of the images it uses")
        ctx.events.message(f"[{step.image}] the registry's build is {what}; building instead")
        return None
    return info


def _request(ctx: Context, step: Build, spec: ImageSpec, parent_id: str | None,
             used: dict[str, tuple[str, str]]) -> BuildRequest:
    args = dict(spec.build_args)
    if spec.parent and parent_id:
        args[dockerfile.PARENT_ARG if spec.parent_ref else spec.parent_arg] = parent_id
    used_args, written = ctx.build_args(spec, used)
    args.update(used_args)
    text = ctx.dockerfile_text(step.image, spec, step.bases, parent_id, written)
    return BuildRequest(
        context=spec.path, dockerfile=spec.dockerfile, build_args=args,
        labels=tagging.build_labels(ctx.hierarchy, step, parent_id, ctx.source.revision(), ctx.source.url, used),
        target=spec.target, platform=spec.platform, network=spec.network,
        files=step.file_list, dockerfile_text=text, secrets=ctx.secrets(spec),  # no tags: run() moves them last
        cache_from=ctx.cache_from(step.image, step.version, spec.platform),
    )


class ProjectBuildHandler(Handler[ProjectBuild]):
    LOG: ClassVar[str] = ".rollout"

    def run(self, ctx: Context, step: ProjectBuild, start: float) -> Result:
        request = BuildRequest(context=step.context, dockerfile=step.dockerfile, network=step.network,
                               labels={labels.ROLLOUT_PROJECT: step.image})
        log = state.log_path(ctx.root, step.image, self.LOG)
        image_id = ctx.engine_build(step.image, request, log)
        return Result.of(step, Status.BUILT, start, image_id=image_id, log=str(log))
