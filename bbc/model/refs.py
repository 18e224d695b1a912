"""The one place an image's references are named: its version tag, the floating tags, the
release candidate and the local-only test tags.

Docker tags cannot hold '+', so semver build metadata is written with '_' instead
(1.0.0+b7 -> 1.0.0_b7), Helm's rule for OCI tags; `version_of_tag` reads it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import semver

FLOATING = ("X.Y", "X", "latest")


def version_tag(version: str) -> str:
    """The tag of exactly this version."""
    return version.replace("+", "_")


def unit_tag(name: str, version: str) -> str:
    """The local tag of one build: X.Y.Z, or X.Y.Z-arm64 for one platform of a multi-platform
    image (the unit `name@arm64`, bbc/model/platforms.py); the registry's X.Y.Z is their index."""
    _, sep, platform = name.partition("@")
    return f"{version_tag(version)}-{platform}" if sep else version_tag(version)


def version_of_tag(tag: str) -> semver.Version | None:
    """The semantic version a tag names, or None (floating tags, `latest`, candidates)."""
    import semver  # parsed only here and in local_tags: a no-op plan names refs without it

    text = tag.replace("_", "+")
    return semver.Version.parse(text) if semver.Version.is_valid(text) else None


def local_tags(version: str) -> list[str]:
    """X.Y.Z plus the floating X.Y, X and latest, as a local build gets them (a pre-release
    moves no floating tag). Releases compute floating tags against what the registry holds:
    versions.floating_tags."""
    # bbc.yaml's versions are validated semver, so the parts are where semver puts them
    # (X.Y.Z has no '-'); the semver import is kept off the no-op path
    core, _, pre = version.partition("+")[0].partition("-")
    if pre:
        return [version_tag(version)]
    major, minor, _ = core.split(".")
    return [version_tag(version), f"{major}.{minor}", major, "latest"]


def ref(repository: str, version: str, name: str = "") -> str:
    """`repository:X.Y.Z` (metadata mapped); with the unit `name`, that platform's build."""
    return f"{repository}:{unit_tag(name, version)}"


def local_refs(repository: str, version: str, name: str = "", plain: bool = True) -> tuple[str, ...]:
    """The local tags of a build; a platform's build (unit `name`) gets X.Y.Z-arch, and the
    plain X.Y.Z, X.Y, X, latest when it is for this machine's platform (`plain`), so `docker
    run repository:X.Y.Z` runs the native build."""
    own = [f"{repository}:{unit_tag(name, version)}"] if "@" in name else []
    return tuple(own + ([f"{repository}:{tag}" for tag in local_tags(version)] if plain or not own else []))


def candidate_tag(fingerprint: str) -> str:
    """The registry tag an image waits under between push and promotion."""
    return f"candidate-{fingerprint[:16]}"


def latest_candidate_tag(name: str) -> str:
    """The registry tag moved to each candidate of `name` as it is pushed (`candidate-latest`;
    `candidate-latest-arm64` for one platform's build): the newest build not released yet, which
    a later build takes its cache from (bbc/plan/buildcache.py)."""
    _, sep, platform = name.partition("@")
    return f"candidate-latest-{platform}" if sep else "candidate-latest"


def is_candidate(tag: str) -> bool:
    """Whether a registry tag is a candidate's (candidate_tag), not a release."""
    return tag.startswith("candidate-")


def build_tag(image_id: str) -> str:
    """A local-only tag of exactly one build (by its image ID): where a Dockerfile names a used
    image written out (`COPY --from=acme/web:1`), the build reads this tag instead; the run
    removes it when it ends (bbc/run/handlers/base.py, Context.drop_build_tags)."""
    return f"bbc-build-{image_id.removeprefix('sha256:')[:16]}"


def test_tag(version: str, suffix: str = "-test", name: str = "") -> str:
    """A local-only tag of a test image (`-testlayer`, `-testargs`, `-test`)."""
    return f"{unit_tag(name, version)}{suffix}"
