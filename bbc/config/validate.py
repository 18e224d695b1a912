"""Validate a parsed bbc.yaml into the frozen objects of bbc/model.py.

Every problem becomes one located line (`bbc.yaml:12: images.ml.parent: unknown image
'pyhton' (did you mean 'python'?)`); all problems are reported together, then ConfigError.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import semver

from bbc.model import dockerfile as dockerfile_mod
from bbc.model import hierarchy
from bbc.model import platforms as platforms_mod
from bbc.errors import ConfigError, did_you_mean
from bbc.model.specs import (CASCADES, DEFAULT_KEYS, ENGINE_KEYS, EXPECT_KEYS, IMAGE_KEYS, NETWORKS, POLICY_KEYS,
                             POLICY_LEVELS, PREPARE_KEYS, PROJECT_KEYS, SIGNING_KEYS, TEST_KEYS, TOP_KEYS, Config,
                             EngineSpec, Expect, ImageSpec, MirrorSpec, Policy, PrepareSpec, ProjectSpec, SigningSpec,
                             TestSpec)

_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_REGISTRY_HOST = re.compile(r"^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$")
_MIRROR = re.compile(r"^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
                     r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_REGISTRY = re.compile(r"^[a-zA-Z0-9.-]+(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$|^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


def validate(path: Path, value: Any, lines: dict[tuple[str, ...], int], raw: dict[tuple[str, ...], str]) -> Config:
    """The Config for a parsed bbc.yaml at `path`; ConfigError listing every problem."""
    return _Validator(path, value, lines, raw).run()


def validate_tracked(path: Path, value: Any, lines: dict[tuple[str, ...], int],
                     raw: dict[tuple[str, ...], str]) -> tuple[Config, list[str]]:
    """validate(), and every file or folder it looked at: the same text over the same files
    validates the same (config.py keeps large configs' results by these)."""
    validator = _Validator(path, value, lines, raw)
    return validator.run(), validator.touched


class _Validator:
    def __init__(self, path: Path, value: Any, lines: dict[tuple[str, ...], int], raw: dict[tuple[str, ...], str]) -> None:
        self.touched: list[str] = []  # files and folders looked at
        self.path = path
        self.value = value
        self.lines = lines
        self.raw = raw
        self.problems: list[tuple[int, str]] = []
        self.base = os.fspath(path.parent)

    # -- reporting -------------------------------------------------------------------
    def problem(self, keys: tuple[str, ...], message: str) -> None:
        line = self._line(keys)
        where = ".".join(keys)
        self.problems.append((line, f"{where}: {message}" if where else message))

    def _line(self, keys: tuple[str, ...]) -> int:
        for n in range(len(keys), -1, -1):
            if keys[:n] in self.lines:
                return self.lines[keys[:n]]
        return 0

    # -- typed getters ---------------------------------------------------------------
    def mapping(self, node: Any, keys: tuple[str, ...], allowed: tuple[str, ...]) -> dict[str, Any] | None:
        if node is None:
            return {}
        if not isinstance(node, dict):
            self.problem(keys, f"must be a mapping, not {_kind(node)}")
            return None
        for key in node:
            if key not in allowed:
                self.problem(keys + (key,), f"unknown key{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}")
        return node

    def string(self, node: dict[str, Any], keys: tuple[str, ...], key: str, *, required: bool = False) -> str | None:
        if key not in node or node[key] is None:
            if required:
                self.problem(keys, f"missing required key '{key}'")
            return None
        value = node[key]
        if isinstance(value, (dict, list)):
            self.problem(keys + (key,), f"must be a string, not {_kind(value)}")
            return None
        if isinstance(value, bool):
            self.problem(keys + (key,), f"must be a string, not {_kind(value)}; quote it")
            return None
        # numbers keep their source text: `version: 1.10` must not become 1.1
        return self.raw.get(keys + (key,), str(value))

    def str_map(self, node: dict[str, Any], keys: tuple[str, ...], key: str) -> dict[str, str] | None:
        value = node.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problem(keys + (key,), f"must be a mapping of names to strings, not {_kind(value)}")
            return None
        out: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, (dict, list)) or v is None:
                self.problem(keys + (key, k), f"must be a string, not {_kind(v)}")
                continue
            out[k] = self.raw.get(keys + (key, k), str(v)) if not isinstance(v, bool) else str(v).lower()
        return out

    def str_list(self, node: dict[str, Any], keys: tuple[str, ...], key: str) -> tuple[str, ...] | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or any(isinstance(v, (dict, list)) or v is None for v in value):
            self.problem(keys + (key,), f"must be a list of strings, not {_kind(value)}")
            return None
        return tuple(self.raw.get(keys + (key, str(i)), str(v)) for i, v in enumerate(value))

    def choice(self, value: str | None, keys: tuple[str, ...], options: tuple[str, ...], default: str) -> str:
        if value is None:
            return default
        if value not in options:
            self.problem(keys, f"'{value}' is not one of {', '.join(options)}{did_you_mean(value, options)}")
            return default
        return value

    # -- the document ----------------------------------------------------------------
    def run(self) -> Config:
        top = self.mapping(self.value, (), TOP_KEYS)
        if top is None or (not top and self.value is None):
            raise ConfigError([f"{self.path.name}:1: empty file; it needs 'registry' and 'images'"])
        registry = self.string(top, (), "registry", required=True) or ""
        if registry and not _REGISTRY.match(registry):
            self.problem(("registry",), f"'{registry}' is not a valid image repository prefix (e.g. localhost:5000/acme)")
        defaults = self.mapping(top.get("defaults"), ("defaults",), DEFAULT_KEYS) or {}
        images_node = top.get("images")
        images: dict[str, ImageSpec] = {}
        if images_node is None:
            self.problem((), "missing required key 'images'")
        elif not isinstance(images_node, dict) or not images_node:
            self.problem(("images",), "must be a non-empty mapping of image names to their settings")
        else:
            for name, node in images_node.items():
                spec = self.image(name, node, defaults)
                if spec is not None:
                    images[name] = spec
            self.check_graph(images, images_node)
            if not self.problems:
                self.inherit_platforms(images, images_node, defaults)
        projects = self.projects(top.get("projects"), images)
        policy = self.policy(top.get("policy"))
        engines = self.engines(top.get("engines")) if "engines" in top else ()
        signing = self.signing(top.get("signing"))
        mirrors = self.mirrors(top.get("mirrors"), top.get("mirrors_only", False))
        if self.problems:
            self.problems = sorted(dict.fromkeys(self.problems), key=lambda p: p[0])  # a bad default: once
            raise ConfigError(
                [f"{self.path.name}:{line}: {msg}" if line else f"{self.path.name}: {msg}" for line, msg in self.problems],
                tip="nothing was built; fix bbc.yaml and run again",
            )
        return Config(self.path, registry, images, projects, self.lines, policy, engines, signing, mirrors)

    def signing(self, node: Any) -> SigningSpec:
        """`signing: {key: PATH or env:NAME, public_keys: [PEM files]}` (issue 23)."""
        body = self.mapping(node, ("signing",), SIGNING_KEYS) or {}
        key = self.string(body, ("signing",), "key")
        if key is not None and key.startswith("env:") and not re.match(r"[A-Za-z_][A-Za-z0-9_]*\Z", key[4:]):
            self.problem(("signing", "key"), f"{key!r}: env: takes an environment variable name, e.g. env:BBC_SIGNING_KEY")
        found: list[Path] = []
        for i, rel in enumerate(self.str_list(body, ("signing",), "public_keys") or ()):
            path = Path(self.base, rel)
            self.touched.append(os.fspath(path))
            if not path.is_file():
                self.problem(("signing", "public_keys", str(i)), f"{rel}: no such file "
                                                                 "(`bbc keys generate DIR` writes DIR/bbc.pub)")
            found.append(path)
        return SigningSpec(key, tuple(found))

    def mirrors(self, node: Any, only: Any) -> MirrorSpec:
        """`mirrors: {docker.io: [mirror.acme.internal, 127.0.0.1:5001/hub]}` and `mirrors_only`."""
        if not isinstance(only, bool):
            self.problem(("mirrors_only",), f"must be true or false, not {_kind(only)}")
            only = False
        hosts: dict[str, tuple[str, ...]] = {}
        for registry in self.mapping(node, ("mirrors",), tuple(node) if isinstance(node, dict) else ()) or {}:
            keys = ("mirrors", str(registry))
            if not isinstance(registry, str) or not _REGISTRY_HOST.match(registry):
                self.problem(keys, "is not a registry host (e.g. docker.io, ghcr.io, registry.acme.com:5000)")
                continue
            entries = self.str_list(node, ("mirrors",), registry)
            if not entries:
                self.problem(keys, "must list its mirrors, e.g. [mirror.acme.internal, 127.0.0.1:5001]")
                continue
            for i, entry in enumerate(entries):
                if not _MIRROR.match(entry):
                    self.problem(keys + (str(i),), f"'{entry}' is not a mirror: host[:port][/path], without "
                                                   "https:// (e.g. mirror.acme.internal or 127.0.0.1:5001/hub)")
            hosts["docker.io" if registry in ("index.docker.io", "registry-1.docker.io") else registry] = entries
        if only and not hosts:
            self.problem(("mirrors_only",), "names no mirror to use instead: add `mirrors:`")
        return MirrorSpec(hosts, only)

    def engines(self, node: Any) -> tuple[EngineSpec, ...]:
        """`engines:` a list of URLs / context names, or {host, jobs} mappings."""
        if not isinstance(node, list) or not node:
            self.problem(("engines",), "must be a non-empty list of engines (a URL such as "
                                       "unix:///var/run/docker.sock or tcp://host:2376, or a docker context name)")
            return ()
        out: list[EngineSpec] = []
        for i, entry in enumerate(node):
            keys = ("engines", str(i))
            if isinstance(entry, str) and entry.strip():
                out.append(EngineSpec(entry.strip()))
                continue
            body = self.mapping(entry, keys, ENGINE_KEYS) if isinstance(entry, dict) else None
            if body is None:
                self.problem(keys, "an engine is a URL or context name, or a mapping with host (and jobs)")
                continue
            host = self.string(body, keys, "host", required=True)
            jobs = body.get("jobs", 1)
            if isinstance(jobs, str) and jobs.isdigit():
                jobs = int(jobs)  # scalars are kept as written
            if not isinstance(jobs, int) or isinstance(jobs, bool) or not 1 <= jobs <= 64:
                self.problem(keys + ("jobs",), f"must be a whole number from 1 to 64, not {jobs!r}")
                jobs = 1
            if host:
                out.append(EngineSpec(host, jobs))
        hosts = [e.host for e in out]
        for host in sorted({h for h in hosts if hosts.count(h) > 1}):
            self.problem(("engines",), f"{host} is listed twice")
        return tuple(out)

    def policy(self, node: Any) -> Policy:
        found = dict(self.mapping(node, ("policy",), POLICY_KEYS) or {})
        levels: dict[str, Any] = self.gates(found)  # issue 13 gates, popped from `found`
        for key, value in found.items():
            if key not in POLICY_KEYS:  # reported as unknown already
                continue
            if value not in POLICY_LEVELS:
                self.problem(("policy", key), f"must be one of {', '.join(POLICY_LEVELS)}, not {value!r}")
            else:
                levels[key] = value
        return Policy(**levels)

    def gates(self, found: dict[str, Any]) -> dict[str, Any]:
        """The policy gates of issue 13 (bbc/policy.py), removed from `found`."""
        out: dict[str, Any] = {}
        for key in ("non_root", "no_package_caches", "no_secrets"):
            if key in found:
                value = found.pop(key)
                if isinstance(value, bool):
                    out[key] = value
                else:
                    self.problem(("policy", key), f"must be true or false, not {value!r}")
        for key in ("max_own_size", "max_size"):
            if key in found:
                value = found.pop(key)
                size = _size(value)
                if size is None:
                    self.problem(("policy", key), f"must be a size like 300MB, 1.5GB or a number of bytes, not {value!r}")
                else:
                    out[key] = size
        if "required_labels" in found:
            labels_ = self.str_list({"required_labels": found.pop("required_labels")}, ("policy",), "required_labels")
            out["required_labels"] = labels_ or ()
        return out

    def image(self, name: str, node: Any, defaults: dict[str, Any]) -> ImageSpec | None:
        keys = ("images", name)
        if not _NAME.match(name):
            self.problem(keys, "image names are lowercase letters, digits and . _ - separators")
        body = self.mapping(node, keys, IMAGE_KEYS)
        if body is None:
            return None
        merged = {**defaults, **body}
        for key in ("build_args", "labels"):
            if isinstance(defaults.get(key), dict) and isinstance(body.get(key), dict):
                merged[key] = {**defaults[key], **body[key]}

        def src(key: str) -> tuple[str, ...]:
            # report a defaulted key where it was written
            return keys if key in body else ("defaults",)

        rel = self.string(body, keys, "path", required=True)
        version = self.string(body, keys, "version", required=True)
        if version is not None and not semver.Version.is_valid(version):
            self.problem(keys + ("version",), f"'{version}' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)")
        parent = self.string(body, keys, "parent")
        dockerfile = self.string(merged, src("dockerfile"), "dockerfile") or "Dockerfile"
        target = self.string(merged, src("target"), "target")
        parent_arg = self.string(merged, src("parent_arg"), "parent_arg") or "SOURCE_IMAGE"
        parent_ref = self.string(body, keys, "parent_ref")
        if parent_ref is not None and parent is None:
            self.problem(keys + ("parent_ref",), "names how the Dockerfile refers to its parent, but the image has no parent")
        if parent_ref is not None and "parent_arg" in body:
            self.problem(keys + ("parent_ref",), "set parent_arg or parent_ref, not both: the parent reaches the "
                                                 "Dockerfile through one of them")
        platform, platforms = self.platforms(body, defaults, keys)
        network = self.choice(self.string(merged, src("network"), "network"), src("network") + ("network",), NETWORKS, "host")
        cascade = self.choice(self.string(merged, src("cascade"), "cascade"), src("cascade") + ("cascade",), CASCADES, "patch")
        build_args = self.str_map(merged, src("build_args"), "build_args") or {}
        labels = self.str_map(merged, src("labels"), "labels") or {}
        watch = self.str_list(merged, src("watch"), "watch") or ()
        description = self.string(body, keys, "description") or ""
        owner = self.string(merged, src("owner"), "owner") or ""
        # os.path strings, not pathlib, and no resolve(): bbc plan loads 10,000 images
        folder = os.path.normpath(os.path.join(self.base, rel)) if rel else self.base
        path = Path(folder)
        on_build = False
        if rel is not None:
            text = None
            self.touched += [os.path.join(folder, dockerfile), folder]
            try:
                with open(os.path.join(folder, dockerfile), encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError:
                if not os.path.isdir(folder):
                    self.problem(keys + ("path",), f"folder '{rel}' does not exist")
                else:
                    self.problem(src("dockerfile") + ("dockerfile",) if "dockerfile" in merged else keys + ("path",),
                                 f"no Dockerfile at '{rel}/{dockerfile}'")
            if text is not None and parent is not None:
                on_build = dockerfile_mod.parent_on_build_platform(text, parent_arg, parent_ref)
            if text is not None and parent is not None and parent_ref is not None:
                if not any(s.raw == parent_ref for s in dockerfile_mod.stages(text)):
                    self.problem(keys + ("parent_ref",), f"no FROM line of {rel}/{dockerfile} names {parent_ref!r} "
                                                         "(written exactly as in the Dockerfile)")
            elif text is not None and parent is not None and not dockerfile_mod.uses_arg_in_from(text, parent_arg):
                self.problem(keys + ("path",),
                             f"{rel}/{dockerfile} never uses ${{{parent_arg}}} in a FROM line, so the parent "
                             f"'{parent}' would be ignored; start it with `ARG {parent_arg}` / `FROM ${{{parent_arg}}}`"
                             " (or set parent_arg, or parent_ref to the reference its FROM names the parent with)")
        prepare = self.prepare(body.get("prepare"), keys + ("prepare",)) if "prepare" in body else None
        test = self.test(body.get("test"), keys + ("test",), path) if "test" in body else None
        if rel is None or version is None:
            return None
        return ImageSpec(
            name=name, path=path, rel_path=rel, version=version, parent=parent, dockerfile=dockerfile,
            target=target, build_args=build_args, parent_arg=parent_arg, parent_ref=parent_ref, labels=labels, watch=watch,
            platform=platform, platforms=platforms, parent_on_build=on_build, network=network, prepare=prepare,
            test=test, cascade=cascade, description=description, line=self.lines.get(keys, 0), owner=owner,
        )

    def platforms(self, body: dict[str, Any], defaults: dict[str, Any],
                  keys: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
        """(platform, platforms) as written: the image's own keys, else the defaults'; an image
        saying neither gets its parent's later (`inherit_platforms`)."""
        if "platform" in body and "platforms" in body:
            self.problem(keys + ("platforms",), "set platform or platforms, not both")
        where, node = (keys, body) if "platform" in body or "platforms" in body else (("defaults",), defaults)
        if "platforms" in node:
            listed = self.str_list(node, where, "platforms") or ()
            if not listed:
                self.problem(where + ("platforms",), "must list at least one platform (e.g. [linux/amd64, linux/arm64])")
        elif "platform" in node:
            one = self.string(node, where, "platform")
            listed = (one,) if one else ()
        else:
            return None, ()
        for i, item in enumerate(listed):
            if not platforms_mod.valid(item):
                self.problem(where + ("platforms" if "platforms" in node else "platform",),
                             f"'{item}' is not a platform: os/arch or os/arch/variant, e.g. linux/amd64, linux/arm/v7")
            elif item in listed[:i]:
                self.problem(where + ("platforms",), f"{item} is listed twice")
        listed = tuple(dict.fromkeys(p for p in listed if platforms_mod.valid(p)))
        return (listed[0] if len(listed) == 1 else None), listed

    def inherit_platforms(self, images: dict[str, ImageSpec], nodes: dict[str, Any],
                          defaults: dict[str, Any]) -> None:
        """Fill in the platforms of images that name none (their parent's), parents first, and
        refuse a child that widens its parent's: it would have no parent build to start from."""
        from dataclasses import replace

        parents = {name: spec.parent for name, spec in images.items()}
        says = {n for n, node in nodes.items() if isinstance(node, dict) and ("platform" in node or "platforms" in node)}
        if "platform" in defaults or "platforms" in defaults:
            says = set(images)
        for name in hierarchy.topological(parents, list(nodes)):
            spec = images.get(name)
            if spec is None or spec.parent is None or spec.parent not in images:
                continue
            theirs = images[spec.parent].platforms
            if name not in says:
                if theirs:
                    images[name] = replace(spec, platforms=theirs, platform=theirs[0] if len(theirs) == 1 else None)
                continue
            if spec.parent_on_build:  # the parent runs on the build platform only
                here = platforms_mod.native()
                if theirs and here not in theirs:
                    self.problem(("images", name, "platforms"),
                                 f"its Dockerfile builds on {spec.parent} for the build platform ({here}), "
                                 f"which {spec.parent} is not built for ({', '.join(theirs)})")
                continue
            where = ("images", name, "platforms" if "platforms" in (nodes.get(name) or {}) else "platform")
            if not theirs and len(spec.platforms) > 1:
                self.problem(where, f"parent '{spec.parent}' is built only for the engine's own platform; a child "
                                    "may narrow its parent's platforms, never widen them (give the parent "
                                    f"platforms: [{', '.join(spec.platforms)}], or build on it with "
                                    "`FROM --platform=$BUILDPLATFORM` to cross-compile)")
                continue
            missing = [p for p in spec.platforms if theirs and p not in theirs]
            if missing:
                self.problem(where, f"parent '{spec.parent}' is not built for {', '.join(missing)} (only for "
                                    f"{', '.join(theirs)}); a child may narrow its parent's platforms, never widen them")

    def prepare(self, node: Any, keys: tuple[str, ...]) -> PrepareSpec | None:
        body = self.mapping(node, keys, PREPARE_KEYS)
        if body is None:
            return None
        command: tuple[str, ...] | str | None
        if isinstance(body.get("command"), list):
            command = self.str_list(body, keys, "command")
        else:
            command = self.string(body, keys, "command", required=True)
        outputs = self.str_list(body, keys, "outputs") or ()
        if not outputs:
            self.problem(keys + ("outputs",), "list the files the command writes, so bbc knows when to rerun it")
        refresh = body.get("refresh", False)
        if not isinstance(refresh, bool):
            self.problem(keys + ("refresh",), f"must be true or false, not {_kind(refresh)}")
            refresh = False
        if command is None:
            return None
        return PrepareSpec(command, self.str_list(body, keys, "inputs") or (), outputs, refresh)

    def test(self, node: Any, keys: tuple[str, ...], path: Path) -> TestSpec | None:
        body = self.mapping(node, keys, TEST_KEYS)
        if body is None:
            return None
        layer = self.string(body, keys, "layer")
        if layer:
            self.touched.append(os.path.join(path, layer))
        if layer and path.is_dir() and not (path / layer).is_file():
            self.problem(keys + ("layer",), f"no test layer Dockerfile at '{path.name}/{layer}'")
        command: tuple[str, ...] | None
        if isinstance(body.get("command"), str):
            command = ("/bin/sh", "-c", body["command"])
        else:
            command = self.str_list(body, keys, "command")
        mounts = self.str_map(body, keys, "mounts") or {}
        for folder, target in mounts.items():
            self.touched.append(os.path.join(path, folder))
            if path.is_dir() and not (path / folder).is_dir():
                self.problem(keys + ("mounts", folder), f"folder '{folder}' does not exist in the image's path")
            if not target.startswith("/"):
                self.problem(keys + ("mounts", folder), f"container path '{target}' must be absolute")
        timeout_raw = body.get("timeout", 600)
        if isinstance(timeout_raw, bool) or not isinstance(timeout_raw, int) or timeout_raw <= 0:
            self.problem(keys + ("timeout",), "must be a positive number of seconds")
            timeout_raw = 600
        network = self.choice(self.string(body, keys, "network"), keys + ("network",), ("none", "host"), "none")
        expect = None
        if "expect" in body:
            ebody = self.mapping(body["expect"], keys + ("expect",), EXPECT_KEYS)
            if ebody is not None:
                expect = Expect(
                    user=self.string(ebody, keys + ("expect",), "user"),
                    files=self.str_list(ebody, keys + ("expect",), "files") or (),
                    absent=self.str_list(ebody, keys + ("expect",), "absent") or (),
                )
        return TestSpec(
            layer=layer, build_args=self.str_map(body, keys, "build_args") or {}, command=command,
            mounts=mounts, timeout=timeout_raw, network=network, expect=expect,
            skip=self.str_list(body, keys, "skip") or (),
        )

    def check_graph(self, images: dict[str, ImageSpec], nodes: dict[str, Any]) -> None:
        names = list(nodes)
        parents: dict[str, str | None] = {}
        for name, spec in images.items():
            if spec.parent is None:
                continue
            if spec.parent == name:
                self.problem(("images", name, "parent"), "an image cannot be its own parent")
            elif spec.parent not in nodes:
                self.problem(("images", name, "parent"),
                             f"unknown image '{spec.parent}'{did_you_mean(spec.parent, names)}")
            else:
                parents[name] = spec.parent
        for loop in hierarchy.cycles(parents):
            chain = " -> ".join(loop + [loop[0]])
            self.problem(("images", loop[0], "parent"), f"cycle in the hierarchy: {chain}")
        # skip names must be inherited tests
        for name, spec in images.items():
            if spec.test is None:
                continue
            line = hierarchy.lineage(parents, name)
            for skipped in spec.test.skip:
                if skipped not in line or skipped == name:
                    self.problem(("images", name, "test", "skip"),
                                 f"'{skipped}' is not an ancestor of '{name}'; only inherited tests can be skipped")
        builds: dict[tuple[Path, str, str | None], str] = {}
        for name, spec in images.items():
            key = (spec.path, spec.dockerfile, spec.target)
            if key in builds:
                self.problem(("images", name),
                             f"same build as '{builds[key]}' (context '{spec.rel_path}', Dockerfile "
                             f"'{spec.dockerfile}', target {spec.target or '(final)'}); give it its own folder, "
                             "Dockerfile or target")
            else:
                builds[key] = name

    def projects(self, node: Any, images: Mapping[str, ImageSpec]) -> dict[str, ProjectSpec]:
        if node is None:
            return {}
        if not isinstance(node, dict):
            self.problem(("projects",), f"must be a mapping of project names to settings, not {_kind(node)}")
            return {}
        out: dict[str, ProjectSpec] = {}
        for name, body in node.items():
            keys = ("projects", name)
            body = self.mapping(body, keys, PROJECT_KEYS)
            if body is None:
                continue
            repo = self.string(body, keys, "repo", required=True)
            file = self.string(body, keys, "file") or "Dockerfile"
            used = self.str_list(body, keys, "images") or ()
            if not used:
                self.problem(keys + ("images",), "list the blessed images this project builds on")
            for image in used:
                if image not in images:
                    self.problem(keys + ("images",), f"unknown image '{image}'{did_you_mean(image, images)}")
            test = body.get("test", False)
            if not isinstance(test, bool):
                self.problem(keys + ("test",), "must be true or false")
                test = False
            if repo is not None:
                out[name] = ProjectSpec(name, repo, file, used, test)
        return out


_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def _size(value: Any) -> int | None:
    """Bytes from `300MB`, `1.5GB`, `512MiB` or a number (policy size budgets)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(value))
    if m is None or m.group(2).lower() not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
