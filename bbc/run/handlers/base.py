"""What a step handler is (Handler: runs one kind of step) and what it gets (Context: the run's
shared state: the hierarchy, the engine this step runs on, the results so far)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, ContextManager, Generic, TypeVar

from bbc.adapters import state
from bbc.adapters.engine import BuildRequest, Engine
from bbc.config import ImageSpec
from bbc.errors import BbcError
from bbc.model import dockerfile, refs
from bbc.model.hierarchy import Hierarchy
from bbc.plan import bases, fingerprint
from bbc.plan.steps import Build, Plan, Step, TestPart
from bbc.run import tagging
from bbc.run.logfile import LogFile
from bbc.run.options import RunOptions
from bbc.run.pool import Pool
from bbc.run.report import Events
from bbc.run.results import Result

if TYPE_CHECKING:
    from bbc.plan.buildcache import Sources
    from bbc.plan.remote import (
        Remote,  # its module imports the registry client: only when used
    )

S = TypeVar("S", bound=Step)


@dataclass
class Context:
    hierarchy: Hierarchy
    events: Events
    pool: Pool
    options: RunOptions
    remote: Remote | None
    source: tagging.Source
    results: dict[str, Result] = field(default_factory=dict)  # step id -> result, as they finish
    logs: dict[Path, LogFile] = field(default_factory=dict)  # the logs this run opened
    plan: Plan = field(default_factory=lambda: Plan(()))
    cache: Sources | None = None  # where builds find earlier builds to take their cache from
    # the local-only tags this run put on used builds for Dockerfiles that name them written out
    # (build_args), each with its engine: removed when the run ends (drop_build_tags)
    build_tags: dict[tuple[int, str], Engine] = field(default_factory=dict)  # (id of engine, ref) -> engine
    _tags_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def cache_from(self, image: str, version: str, platform: str | None) -> tuple[str, ...]:
        """The registry's earlier build of `image` a build may take its cache from (issue 24)."""
        return self.cache.of(image, version, platform) if self.cache is not None else ()

    @property
    def root(self) -> Path:
        return self.hierarchy.config.root

    @property
    def here(self) -> Engine:
        """The engine the calling thread's step runs on."""
        return self.pool.here

    def image_id(self, step_id: str | None) -> str | None:
        """The image a finished step made or found."""
        result = self.results.get(step_id) if step_id is not None else None
        return result.image_id if result else None

    def lock(self, image: str) -> ContextManager[Any]:
        return self.options.image_lock(image) if self.options.image_lock is not None else nullcontext()

    @property
    def shared(self) -> bool:
        """Other runs may build in this tree meanwhile (they take the image lock too)."""
        return self.options.image_lock is not None

    def tag(self, image: str, image_id: str, present: set[str]) -> tuple[str, ...]:
        return tagging.tag(self.here, self.hierarchy, image, image_id, present)

    def open_log(self, path: Path, *, head: int | None = None, tail: int = 0, failing: str = "") -> LogFile:
        """A step's log, written from the start by this run (bbc/run/logfile.py); a failed step
        points at it only when every line reached it (`pointable`)."""
        out = LogFile(path, head=head, tail=tail, failing=failing)
        self.logs[path] = out
        return out

    def pointable(self, path: Path | None) -> bool:
        """Whether `path` is a whole log this run wrote (never an older run's)."""
        out = self.logs.get(path) if path is not None else None
        return out is not None and out.intact

    def engine_build(self, image: str, request: BuildRequest, log: Path) -> str:
        """Build on this step's engine, its log written to `log` and streamed as events
        (`--no-cache`: every step runs again)."""
        if not self.options.cache:
            request = replace(request, cache_from=(), no_cache=True)
        with self.open_log(log, failing="nothing was tagged") as out:
            def on_line(line: str) -> None:
                out.line(line)
                self.events.line(image, line)

            return self.here.build(request, on_line)

    def secrets(self, spec: ImageSpec) -> dict[str, bytes]:
        """The values of `spec`'s build secrets (bbc.yaml `secrets:`), read now; a missing file
        or variable is an error located at the secret, before the build."""
        import os

        out: dict[str, bytes] = {}
        image = spec.name.partition("@")[0]
        for secret_id, where in spec.secrets.items():
            place = self.hierarchy.config.where("images", image, "secrets", secret_id)
            if where.startswith("env:"):
                value = os.environ.get(where[4:])
                if value is None:
                    raise BbcError(f"{place}: ${where[4:]} is not set", tip="export it (a CI secret); nothing was built")
                out[secret_id] = value.encode()
            else:
                try:
                    out[secret_id] = Path(where).read_bytes()
                except OSError as exc:
                    raise BbcError(f"{place}: cannot read {where}: {exc.strerror}",
                                   tip="nothing was built") from None
        return out

    def dockerfile_text(self, image: str, spec: ImageSpec, resolved: tuple[tuple[bases.Found, str], ...],
                        below_id: str | None, written: Mapping[str, str] | None = None) -> str | None:
        """The Dockerfile to send (None: the file as it is): external bases pinned to the digests
        the plan fingerprinted, a parent written out as `parent_ref` replaced by the exact
        build below, and each used image written out (`written`: its reference -> a local tag
        of the exact build to read) replaced by that build."""
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
        for i, (ref, tag) in enumerate((written or {}).items()):
            text = dockerfile.with_written(text if text is not None else fingerprint.dockerfile_text(spec), ref,
                                           written_arg(i), tag)
        return text

    def used_here(self, step: Build | TestPart, spec: ImageSpec) -> dict[str, tuple[str, str]]:
        """{key: (used image, its build's ID on this step's engine)} of each image `spec` uses:
        the builds this run made or found, brought through the registry when another engine
        holds them (as a parent is)."""
        out: dict[str, tuple[str, str]] = {}
        for use in spec.uses:
            used = self.plan.get(f"build:{use.image}")
            image_id = self.image_id(f"build:{use.image}")
            if image_id is None or not isinstance(used, Build):
                raise BbcError(f"{step.image}: used image {use.image} has no build to read")
            out[use.key] = (use.image, self.pool.parent_here(step.image, use.image, image_id, used.fingerprint,
                                                             role="used image"))
        return out

    def build_args(self, spec: ImageSpec, used: Mapping[str, tuple[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
        """The build args carrying the used builds, and {reference written out: a local tag of
        its build} for the Dockerfile (dockerfile_text), tagged here now."""
        args: dict[str, str] = {}
        written: dict[str, str] = {}
        for i, use in enumerate(u for u in spec.uses if u.key in used):
            image, image_id = used[use.key]
            if not use.written:
                args[use.key] = image_id
                continue
            repository, tag = self.hierarchy.config.ref(image), refs.build_tag(image_id)
            self.here.tag(image_id, repository, tag)
            ref = f"{repository}:{tag}"
            with self._tags_lock:
                self.build_tags[(id(self.here), ref)] = self.here
            written[use.key] = ref
            args[written_arg(len(written) - 1)] = image_id
        return args, written

    def drop_build_tags(self) -> None:
        """Remove the build tags of used images (build_args) once no build of this run reads
        them: left behind, each would keep an old build of the used image named, so that
        `docker image prune` never frees it."""
        with self._tags_lock:
            tags, self.build_tags = self.build_tags, {}
        for (_, ref), engine in tags.items():
            try:
                engine.remove_image(ref)  # the tag only: the build keeps its own tags
            except BbcError:
                pass  # an engine gone meanwhile: its tags went with it, or the next run's build moves them


def written_arg(i: int) -> str:
    """The build arg that carries the i-th used image written out in a FROM line."""
    return f"BBC_USED_IMAGE_{i}"


class Handler(Generic[S]):
    """Runs the steps of one class (bbc/run/handlers/__init__.py maps each class to its handler)."""

    # the step's log is .bbc/logs/<image><LOG>.log; None: the step writes no log
    LOG: ClassVar[str | None] = ""

    def run(self, ctx: Context, step: S, start: float) -> Result:
        """Do the step on ctx.here (raising BbcError on failure); `start` is its time.monotonic()."""
        raise NotImplementedError

    def idle(self, ctx: Context, step: S) -> Result:
        """The result of a step the plan found already done, announced on ctx.events."""
        raise BbcError(f"{step.id}: nothing to reuse")  # the planner only marks such steps idle

    def log_path(self, ctx: Context, step: S) -> Path | None:
        return None if self.LOG is None else state.log_path(ctx.root, step.image, self.LOG)
