"""The signature gates on the path that builds (issue 23; the checks are
bbc/release/signing/trust.py's): what a build pulls from the registry, or starts FROM, is what
the platform team (or the upstream it trusts) signed. A refusal is one located line, and
nothing is built on what was refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bbc.errors import BbcError, SigningError
from bbc.model import refs
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Build
from bbc.release.signing import trust

if TYPE_CHECKING:
    from bbc.plan.remote import Remote


def pulled(hierarchy: Hierarchy, remote: Remote | None, step: Build, say: Callable[[str], None]) -> str | None:
    """The reference to pull `step`'s build by: its tag with `policy.signed_parents` off, else
    the digest that verified (None: a candidate no release signed yet, built here instead).
    Refuses (SigningError) a build that does not verify under `error`; `warn` says it and pulls."""
    level = hierarchy.config.policy.signed_parents
    if level == "off" or remote is None:
        return step.pull_ref
    repository = remote.repo_of(step.image)
    outcome = trust.release(remote.client, repository, step.pull_ref,
                            trust.public_keys(hierarchy.config.signing.public_keys))
    if outcome.ok:
        say(f"[{step.image}] the registry's build {step.pull_ref} ({outcome.digest[:19]}) verifies "
            "(policy.signed_parents)")
        return outcome.digest
    if outcome.unsigned and refs.is_candidate(step.pull_ref):
        say(f"[{step.image}] the registry's candidate {step.pull_ref} is not signed (no release signed it yet): "
            "building it here instead (policy.signed_parents)")
        return None
    what = (f"{hierarchy.config.where('policy', 'signed_parents')}: {step.image}: the registry's build "
            f"{hierarchy.config.ref(step.image)}:{step.pull_ref} ({outcome.digest[:19]}) does not verify: {outcome.reason}")
    if level == "warn":
        say(f"[{step.image}] warning: {what}; pulled all the same (policy.signed_parents: warn)")
        return outcome.digest
    raise SigningError(what, tip="nothing was built on it; `bbc verify` says more, or build it here with --no-pull")


def held(hierarchy: Hierarchy, remote: Remote, image: str, tag: str, digest: str, say: Callable[[str], None]) -> str:
    """A parent's build another job left in the registry (`digest` under `tag`), for an engine
    of a pool: kept when `policy.signed_parents` is off or it verifies; else "" (this run's
    own build is pushed and used instead: nothing is built on a copy that does not verify)."""
    if hierarchy.config.policy.signed_parents == "off" or not digest:
        return digest
    outcome = trust.release(remote.client, remote.repo_of(image), digest,
                            trust.public_keys(hierarchy.config.signing.public_keys))
    if outcome.ok:
        return digest
    say(f"[{image}] the registry's {tag} ({digest[:19]}) does not verify ({outcome.reason}); "
        "moving this run's own build instead (policy.signed_parents)")
    return ""


def bases(hierarchy: Hierarchy, step: Build) -> None:
    """Refuse a build whose external base falls under `policy.trusted_bases` without a cosign
    signature by one of that prefix's keys."""
    trusted = hierarchy.config.policy.trusted_bases
    if not trusted:
        return
    for found, digest in step.bases:
        prefix = trust.base_prefix(found.ref, trusted)
        if prefix is None:
            continue
        try:
            why = trust.base(found.ref, digest, trust.public_keys(trusted[prefix]))
        except BbcError as exc:
            why = exc.message
        if why is not None:
            raise SigningError(f"{found.where}: base {found.ref} ({digest[:19]}): not signed by a key "
                               f"policy.trusted_bases trusts for {prefix}: {why}",
                               tip=f"nothing was built; sign it (cosign sign --key) or correct "
                                   f"{hierarchy.config.where('policy', 'trusted_bases')}")
