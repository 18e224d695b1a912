"""bbc.yaml -> frozen, typed objects (bbc/model.py), validated (bbc/validate.py) before
anything runs. This module finds and loads the file; the objects are re-exported here, so
`from bbc.config import ImageSpec` reads as it always did.
"""

from __future__ import annotations

import os
from pathlib import Path

from bbc.errors import ConfigError, did_you_mean
from bbc.model import (CASCADES, CONFIG_NAME, DEFAULT_KEYS, EXPECT_KEYS, IMAGE_KEYS, NETWORKS, PREPARE_KEYS,
                       PROJECT_KEYS, TEST_KEYS, TOP_KEYS, Config, Expect, ImageSpec, PrepareSpec, ProjectSpec,
                       TestSpec)
from bbc.validate import validate, validate_tracked
from bbc.yamlnodes import YamlProblem, load as load_yaml

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


def load(path: Path) -> Config:
    """Read and validate bbc.yaml; raise ConfigError listing every problem."""
    path = path.resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    if len(text) >= BIG_CONFIG:
        return _load_big(path, text)
    try:
        doc = load_yaml(text)
    except YamlProblem as exc:
        raise ConfigError([f"{path.name}:{exc.line}: {exc.message}"]) from None
    return validate(path, doc.value, doc.lines, doc.raw)


BIG_CONFIG = 256 * 1024


def _load_big(path: Path, text: str) -> Config:
    """A large bbc.yaml's validated Config is kept in .bbc/cache, keyed by its path and text,
    with the signature (mtime, size, inode) of every file and folder validation looked at;
    it is reused while all of them are the same. Parsing and validating a 10,000-image file
    costs ~2 s (one Dockerfile read per image), the signature check ~0.05 s."""
    import hashlib
    import pickle

    key = hashlib.sha256(f"{path}\0{text}".encode()).hexdigest()[:24]
    cache = path.parent / ".bbc" / "cache" / f"bbc-config-{key}.pickle"
    try:
        with open(cache, "rb") as f:
            signature, config = pickle.load(f)
        if isinstance(config, Config) and signature == _signature([entry[0] for entry in signature]):
            return config
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError):
        pass
    try:
        doc = load_yaml(text)
    except YamlProblem as exc:
        raise ConfigError([f"{path.name}:{exc.line}: {exc.message}"]) from None
    config, touched = validate_tracked(path, doc.value, doc.lines, doc.raw)
    _store(cache, (_signature(touched), config))
    return config


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
    import tempfile

    try:
        from bbc import state

        state.ensure(cache.parent)
        fd, tmp = tempfile.mkstemp(dir=cache.parent)
        with os.fdopen(fd, "wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only checkout just validates every time
