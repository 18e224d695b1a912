"""SLSA v1 provenance of one released manifest: a pure function of a typed input.

The predicate is built with in-toto-attestation's SLSA Provenance v1 message, so its field names
are the spec's. What bbc records:
- externalParameters: the image, its version and platform, where its bbc.yaml entry and
  Dockerfile are and their digests, the build args (values of build secrets never: only their
  ids), the source repository, its commit and whether the tree was dirty;
- resolvedDependencies: the git commit, the bbc.yaml entry, the Dockerfile, then every image
  it was built from, each marked in the `bbc.role` annotation: `parent`, `uses`, `base` (an
  external base) or `prepare-input` (a file a prepare step read), each with its digest;
- the builder: bbc's and the engine's versions; the build's start and end times.
`bbc verify` reads the `parent` and `base` dependencies back against the image's labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bbc.release.signing.statement import SLSA_PROVENANCE, sha256_hex, statement

BUILD_TYPE = "https://bbc.invalid/buildtypes/image/v1"  # bbc has no home page yet: a URI of its own
BUILDER_ID = "https://bbc.invalid/builder/v1"
ROLE = "bbc.role"
ROLES = ("parent", "uses", "base", "prepare-input")


@dataclass(frozen=True)
class Dependency:
    """Something the build read, by digest: an image (`uri` is its reference, `digest` its
    released manifest or index digest) or a file (`uri` its path in the repository)."""

    role: str  # one of ROLES
    uri: str
    digest: str  # sha256:<hex>
    name: str = ""


@dataclass(frozen=True)
class Source:
    """The repository bbc.yaml lives in, at the build."""

    uri: str  # its remote URL, or its folder when it has none
    commit: str | None  # None: not a git repository
    dirty: bool = False


@dataclass(frozen=True)
class ProvenanceInput:
    """Everything the provenance of one released manifest says, gathered by the release."""

    image: str  # the name in bbc.yaml (`base`, or `base@arm64` for one platform's build)
    version: str
    config_path: str  # bbc.yaml, relative to the repository
    config_entry_digest: str  # sha256:<hex> of the image's bbc.yaml entry, canonical JSON
    dockerfile: str  # relative to the repository
    dockerfile_digest: str
    source: Source
    bbc_version: str
    engine_version: str
    started: datetime
    finished: datetime
    platform: str = ""
    build_args: Mapping[str, str] = field(default_factory=dict)  # never a secret's value
    secrets: tuple[str, ...] = ()  # ids of the build secrets the build mounted
    dependencies: tuple[Dependency, ...] = ()  # in this order: parent, uses, bases, prepare inputs
    invocation_id: str = ""  # e.g. the CI job's URL


def predicate(facts: ProvenanceInput) -> dict[str, Any]:
    """The SLSA v1 provenance predicate (https://slsa.dev/provenance/v1) for `facts`."""
    from google.protobuf import json_format
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2 as slsa

    definition = slsa.BuildDefinition(build_type=BUILD_TYPE, external_parameters=_external(facts),
                                      resolved_dependencies=_source(facts) + [_descriptor(d) for d in _dependencies(facts)])
    metadata = slsa.BuildMetadata(invocation_id=facts.invocation_id)
    metadata.started_on.FromDatetime(_utc(facts.started))
    metadata.finished_on.FromDatetime(_utc(facts.finished))
    builder = slsa.Builder(id=BUILDER_ID, version={"bbc": facts.bbc_version, "engine": facts.engine_version})
    message = slsa.Provenance(build_definition=definition,
                              run_details=slsa.RunDetails(builder=builder, metadata=metadata))
    data: dict[str, Any] = json_format.MessageToDict(message)
    return data


def provenance_statement(name: str, digest: str, facts: ProvenanceInput) -> bytes:
    """The in-toto Statement v1 of `facts` about the manifest `name`@`digest`, canonical JSON."""
    return statement(name, digest, SLSA_PROVENANCE, predicate(facts))


def _external(facts: ProvenanceInput) -> dict[str, Any]:
    source: dict[str, Any] = {"uri": facts.source.uri, "dirty": facts.source.dirty}
    if facts.source.commit:
        source["commit"] = facts.source.commit
    out: dict[str, Any] = {
        "image": facts.image, "version": facts.version,
        "config": {"path": facts.config_path, "digest": facts.config_entry_digest},
        "dockerfile": {"path": facts.dockerfile, "digest": facts.dockerfile_digest},
        "buildArgs": dict(sorted(facts.build_args.items())),
        "source": source,
    }
    if facts.platform:
        out["platform"] = facts.platform
    if facts.secrets:
        out["secrets"] = sorted(facts.secrets)
    return out


def _dependencies(facts: ProvenanceInput) -> list[Dependency]:
    files = [Dependency("config", f"{facts.config_path}#images.{facts.image.partition('@')[0]}",
                        facts.config_entry_digest, "bbc.yaml entry"),
             Dependency("dockerfile", facts.dockerfile, facts.dockerfile_digest, "Dockerfile")]
    return files + list(facts.dependencies)


def _source(facts: ProvenanceInput) -> list[Any]:
    """The git commit, as SLSA writes a source: `git+<uri>@<commit>`, digest gitCommit."""
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor

    if not facts.source.commit:
        return []
    return [ResourceDescriptor(uri=f"git+{facts.source.uri}@{facts.source.commit}",
                               digest={"gitCommit": facts.source.commit},
                               annotations={ROLE: "source", "dirty": str(facts.source.dirty).lower()}).pb]


def _descriptor(dep: Dependency) -> Any:
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor

    return ResourceDescriptor(name=dep.name or dep.uri, uri=dep.uri, digest={"sha256": sha256_hex(dep.digest)},
                              annotations={ROLE: dep.role}).pb


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def dependencies_of(predicate_data: Mapping[str, Any], role: str) -> list[tuple[str, str]]:
    """(uri, sha256:<hex>) of the resolved dependencies with this `bbc.role`, read back."""
    deps = ((predicate_data.get("buildDefinition") or {}).get("resolvedDependencies") or [])
    return [(str(d.get("uri", "")), f"sha256:{(d.get('digest') or {}).get('sha256', '')}") for d in deps
            if isinstance(d, dict) and (d.get("annotations") or {}).get(ROLE) == role]
