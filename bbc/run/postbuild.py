"""What runs after an image is built: its SBOM written to `.bbc/sbom/<image>.cdx.json` and the
policy gates checked, as warnings (bbc release refuses on them, bbc/inside/policy.py). Reading the
layers once here also fills the per-image cache `bbc sbom`, `why` and `scan` read.

It runs beside the builds, one image after another in build order (so a child finds its
parent's layers already read), and the executor waits for it before it reports: the export
of a big image takes seconds the children's builds need not wait for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import threading
from typing import TYPE_CHECKING, Any

from bbc.errors import BbcError

if TYPE_CHECKING:
    from bbc.adapters.engine import Engine
    from bbc.model.hierarchy import Hierarchy


_lock = threading.Lock()
_last: threading.Thread | None = None


def after_build(engine: Engine, hierarchy: Hierarchy, image: str, image_id: str, root: Path,
                say: Callable[[str], None]) -> None:
    """Schedule the SBOM and the policy warnings of a build that just succeeded."""
    global _last
    with _lock:
        previous = _last
        # a daemon thread: Ctrl-C does not wait for an export to finish
        _last = threading.Thread(target=_chained, args=(previous, engine, hierarchy, image, image_id, root, say),
                                 daemon=True)
        _last.start()


def wait() -> None:
    """Until every scheduled SBOM is written (each job waits for the one before it)."""
    with _lock:
        last = _last
    if last is not None:
        last.join()


def _chained(previous: threading.Thread | None, *args: Any) -> None:
    if previous is not None:
        previous.join()
    _write(*args)


def _write(engine: Engine, hierarchy: Hierarchy, image: str, image_id: str, root: Path,
           say: Callable[[str], None]) -> None:
    """Never fails the build: an SBOM that cannot be written is a warning."""
    # imported here: an up-to-date `bbc build` never builds, and should not load tarfile & co.
    from bbc.inside import ownership, policy, sbom
    from bbc.model import refs

    try:
        # read by ID (the tag may move meanwhile), named by its tag
        inside = replace(ownership.of_build(engine, image, image_id, root),
                         ref=refs.ref(hierarchy.config.ref(image), hierarchy[image].version, image))
        sbom.write(root, inside, hierarchy[image].version)
        for v in policy.check(hierarchy, inside):
            say(f"[{image}] warning: {v}")
    except BbcError as exc:
        say(f"[{image}] warning: no SBOM written ({exc.message})")
    except OSError as exc:  # .bbc/ on a full disk, say
        say(f"[{image}] warning: no SBOM written (cannot write {exc.filename or '.bbc/'}: {exc.strerror or exc})")
    except Exception as exc:  # a bug here must not fail a build that succeeded
        say(f"[{image}] warning: no SBOM written ({type(exc).__name__}: {exc}); this is a bug, please report")
