"""Validate a parsed bbc.yaml into the frozen objects of bbc/model/specs.py.

Every problem becomes one located line (`bbc.yaml:12: images.ml.parent: unknown image
'pyhton' (did you mean 'python'?)`); all problems are reported together, then ConfigError.
The checks live beside this module, one job each: checker.py (typed getters, located
problems), images.py (one image), graph.py (images among each other), sections.py (projects,
policy, engines, signing, mirrors), runners.py (`ci:`, and the platforms an engine declares).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bbc.config import graph, images as images_mod, runners, sections
from bbc.config.checker import Checker
from bbc.errors import ConfigError
from bbc.model.specs import DEFAULT_KEYS, TOP_KEYS, Config, ImageSpec

MAX_REPOSITORY = 255  # characters of `<registry>/<name>`, host included (distribution/reference)
_REGISTRY = re.compile(r"^[a-zA-Z0-9.-]+(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$|^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


def validate(path: Path, value: Any, lines: dict[tuple[str, ...], int], raw: dict[tuple[str, ...], str]) -> Config:
    """The Config for a parsed bbc.yaml at `path`; ConfigError listing every problem."""
    return validate_tracked(path, value, lines, raw)[0]


def validate_tracked(path: Path, value: Any, lines: dict[tuple[str, ...], int],
                     raw: dict[tuple[str, ...], str]) -> tuple[Config, list[str]]:
    """validate(), and every file or folder it looked at: the same text over the same files
    validates the same (bbc/config/__init__.py keeps large configs' results by these)."""
    r = Checker(path, lines, raw)
    return _document(r, value), r.touched


def _document(r: Checker, value: Any) -> Config:
    top = r.mapping(value, (), TOP_KEYS)
    if top is None or (not top and value is None):
        raise ConfigError([f"{r.path.name}:1: empty file; it needs 'registry' and 'images'"])
    registry = r.string(top, (), "registry", required=True) or ""
    if registry and not _REGISTRY.match(registry):
        r.problem(("registry",), f"'{registry}' is not a valid image repository prefix (e.g. localhost:5000/acme)")
    defaults = r.mapping(top.get("defaults"), ("defaults",), DEFAULT_KEYS) or {}
    images = _images(r, top.get("images"), defaults)
    for name in images:
        if registry and len(f"{registry}/{name}") > MAX_REPOSITORY:
            r.problem(("images", name), f"{len(registry) + 1 + len(name)} characters with the registry ({registry}/"
                                        f"...): Docker refuses repository names longer than {MAX_REPOSITORY}; "
                                        f"shorten the name to {MAX_REPOSITORY - len(registry) - 1} at most")
    projects = sections.projects(r, top.get("projects"), images)
    policy = sections.policy(r, top.get("policy"))
    engines = sections.engines(r, top.get("engines")) if "engines" in top else ()
    signing = sections.signing(r, top.get("signing"))
    mirrors = sections.mirrors(r, top.get("mirrors"), top.get("mirrors_only", False))
    ci = runners.ci(r, top.get("ci"))
    written = top.get("signing")
    if policy.signed_parents != "off" and not (isinstance(written, dict) and written.get("public_keys")):
        r.problem(("policy", "signed_parents"), "verifies with signing.public_keys, and bbc.yaml lists none "
                                                "(`bbc keys generate DIR` writes DIR/bbc.pub)")
    r.raise_problems()
    return Config(r.path, registry, images, projects, r.lines, policy, engines, signing, mirrors, ci=ci)


def _images(r: Checker, node: Any, defaults: dict[str, Any]) -> dict[str, ImageSpec]:
    images: dict[str, ImageSpec] = {}
    if node is None:
        r.problem((), "missing required key 'images'")
    elif not isinstance(node, dict) or not node:
        r.problem(("images",), "must be a non-empty mapping of image names to their settings")
    else:
        for name, body in node.items():
            spec = images_mod.image(r, name, body, defaults)
            if spec is not None:
                images[name] = spec
        graph.check_graph(r, images, node)
        if not r.problems:
            graph.inherit_platforms(r, images, node, defaults)
    return images
