"""One entry of bbc.yaml's `images:` into an ImageSpec: its own keys over `defaults:`, its
folder and Dockerfile looked at (the parent must reach a FROM line, each `uses:` key a read:
uses.py), its platforms, and its `prepare:` and `test:` steps. Each problem is located at the key where it was written."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import semver

from bbc.config import uses
from bbc.config.checker import Checker, kind
from bbc.model import dockerfile as dockerfile_mod
from bbc.model import platforms as platforms_mod
from bbc.model.specs import (CASCADES, EXPECT_KEYS, IMAGE_KEYS, NETWORKS, PREPARE_KEYS, TEST_KEYS, Expect, ImageSpec,
                             PrepareSpec, TestSpec)

MAX_TEST_TIMEOUT = 86400  # seconds: a test that runs longer is a hang
# a path component of Docker's reference grammar (distribution/reference): what a repository
# `<registry>/<name>` allows
_NAME = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_SEPARATOR = re.compile(r"[._-]+")


def name_problem(name: str) -> str | None:
    """Why Docker would refuse `name` as the last part of a repository name, or None."""
    if _NAME.fullmatch(name):
        return None
    if _NAME.fullmatch(name.lower()):
        return f"Docker repository names are lower-case: '{name.lower()}'"
    odd = sorted({c for c in name if not (c.isascii() and (c.islower() or c.isdigit()) or c in "._-")})
    if odd:
        return (f"{', '.join(repr(c) for c in odd)} cannot be in an image name: lower-case letters and digits, "
                "with '.', '_', '__' or dashes between them")
    if not name or not name[0].isalnum() or not name[-1].isalnum():
        return "an image name starts and ends with a lower-case letter or digit"
    bad = next(m.group() for m in _SEPARATOR.finditer(name) if not re.fullmatch(r"[._]|__|-+", m.group()))
    return f"'{bad}' cannot separate the parts of an image name: one '.', one '_', '__', or dashes"


class _Settings:
    """An image's keys over the defaults'; a key the image does not set is reported where
    `defaults:` set it."""

    def __init__(self, r: Checker, keys: tuple[str, ...], body: dict[str, Any], defaults: dict[str, Any]) -> None:
        self.r, self.keys, self.body = r, keys, body
        self.merged = {**defaults, **body}
        for key in ("build_args", "labels", "secrets"):
            if isinstance(defaults.get(key), dict) and isinstance(body.get(key), dict):
                self.merged[key] = {**defaults[key], **body[key]}

    def src(self, key: str) -> tuple[str, ...]:
        return self.keys if key in self.body else ("defaults",)

    def own(self, key: str, *, required: bool = False) -> str | None:
        """A key only the image itself may set."""
        return self.r.string(self.body, self.keys, key, required=required)

    def string(self, key: str) -> str | None:
        return self.r.string(self.merged, self.src(key), key)

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        return self.r.choice(self.string(key), self.src(key) + (key,), options, default)


def image(r: Checker, name: str, node: Any, defaults: dict[str, Any]) -> ImageSpec | None:
    keys = ("images", name)
    why = name_problem(name)
    if why is not None:
        r.problem(keys, f"not a name Docker accepts: {why}")
    body = r.mapping(node, keys, IMAGE_KEYS)
    if body is None:
        return None
    s = _Settings(r, keys, body, defaults)
    rel = s.own("path", required=True)
    version = s.own("version", required=True)
    if version is not None and not semver.Version.is_valid(version):
        r.problem(keys + ("version",), f"'{version}' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)")
    parent = s.own("parent")
    dockerfile = s.string("dockerfile") or "Dockerfile"
    target = s.string("target")
    parent_arg = s.string("parent_arg") or "SOURCE_IMAGE"
    parent_ref = s.own("parent_ref")
    if parent_ref is not None and parent is None:
        r.problem(keys + ("parent_ref",), "names how the Dockerfile refers to its parent, but the image has no parent")
    if parent_ref is not None and "parent_arg" in body:
        r.problem(keys + ("parent_ref",), "set parent_arg or parent_ref, not both: the parent reaches the "
                                          "Dockerfile through one of them")
    platform, platforms = platforms_of(r, body, defaults, keys)
    network, cascade = s.choice("network", NETWORKS, "host"), s.choice("cascade", CASCADES, "patch")
    build_args = r.str_map(s.merged, s.src("build_args"), "build_args") or {}
    labels = r.str_map(s.merged, s.src("labels"), "labels") or {}
    watch = r.str_list(s.merged, s.src("watch"), "watch") or ()
    description = s.own("description") or ""
    owner = s.string("owner") or ""
    secrets = _secrets(r, s)
    # os.path strings, not pathlib, and no resolve(): bbc plan loads 10,000 images
    folder = os.path.normpath(os.path.join(r.base, rel)) if rel else r.base
    on_build, text = _dockerfile(s, rel, folder, dockerfile, (parent, parent_arg, parent_ref)) if rel is not None \
        else (False, None)
    used = uses.of(r, keys, body, text, f"{rel}/{dockerfile}", (parent, parent_arg, parent_ref)) \
        if "uses" in body else ()
    path = Path(folder)
    prepare = _prepare(r, body.get("prepare"), keys + ("prepare",)) if "prepare" in body else None
    test = _test(r, body.get("test"), keys + ("test",), path) if "test" in body else None
    if rel is None or version is None:
        return None
    return ImageSpec(
        name=name, path=path, rel_path=rel, version=version, parent=parent, dockerfile=dockerfile,
        target=target, build_args=build_args, parent_arg=parent_arg, parent_ref=parent_ref, labels=labels, watch=watch,
        platform=platform, platforms=platforms, parent_on_build=on_build, network=network, prepare=prepare,
        test=test, cascade=cascade, description=description, line=r.lines.get(keys, 0), owner=owner,
        secrets=secrets, uses=used,
    )


_SECRET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _secrets(r: Checker, s: _Settings) -> dict[str, str]:
    """`secrets: {ID: PATH or env:NAME}`: build secrets BuildKit mounts (issue 23). Paths are
    relative to bbc.yaml's folder; whether the file or variable is there is asked at the build."""
    keys = s.src("secrets")
    found = r.str_map(s.merged, keys, "secrets") or {}
    out: dict[str, str] = {}
    for secret_id, where in found.items():
        if not _SECRET_ID.match(str(secret_id)):
            r.problem(keys + ("secrets", str(secret_id)), "a secret id is letters, digits and . _ - "
                                                          "(the id= of RUN --mount=type=secret)")
        elif where.startswith("env:") and not _ENV_NAME.match(where[4:]):
            r.problem(keys + ("secrets", secret_id), f"{where!r}: env: takes an environment variable name, "
                                                     "e.g. env:PYPI_TOKEN")
        elif not where.strip():
            r.problem(keys + ("secrets", secret_id), "names no file and no env:NAME")
        else:
            out[secret_id] = where if where.startswith("env:") else os.path.normpath(os.path.join(r.base, where))
    if set(out) & set(s.merged.get("build_args") or {}):
        both = sorted(set(out) & set(s.merged.get("build_args") or {}))
        r.problem(keys + ("secrets",), f"{', '.join(both)}: also a build arg; a secret passed as a build arg is "
                                       "written into the image's history: keep it under secrets only")
    return out


def _dockerfile(s: _Settings, rel: str, folder: str, dockerfile: str,
                link: tuple[str | None, str, str | None]) -> tuple[bool, str | None]:
    """Read the image's Dockerfile and check that the parent (`link`: its name, the arg and
    the reference that bring it in) reaches a FROM line; whether the parent is needed for the
    build platform only (a cross-compiling builder), and the text (None: unreadable)."""
    r, keys = s.r, s.keys
    parent, parent_arg, parent_ref = link
    text = None
    r.touched += [os.path.join(folder, dockerfile), folder]
    try:
        with open(os.path.join(folder, dockerfile), encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as exc:
        if os.path.isfile(folder):
            head, tail = os.path.split(rel.rstrip("/"))
            r.problem(keys + ("path",), f"'{rel}' is a file; path names the image's folder (its build context): "
                                        f"`path: {head or '.'}`" + (f" with `dockerfile: {tail}`"
                                                                   if tail != dockerfile else ""))
        elif not os.path.isdir(folder):
            r.problem(keys + ("path",), f"folder '{rel}' does not exist")
        elif os.path.exists(os.path.join(folder, dockerfile)):
            r.problem(s.src("dockerfile") + ("dockerfile",) if "dockerfile" in s.merged else keys + ("path",),
                      f"cannot read '{rel}/{dockerfile}' ({exc.strerror})")
        else:
            r.problem(s.src("dockerfile") + ("dockerfile",) if "dockerfile" in s.merged else keys + ("path",),
                      f"no Dockerfile at '{rel}/{dockerfile}'")
    if text is None or parent is None:
        return False, text
    on_build = dockerfile_mod.parent_on_build_platform(text, parent_arg, parent_ref)
    if parent_ref is not None:
        if not any(st.raw == parent_ref for st in dockerfile_mod.stages(text)):
            r.problem(keys + ("parent_ref",), f"no FROM line of {rel}/{dockerfile} names {parent_ref!r} "
                                              "(written exactly as in the Dockerfile)")
    elif not dockerfile_mod.uses_arg_in_from(text, parent_arg):
        r.problem(keys + ("path",),
                  f"{rel}/{dockerfile} never uses ${{{parent_arg}}} in a FROM line, so the parent "
                  f"'{parent}' would be ignored; start it with `ARG {parent_arg}` / `FROM ${{{parent_arg}}}`"
                  " (or set parent_arg, or parent_ref to the reference its FROM names the parent with)")
    return on_build, text


def platforms_of(r: Checker, body: dict[str, Any], defaults: dict[str, Any],
                 keys: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """(platform, platforms) as written: the image's own keys, else the defaults'; an image
    saying neither gets its parent's later (graph.inherit_platforms)."""
    if "platform" in body and "platforms" in body:
        r.problem(keys + ("platforms",), "set platform or platforms, not both")
    where, node = (keys, body) if "platform" in body or "platforms" in body else (("defaults",), defaults)
    if "platforms" in node:
        listed = r.str_list(node, where, "platforms") or ()
        if not listed:
            r.problem(where + ("platforms",), "must list at least one platform (e.g. [linux/amd64, linux/arm64])")
    elif "platform" in node:
        one = r.string(node, where, "platform")
        listed = (one,) if one else ()
    else:
        return None, ()
    for i, item in enumerate(listed):
        if not platforms_mod.valid(item):
            r.problem(where + ("platforms" if "platforms" in node else "platform",),
                      f"'{item}' is not a platform: os/arch or os/arch/variant, e.g. linux/amd64, linux/arm/v7")
        elif item in listed[:i]:
            r.problem(where + ("platforms",), f"{item} is listed twice")
    listed = tuple(dict.fromkeys(p for p in listed if platforms_mod.valid(p)))
    return (listed[0] if len(listed) == 1 else None), listed


def _prepare(r: Checker, node: Any, keys: tuple[str, ...]) -> PrepareSpec | None:
    body = r.mapping(node, keys, PREPARE_KEYS)
    if body is None:
        return None
    command: tuple[str, ...] | str | None
    if isinstance(body.get("command"), list):
        command = r.str_list(body, keys, "command")
    else:
        command = r.string(body, keys, "command", required=True)
    outputs = r.str_list(body, keys, "outputs") or ()
    if not outputs:
        r.problem(keys + ("outputs",), "list the files the command writes, so bbc knows when to rerun it")
    refresh = body.get("refresh", False)
    if not isinstance(refresh, bool):
        r.problem(keys + ("refresh",), f"must be true or false, not {kind(refresh)}")
        refresh = False
    if command is None:
        return None
    return PrepareSpec(command, r.str_list(body, keys, "inputs") or (), outputs, refresh)


def _test(r: Checker, node: Any, keys: tuple[str, ...], path: Path) -> TestSpec | None:
    body = r.mapping(node, keys, TEST_KEYS)
    if body is None:
        return None
    layer = r.string(body, keys, "layer")
    if layer:
        r.touched.append(os.path.join(path, layer))
    if layer and path.is_dir() and not (path / layer).is_file():
        r.problem(keys + ("layer",), f"no test layer Dockerfile at '{path.name}/{layer}'")
    command: tuple[str, ...] | None
    if isinstance(body.get("command"), str):
        command = ("/bin/sh", "-c", body["command"])
    else:
        command = r.str_list(body, keys, "command")
    mounts = r.str_map(body, keys, "mounts") or {}
    for folder, target in mounts.items():
        r.touched.append(os.path.join(path, folder))
        if path.is_dir() and not (path / folder).is_dir():
            r.problem(keys + ("mounts", folder), f"folder '{folder}' does not exist in the image's path")
        if not target.startswith("/"):
            r.problem(keys + ("mounts", folder), f"container path '{target}' must be absolute")
    timeout_raw = body.get("timeout", 600)
    if isinstance(timeout_raw, bool) or not isinstance(timeout_raw, int) or timeout_raw <= 0:
        r.problem(keys + ("timeout",), "must be a positive number of seconds")
        timeout_raw = 600
    elif timeout_raw > MAX_TEST_TIMEOUT:  # socket timeouts overflow far above it
        r.problem(keys + ("timeout",), f"must be at most {MAX_TEST_TIMEOUT} seconds (a day), not {timeout_raw}")
        timeout_raw = 600
    network = r.choice(r.string(body, keys, "network"), keys + ("network",), ("none", "host"), "none")
    expect = _expect(r, body, keys)
    return TestSpec(
        layer=layer, build_args=r.str_map(body, keys, "build_args") or {}, command=command,
        mounts=mounts, timeout=timeout_raw, network=network, expect=expect,
        skip=r.str_list(body, keys, "skip") or (),
    )


def _expect(r: Checker, body: dict[str, Any], keys: tuple[str, ...]) -> Expect | None:
    if "expect" not in body:
        return None
    ebody = r.mapping(body["expect"], keys + ("expect",), EXPECT_KEYS)
    if ebody is None:
        return None
    return Expect(
        user=r.string(ebody, keys + ("expect",), "user"),
        files=r.str_list(ebody, keys + ("expect",), "files") or (),
        absent=r.str_list(ebody, keys + ("expect",), "absent") or (),
    )
