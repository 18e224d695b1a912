"""What a build is labelled with and tagged as: the labels sent with a build (bbc/model/labels.py
names them), the local release tags of an image, and the git revision the labels record."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from bbc.adapters.engine import Engine, ImageInfo
from bbc.errors import BbcError
from bbc.model import labels, platforms, refs
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Build


def build_labels(hierarchy: Hierarchy, step: Build, parent_id: str | None, revision: str | None,
                 source: str | None = None, used: Mapping[str, tuple[str, str]] | None = None) -> dict[str, str]:
    """The labels of `step`'s build on the parent build `parent_id` with the builds of the
    images it uses (`used`: key -> (image, build ID))."""
    spec = hierarchy[step.image]
    config = hierarchy.config
    out = dict(spec.labels)
    image = platforms.image_of(step.image)
    out.update({
        labels.FINGERPRINT: step.fingerprint or "",
        labels.IMAGE: image,
        labels.TITLE: image,
        labels.VERSION: spec.version,
        labels.SOURCE: source or (config.root / spec.rel_path).resolve().as_posix(),
    })
    if revision:
        out[labels.REVISION] = revision
    if image != step.image and spec.platform:
        out[labels.PLATFORM] = spec.platform
    if spec.parent and parent_id:
        out[labels.PARENT_ID] = parent_id
        out[labels.BASE_NAME] = refs.ref(config.ref(spec.parent), hierarchy[spec.parent].version)
        out[labels.BASE_DIGEST] = parent_id
    else:
        upstream = next(((f, d) for f, d in step.bases if f.final), None)
        if upstream is not None:  # a root on an upstream image: the name as written, the digest built on
            out[labels.BASE_NAME] = upstream[0].ref.partition("@")[0]
            out[labels.BASE_DIGEST] = upstream[1]
    if spec.description:
        out[labels.DESCRIPTION] = spec.description
    if used:
        out[labels.USES] = labels.uses_value(used)
    elif any(hierarchy[a].uses for a in hierarchy.ancestors(step.image)):
        out[labels.USES] = ""  # a build inherits its parent's labels: not the builds its parent used
    return out


def release_refs(hierarchy: Hierarchy, image: str) -> tuple[str, ...]:
    """The local tags of an image's release build (X.Y.Z, X.Y, X, latest)."""
    spec = hierarchy[image]
    return refs.local_refs(hierarchy.config.ref(image), spec.version, image,
                           plain=spec.platform == platforms.native())


def tag(engine: Engine, hierarchy: Hierarchy, image: str, image_id: str, present: set[str]) -> tuple[str, ...]:
    """Give `image_id` the release tags it does not hold yet (`present`); all of them, returned.
    All or none: when one cannot be moved, those moved before it go back where they were."""
    out = release_refs(hierarchy, image)
    wanted = [ref for ref in out if ref not in present]
    if not wanted:
        return out
    before = engine.inspect_many(wanted)  # where each stands now, to put it back
    moved: list[str] = []
    for ref in wanted:
        try:
            _move(engine, ref, image_id)
        except BbcError as exc:
            stuck = _put_back(engine, moved, before)
            raise BbcError(f"{image}: moving {ref} failed: {exc.message}; " + (
                f"could not put back {', '.join(stuck)}" if stuck else
                "the tags moved before it were put back" if moved else "no tag was moved"),
                tip=exc.tip) from None
        moved.append(ref)
    return out


def _move(engine: Engine, ref: str, image_id: str) -> None:
    repository, _, name = ref.rpartition(":")
    engine.tag(image_id, repository, name)


def _put_back(engine: Engine, moved: list[str], before: Mapping[str, ImageInfo | None]) -> list[str]:
    """Each of `moved` back on the image it named before (or untagged): those that could not be."""
    stuck = []
    for ref in moved:
        was = before.get(ref)
        try:
            if was is None:
                engine.remove_image(ref)  # the name only: the build keeps its other tags
            else:
                _move(engine, ref, was.id)
        except BbcError:
            stuck.append(ref)
    return stuck


class Source:
    """The git revision and origin URL the labels record, asked of git on the first build (not
    at start-up: an up-to-date run never asks)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._revision: str | None = None
        self._url = ""
        self._lock = threading.Lock()

    def revision(self) -> str | None:
        with self._lock:
            if self._revision is None:
                from bbc.adapters import git

                self._revision = git.revision(self.root) or ""
                self._url = git.remote_url(self.root) or ""
            return self._revision or None

    @property
    def url(self) -> str | None:
        """The origin remote's URL, once revision() was asked (None: the folder is the source)."""
        return self._url or None
