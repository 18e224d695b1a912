"""`bbc release`: build what is needed, test it, push, and only then promote — all steps of
the one plan.

- `X.Y.Z` is write-once: different content under an existing X.Y.Z is refused before anything
  is built; the same content is a no-op.
- Nothing moves early: every affected image is pushed under a candidate tag; the one promote
  step needs every build, test and push to have succeeded, so a failure before it (a registry
  that fails mid-run included) leaves every release tag as it was. A registry failing during
  promotion leaves the tags moved before it, and the rows say which; re-running finishes the job.
- An image whose fingerprint the registry already holds is pulled, not rebuilt.
- Policy gates (bbc.yaml `policy:`, bbc/inside/policy.py): when any is set, everything is built and
  tested first, then every image is held to the gates, and only then is anything pushed: a
  refusal leaves the registry untouched.
- `--candidates` stops before promotion: the builds, tests and candidate pushes of the images
  asked for (a CI job per image, `bbc ci`); a later `bbc release` promotes them all at once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bbc.run import pipeline, report
from bbc.run.options import RunOptions
from bbc.run.results import Result, Status
from bbc.model import platforms, refs
from bbc.inside import policy
from bbc.adapters.engine import Engine
from bbc.errors import BbcError
from bbc.model.hierarchy import Hierarchy
from bbc.plan.kinds import Kind
from bbc.plan.planner import few
from bbc.plan.steps import Plan, Promote, Scope, Selection
from bbc.adapters.registry.protocol import RegistryAPI
from bbc.release.promote import Released
from bbc.adapters.registry.client import INDEX_TYPES


def release(
    hierarchy: Hierarchy,
    engine: Engine,
    sel: Selection,
    options: RunOptions = RunOptions(),
    *,
    test: bool = True,
    registry: RegistryAPI | None = None,
    candidates: bool = False,
) -> int:
    alone = [n for n in sel.names if platforms.is_unit(n)]
    if alone and not candidates:
        image = platforms.image_of(alone[0])
        raise BbcError(f"{alone[0]}: a release holds every platform of {image} (one OCI index per version, "
                       f"write-once); release {image}", tip="nothing was built or pushed")
    signing = hierarchy.config.signing
    if signing.key is not None and not candidates and options.signer is None:
        from bbc.release.signing import keys

        # read before anything is built: a key that cannot be opened stops the release here
        options = replace(options, signer=keys.load_signer(signing.key, hierarchy.config.root))
    fmt = options.fmt
    events = report.make_events(json_mode=fmt == "json")
    try:
        if policy.any_gate(hierarchy):
            refused = _policy_gate(hierarchy, engine, sel, events, options, test=test)
            if refused is not None:
                return _finish(refused, fmt, 1)
        plan, results = pipeline.execute(hierarchy, engine, sel, events, scope=Scope(
            test=test, release=True, rerun=options.rerun, promote=not candidates), options=options, registry=registry)
        if candidates:
            return _candidates(plan.builds, results, fmt, events)
        promoted = next((r for r in results if r.kind == Kind.PROMOTE), None)
        if promoted is None or not promoted.ok:
            return _finish(_stopped(plan, results, promoted, events), fmt, 1)
        sboms = _publish_sboms(hierarchy, engine, list(promoted.released), registry, events)
    finally:
        _say_retries(events)
        report.close(events)
    return _finish(list(promoted.released), fmt, 0, sboms)


def _stopped(plan: Plan, results: list[Result], promoted: Result | None, events: report.Events) -> list[Released]:
    """The rows of a release that stopped, and what it left in the registry, said as it is."""
    if promoted is not None and promoted.released:  # promotion itself stopped part-way
        rows = list(promoted.released)
        holding = [f"{r.image} {'/'.join(r.tags)}" for r in rows if r.tags and r.status != "already released"]
        bare = [r.image for r in rows if r.status == "not released" and not r.in_doubt]
        before = [r.image for r in rows if r.status == "already released"]
        events.message("release stopped part-way through promotion; its release tags in the registry now: "
                       + (few(holding, 8) or "none") + (f"; none yet on {few(bare, 8)}" if holding and bare else "")
                       + (f"; released before: {few(before, 8)}" if before else "")
                       + "".join(f"; {r.image} {'/'.join(r.in_doubt)} in doubt (the registry failed while moving it)"
                                 for r in rows if r.in_doubt))
        events.message("run `bbc release` again to finish: it moves the rest (an X.Y.Z moved holds this same build)")
        return rows
    failed = [r for r in results if r.status == Status.FAILED]
    events.message("release stopped: " + (", ".join(f"{r.image} ({r.kind})" for r in failed) or "promote")
                   + " failed; no release tag was moved (run `bbc release` again to finish)")
    first = {r.image: r for r in reversed(failed)}
    step = next((s for s in plan.steps if isinstance(s, Promote)), None)
    already = step.released if step is not None else frozenset()
    return [Released(b.image, b.version, "already released", tags=(refs.version_tag(b.version),),
                     message="its X.Y.Z already holds this build") if b.image in already else
            Released(b.image, b.version, "not released",
                     message=first[b.image].message.partition("\n")[0] if b.image in first else "release stopped")
            for b in plan.builds]


def _say_retries(events: report.Events) -> None:
    """How many of bbc's registry requests had to be sent again (a faulty network, a throttling
    registry): said once, at the end."""
    from bbc.adapters.registry.transport import RETRIES

    for host, count in sorted(RETRIES.items()):
        if count:
            events.message(f"registry {host}: {count} request(s) retried (connection errors, 5xx, 429)")


def _publish_sboms(hierarchy: Hierarchy, engine: Engine, released: list[Released], registry: RegistryAPI | None,
                   events: report.Events) -> dict[str, dict[str, Any]]:
    """Each released image's SBOM attached to it as an OCI referrer, as the signatures' bundles
    are (bbc/release/signing/referrers.py); a failure here is a warning: the release is done."""
    from bbc.plan import remote
    from bbc.release import sboms
    from bbc.release.signing import referrers

    reg, repo_of = remote.registry_for(hierarchy, registry)
    out: dict[str, dict[str, Any]] = {}
    units = platforms.expand(hierarchy)
    for r in released:
        try:
            repository = repo_of(r.image)
            image = reg.manifest(repository, r.digest)
            if image is None:
                continue
            # a multi-platform release is an index: an SBOM per platform, referring to its image
            subjects = [(r.image, image)] if image.media_type not in INDEX_TYPES else [
                (platforms.unit(r.image, platforms.of_oci(e["platform"])), reg.manifest(repository, e["digest"]))
                for e in image.json().get("manifests") or []]
            api = reg.referrers(repository, image.digest) is not None
        except BbcError as exc:
            events.message(f"[{r.image}] warning: SBOM not published ({exc.message})")
            continue
        for name, subject in subjects:
            if subject is None:
                continue
            try:
                document = sboms.document(units, engine, name)
                done = referrers.publish_sbom(reg, repository, referrers.Subject(
                    subject.digest, subject.media_type, len(subject.raw)), document, f"{name}.cdx.json")
            except BbcError as exc:
                events.message(f"[{name}] warning: SBOM not published ({exc.message})")
                continue
            tag = "" if api else referrers.tag(subject.digest)
            where = "listed by the registry's referrers API" if api else f"listed at tag {tag[:19]}…"
            events.message(f"[{name}] SBOM {'published' if done.written else 'already published'} as a referrer of "
                           f"the image ({done.digest[:19]}), {where}")
            out[name] = {"tag": tag, "digest": done.digest, "referrer": True}
    return out


def _policy_gate(hierarchy: Hierarchy, engine: Engine, sel: Selection, events: report.Events, options: RunOptions, *,
                 test: bool) -> list[Released] | None:
    """Build (and test) what the release needs, then hold every image to the policy; the rows
    of a refused release, or None to go on and push."""
    plan, results = pipeline.execute(hierarchy, engine, sel, events, options=options,
                                     scope=Scope(test=test, gate=test, rerun=options.rerun))
    failed = {r.image: r for r in reversed(results) if r.status == Status.FAILED}
    if failed:
        events.message("release stopped: " + ", ".join(f"{r.image} ({r.kind})" for r in failed.values())
                       + " failed; nothing was pushed")
        return [Released(b.image, b.version, "not released",
                         message=failed[b.image].message.partition("\n")[0] if b.image in failed else "release stopped")
                for b in plan.builds]
    # the plan's builds are per platform (static@arm64): each platform's build is held to the gates
    refused = policy.refusals(platforms.expand(hierarchy), engine, [b.image for b in plan.builds])
    if not refused:
        return None
    for v in refused:
        events.message(f"refused: {v}")
    events.message(f"release refused by policy ({len(refused)} violation(s)); nothing was pushed")
    by_image = {v.image: v for v in reversed(refused)}
    return [Released(b.image, b.version, "refused" if b.image in by_image else "not released",
                     message=str(by_image[b.image]) if b.image in by_image else "another image was refused")
            for b in plan.builds]


def _candidates(builds: Any, results: list[Result], fmt: str, events: report.Events) -> int:
    """The outcome of `--candidates`: each image's candidate tag and digest, or why not."""
    pushed = {r.image: r for r in results if r.kind == Kind.PUSH and r.ok}
    failed = {r.image: r for r in reversed(results) if r.status == Status.FAILED}
    out = []
    for b in builds:
        if b.image in pushed:
            r = pushed[b.image]
            out.append(Released(b.image, b.version, "candidate pushed", r.digest, r.tags))
        else:
            why = failed[b.image].message.partition("\n")[0] if b.image in failed else "not pushed"
            out.append(Released(b.image, b.version, "not pushed", message=why))
    if failed:
        events.message("candidates stopped: " + ", ".join(f"{r.image} ({r.kind})" for r in failed.values())
                       + " failed; no release tag was moved")
    return _finish(out, fmt, 1 if failed or len(pushed) < len(out) else 0)


def _finish(results: list[Released], fmt: str, code: int, sboms: dict[str, dict[str, Any]] | None = None) -> int:
    if fmt == "json":
        report.dump_json([{"image": r.image, "version": r.version, "result": r.status, "digest": r.digest,
                           "tags": list(r.tags), "message": r.message, "sbom": _sbom_of(r.image, sboms or {})}
                          for r in results])
    else:
        report.table(("image", "version", "result", "digest", "tags"),
                     [(r.image, r.version, r.status, r.digest[:19] or "-", ", ".join(r.tags) or "-") for r in results])
    return code


def _sbom_of(image: str, sboms: dict[str, dict[str, Any]]) -> Any:
    """Where an image's SBOM went; of a multi-platform image, per platform (`{"static@arm64": ...}`)."""
    return sboms.get(image) or {k: v for k, v in sboms.items() if platforms.image_of(k) == image != k} or None
