"""From a command's arguments to the one Plan: which images, their prepare steps, the engine's
index (one label-filtered query) and, when asked, what the registry already holds.

Every command that builds, tests or releases comes through here and hands the plan to the
one executor; commands never import each other.
"""

from __future__ import annotations

from dataclasses import replace

from typing import TYPE_CHECKING

from bbc.plan import bases, fingerprint, planner, prepare
from bbc.plan import steps
from bbc.model import labels, platforms, refs
from bbc.run import report
from collections.abc import Sequence

from bbc.adapters.engine import Engine
from bbc.errors import RegistryError
from bbc.run import placement
from bbc.run.executor import Executor
from bbc.run.options import RunOptions
from bbc.run.pool import Slot
from bbc.run.results import Result
from bbc.model.hierarchy import Hierarchy
from bbc.plan.kinds import Action, Kind
from bbc.plan.steps import Plan, Scope, Selection

if TYPE_CHECKING:
    from bbc.adapters.registry.protocol import RegistryAPI
    from bbc.plan.remote import Remote


def units(hierarchy: Hierarchy, sel: Selection) -> tuple[Hierarchy, Selection]:
    """The hierarchy and selection in units: one per platform of a multi-platform image."""
    expanded = platforms.expand(hierarchy)
    return expanded, sel.in_units(expanded)


def run_prepares(hierarchy: Hierarchy, sel: Selection, events: report.Events) -> None:
    """Run the pending prepare steps of the selected images and what they need: their outputs
    are build inputs, so the plan that builds is made after them."""
    root = hierarchy.config.root
    # prepare is per image: a platform named alone (`static@arm64`) prepares its image
    sel = replace(sel, names=tuple(dict.fromkeys(platforms.image_of(n) for n in sel.names)),
                  changed=None if sel.changed is None else {platforms.image_of(n): f for n, f in sel.changed.items()})
    chosen, needed = planner.select(hierarchy, sel)
    for name in hierarchy.sort(chosen | needed):
        spec = hierarchy[name]
        why = prepare.pending(spec, root)
        if why:
            events.message(f"[{name}] prepare: {why}; running {spec.prepare.command if spec.prepare else ''}")
            prepare.run(spec, root, lambda line: events.line(name, line))  # noqa: B023 (runs now)
            events.message(f"[{name}] prepared")


def index(engine: Engine) -> steps.Index:
    """Every image bbc labelled, in one engine call (test images included)."""
    return steps.Index.of(engine.images_with_label(labels.FINGERPRINT))


# Up to this many images, the plan first asks for each image's X.Y.Z build by name. Any
# listing, even label-filtered, costs the engine time for every image it holds (measured:
# ~65 us each; 1,000 unrelated images added 55 ms to a 0.23 s up-to-date build), while
# asking by name does not; past this size one listing is cheaper than the names.
INSPECT_AT_MOST = 64


def make_plan(hierarchy: Hierarchy, engine: Engine, sel: Selection, scope: Scope = Scope(),
              digests: dict[tuple[str, str], fingerprint.ContextDigest] | None = None,
              others: Sequence[Engine] = ()) -> Plan:
    """The plan, from the engine's answer to as few questions as a no-op needs: the X.Y.Z
    builds by name (small hierarchies), and only when something has to be done, one
    label-filtered listing of every bbc image (test images and older builds included)."""
    digests = {} if digests is None else digests
    if scope.bases is None:
        scope = replace(scope, bases=bases.Resolver(engine, hierarchy.config.mirrors).digest)
    hierarchy, sel = units(hierarchy, sel)
    chosen, needed = planner.select(hierarchy, sel)
    if len(chosen | needed) <= INSPECT_AT_MOST:
        names = [refs.ref(hierarchy.config.ref(n), hierarchy[n].version, n) for n in hierarchy.sort(chosen | needed)]
        # a pool: a build on any of its engines counts (the executor finds which)
        tagged = steps.Index.of(i for e in (engine, *others) for i in e.inspect_many(names).values() if i is not None)
        plan = planner.plan(hierarchy, sel, tagged, scope, digests, (chosen, needed))
        if not plan.busy:
            return plan
    found = index(engine)
    for other in others:
        found = steps.Index.of([*found.images, *index(other).images])
    return planner.plan(hierarchy, sel, found, scope, digests, (chosen, needed))


def execute(hierarchy: Hierarchy, engine: Engine, sel: Selection, events: report.Events, *, scope: Scope = Scope(),
            options: RunOptions = RunOptions(), registry: RegistryAPI | None = None,
            quiet_when_idle: bool = False) -> tuple[Plan, list[Result]]:
    """Prepare, plan once (asking the registry only when something would build or be released)
    and run. With `quiet_when_idle`, a plan with nothing to do runs without a line of output."""
    run_prepares(hierarchy, sel, events)
    hierarchy, sel = units(hierarchy, sel)
    digests: dict[tuple[str, str], fingerprint.ContextDigest] = {}  # contexts are read once a run
    if scope.bases is None:
        scope = replace(scope, bases=bases.Resolver(engine, hierarchy.config.mirrors).digest)  # one resolver: one answer per base a run
    plan = make_plan(hierarchy, engine, sel, scope, digests, [s.engine for s in options.pool[1:]])
    several = len(options.pool) > 1
    where: Remote | None = None
    if scope.release or ((options.pull or options.cache) and plan.to_build) or (several and plan.busy):
        from bbc.plan import remote  # the registry is asked only when something would build

        where = remote.Remote(*remote.registry_for(hierarchy, registry))
        plan = _replan(hierarchy, sel, plan, scope, digests, where, pull=options.pull)
    _can_emulate(hierarchy, plan, engine, options.pool)
    for warning in plan.warnings:
        events.message(f"warning: {warning}")
    if quiet_when_idle and not plan.busy:
        events = report.Quiet()
    if several:
        options = replace(options, jobs=min(options.jobs, sum(s.jobs for s in options.pool)))
    return plan, Executor(engine, hierarchy, events, options, where).run(plan)


def _replan(hierarchy: Hierarchy, sel: Selection, plan: Plan, scope: Scope,
            digests: dict[tuple[str, str], fingerprint.ContextDigest], where: Remote, *, pull: bool) -> Plan:
    """The plan again, knowing what the registry holds: builds to pull rather than build, and
    for a release, the images whose X.Y.Z already holds this exact build."""
    from bbc.plan import remote
    from bbc.release import promote

    if scope.release:
        try:
            already = promote.write_once(hierarchy, {b.image: b.fingerprint for b in plan.builds}, where.client,
                                         where.repo_of)
        except RegistryError as exc:  # wrong or missing credentials, an untrusted certificate: said before any build
            raise RegistryError(exc.message, tip=f"{exc.tip}; nothing was pushed" if exc.tip else "nothing was pushed"
                                ) from None
        scope = replace(scope, released=already)
    if pull:
        return planner.plan(hierarchy, sel, plan.index, replace(scope, pull=remote.holds(where.client, where.repo_of)),
                            digests)
    return planner.plan(hierarchy, sel, plan.index, scope, digests) if scope.release else plan


def _can_emulate(hierarchy: Hierarchy, plan: Plan, engine: Engine, pool: Sequence[Slot] = ()) -> None:
    """Refuse, before anything runs, a plan that builds for a platform this machine cannot
    emulate (when the engine runs here: a remote engine answers for its own machine), unless
    an engine of the pool builds it natively (issue 24)."""
    if engine.address and not engine.address.startswith("unix://"):
        return
    # what runs the image's code (a push, a pull or a promotion does not)
    runs = (Kind.BUILD, Kind.TEST_LAYER, Kind.TEST_IMAGE, Kind.RUN_TEST)
    wanted = {hierarchy[s.image].platform for s in plan.busy
              if s.kind in runs and s.action != Action.PULL and s.image in hierarchy.config.images}
    problems = [p for w in sorted(w for w in wanted if w)
                if (p := platforms.emulation_problem(w)) and not placement.covered(pool, w)]
    if problems:
        from bbc.errors import BbcError

        raise BbcError("\n".join(problems), tip="nothing was built; `scripts/engine emulate ARCH` sets it up here")
