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
from bbc.validate import validate
from bbc.yamlnodes import Located, YamlProblem, load as load_yaml

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
    try:
        doc = _parse(path, text)
    except YamlProblem as exc:
        raise ConfigError([f"{path.name}:{exc.line}: {exc.message}"]) from None
    return validate(path, doc.value, doc.lines, doc.raw)


BIG_CONFIG = 256 * 1024


def _parse(path: Path, text: str) -> Located:
    """Parse, keeping a pickled copy of large files' parse in .bbc/cache keyed by content
    (re-parsing a 10,000-image bbc.yaml costs ~0.7 s, unpickling it ~0.05 s)."""
    if len(text) < BIG_CONFIG:
        return load_yaml(text)
    import hashlib
    import pickle
    import tempfile

    key = hashlib.sha256(text.encode()).hexdigest()[:24]
    cache = path.parent / ".bbc" / "cache" / f"bbc-yaml-{key}.pickle"
    try:
        with open(cache, "rb") as f:
            doc = pickle.load(f)
        if isinstance(doc, Located):
            return doc
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        pass
    doc = load_yaml(text)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent)
        with os.fdopen(fd, "wb") as f:
            pickle.dump(doc, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only checkout just parses every time
    return doc
