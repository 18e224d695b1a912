"""bbc.yaml -> frozen, typed objects (bbc/model/specs.py), validated (bbc/config/validate.py) before
anything runs. This module finds and loads the file; the objects are re-exported here, so
`from bbc.config import ImageSpec` reads as it always did.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bbc.errors import ConfigError, did_you_mean
from bbc.model.hierarchy import Hierarchy
from bbc.model.specs import (CASCADES, CONFIG_NAME, DEFAULT_KEYS, EXPECT_KEYS, IMAGE_KEYS, NETWORKS, PREPARE_KEYS,
                       PROJECT_KEYS, TEST_KEYS, TOP_KEYS, Config, Expect, ImageSpec, PrepareSpec, ProjectSpec,
                       TestSpec)

__all__ = ["CASCADES", "CONFIG_NAME", "DEFAULT_KEYS", "EXPECT_KEYS", "IMAGE_KEYS", "NETWORKS", "PREPARE_KEYS",
           "PROJECT_KEYS", "TEST_KEYS", "TOP_KEYS", "Config", "Expect", "ImageSpec", "PrepareSpec", "ProjectSpec",
           "TestSpec", "did_you_mean", "find_config", "load"]

def find_config(start: Path) -> Path:
    """The bbc.yaml in `start` or the nearest folder above it."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise ConfigError(
        [f"no {CONFIG_NAME} in {start} or any folder above it"],
        tip="run bbc from your hierarchy's repository, or pass --config PATH",
    )


def load_hierarchy(path: Path) -> Hierarchy:
    """The hierarchy of the bbc.yaml at `path` as it is on disk now."""
    return Hierarchy.of(load(path))


def load(path: Path) -> Config:
    """Read and validate bbc.yaml; raise ConfigError listing every problem.

    The validated Config is kept in .bbc/cache (one file per bbc.yaml), with the text's hash
    and the signature (mtime, size, inode) of every file and folder validation looked at; it
    is reused while all of them are the same. A 10,000-image file costs ~2 s to parse and
    validate (one Dockerfile read per image), its signature check ~0.05 s; for a small one,
    the cache spares the YAML parser's and the validator's imports on every command.
    """
    import hashlib

    path = path.resolve()
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    digest = hashlib.sha256(data).hexdigest()
    cache = path.parent / ".bbc" / "cache" / f"bbc-config-{hashlib.sha256(str(path).encode()).hexdigest()[:16]}.pickle"
    found = _cached(cache, digest)
    if found is not None:
        return found
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    from bbc.config.validate import validate_tracked
    from bbc.config.yamlnodes import YamlProblem, load as load_yaml

    try:
        doc = load_yaml(text)
    except YamlProblem as exc:
        raise ConfigError([f"{path.name}:{line}: {message}" for line, message in exc.problems]) from None
    config, touched = validate_tracked(path, doc.value, doc.lines, doc.raw)
    signature = _signature(touched + _CODE)
    # Racy entries (git's term): a file changed within the filesystem's timestamp granularity
    # of this moment could change again without its mtime moving; validate again next time.
    fresh = time.time_ns() - RACY_NS
    if all(len(entry) == 1 or entry[1] < fresh for entry in signature):
        _store(cache, (digest, signature, config))
    return config


RACY_NS = 2_000_000_000
# A cache pickled before the package moved names modules that no longer exist: ImportError below.
_PACKAGE = os.path.dirname(os.path.dirname(__file__))
# Every module of config/ and model/ makes a Config: a bbc upgrade that changes any of them
# invalidates the cache (a stat of each, ~30 files: nothing beside a YAML parse).
_CODE = sorted(os.path.join(root, name) for folder in ("config", "model")
               for root, _, names in os.walk(os.path.join(_PACKAGE, folder)) for name in names if name.endswith(".py"))


def _cached(cache: Path, digest: str) -> Config | None:
    import pickle

    try:
        with open(cache, "rb") as f:
            stored, signature, config = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError, ImportError):
        return None
    if stored != digest or not isinstance(config, Config):
        return None
    return config if signature == _signature([entry[0] for entry in signature]) else None


def _signature(paths: list[str]) -> list[tuple[str, int, int, int] | tuple[str]]:
    out: list[tuple[str, int, int, int] | tuple[str]] = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append((p, st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append((p,))
    return out


def _store(cache: Path, data: object) -> None:
    import pickle

    from bbc.adapters import state

    try:
        state.ensure(cache.parent)
        state.atomic_write(cache, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass  # a read-only checkout just validates every time
