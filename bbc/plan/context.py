"""What making one Plan reads and fills in, shared by the planner and the test plan: the
hierarchy, what is selected, the engine's index, the scope, the context digests read so far
(each context once a run), and the builds planned so far (children read their parent's)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bbc.adapters.docker.context import Unreadable
from bbc.config import ImageSpec
from bbc.errors import BbcError
from bbc.model.hierarchy import Hierarchy
from bbc.plan import bases, fingerprint
from bbc.plan.steps import Build, Index, Scope, Selection

Digests = dict[tuple[str, str], fingerprint.ContextDigest]  # (folder, dockerfile) -> its digest


@dataclass
class PlanContext:
    hierarchy: Hierarchy
    selection: Selection
    index: Index
    scope: Scope
    chosen: set[str]  # the selected images
    needed: set[str]  # images a selected one builds on
    digests: Digests
    hashes: fingerprint.FileHashes  # asked once: Path hashing per image adds up
    remembered: set[str] = field(default_factory=set)  # the build manifests in .bbc/state
    # filled in as the planner goes, parents first:
    builds: dict[str, Build] = field(default_factory=dict)
    tagged_by: dict[str, str] = field(default_factory=dict)  # image -> the step its children wait for
    warnings: list[str] = field(default_factory=list)
    said: set[tuple[str, str]] = field(default_factory=set)  # contexts whose skipped files were warned of

    @property
    def root(self) -> Path:
        return self.hierarchy.config.root

    def digest(self, spec: ImageSpec) -> fingerprint.ContextDigest:
        """The digest of `spec`'s build context, read once a run; BbcError naming the file or
        folder (relative to bbc.yaml's folder) when part of it cannot be read."""
        key = (str(spec.path), spec.dockerfile)
        found = self.digests.get(key)
        if found is None:
            try:
                found = self.digests.setdefault(key, fingerprint.digest_context(spec.path, spec.dockerfile,
                                                                                self.hashes))
            except Unreadable as exc:
                where = os.path.relpath(exc.path, self.root)
                raise BbcError(f"{where}: cannot read this {exc.kind} of {spec.name}'s build context ({exc.why})",
                               tip=f"nothing was built; {exc.tip}") from None
        if found.skipped and key not in self.said:  # each plan says it (a re-plan reuses the digest)
            self.said.add(key)
            self.warnings += [f"{os.path.relpath(os.path.join(spec.path, rel), self.root)}: a {kind} in "
                              f"{spec.name}'s build context is not sent to the builder (only files, folders and "
                              "symlinks are)" for rel, kind in found.skipped]
        return found

    def external(self, spec: ImageSpec, digest: fingerprint.ContextDigest,
                 parent_arg: str | None) -> tuple[tuple[bases.Found, str], ...]:
        """The external bases of `spec`'s Dockerfile (its parent named by `parent_arg`) and the
        digests they resolve to."""
        resolve = self.scope.bases or bases.pinned_only
        found = bases.of(spec, self.root, digest.files.get(spec.dockerfile), self.hashes, parent_arg)
        return tuple((f, resolve(f)) for f in found)
