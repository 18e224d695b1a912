"""`bbc refresh`: the maintenance window in one command.

Takes what `bbc outdated` finds - a pinned external base whose tag now names another digest
(the pin is rewritten), an unpinned base that moved since the last build, a pinned Python
package with a newer release within `--packages LEVEL` (the pins are rewritten) - bumps the
owning images (patch, cascading), builds and tests the affected subgraph (release tags only
after the tests pass), and with `--commit` makes one commit listing every change per image.
`--release` and `--rollout` go on as `bbc release` / `bbc rollout` would. Any failure restores
every file refresh changed, names the step, and exits 1; nothing is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbc.plan import bases
from bbc.model import dockerfile, versions
from bbc.adapters import lock, state
from bbc.upkeep import maintenance, packages, pins
from bbc.run import report
from bbc import config as config_mod
from bbc.config import yamledit
from bbc.upkeep import rollout as rollouts
from bbc.adapters.engine import Engine
from bbc.errors import BbcError, RegistryError
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Scope, Selection


@dataclass(frozen=True)
class Change:
    image: str
    where: str  # file:line
    what: str  # "base localhost:5000/upstream/os:1" | "package numpy"
    old: str
    new: str
    edit: Callable[[str], str] | None = None  # rewrites the file's text; None: nothing to write (unpinned base)
    path: Path | None = None
    start: int = -1  # an edit by offset (a package pin): applied before the line-based ones, last first


def refresh(hierarchy: Hierarchy, connect: Callable[[], Engine], *, images: tuple[str, ...] = (),
            use_bases: bool = True, level: str | None = "minor", index_url: str | None = None,
            commit: bool = False, release: bool = False, rollout: bool = False, dry_run: bool = False,
            fmt: str = "table", use_os: bool = False) -> int:
    """bbc.yaml's lock is held from reading it to the commit: a bump meanwhile waits. With
    `fmt` json every human line goes to stderr and stdout gets one report for the nightly job."""
    import contextlib
    import sys

    out: dict[str, Any] = {"result": "nothing", "failed_step": None, "message": "", "changes": [], "bumps": {},
                           "commit": None}
    with contextlib.redirect_stdout(sys.stderr) if fmt == "json" else contextlib.nullcontext():
        try:
            if dry_run:
                code = _refresh(hierarchy, connect, images, use_bases, level, index_url, commit, release, rollout,
                                True, out, use_os)
            else:
                with lock.config_lock(hierarchy.config.path):
                    code = _refresh(config_mod.load_hierarchy(hierarchy.config.path), connect, images, use_bases, level,
                                    index_url, commit, release, rollout, False, out, use_os)
        except BbcError as exc:
            if fmt != "json":
                raise
            out.update(result="failed", failed_step=out["failed_step"] or "finding updates", message=exc.message)
            code = 1
    if fmt == "json":
        report.dump_json(out)
    return code


def _refresh(hierarchy: Hierarchy, connect: Callable[[], Engine], images: tuple[str, ...], use_bases: bool,
             level: str | None, index_url: str | None, commit: bool, release: bool, rollout: bool,
             dry_run: bool, out: dict[str, Any], use_os: bool = False) -> int:
    hierarchy.check_names(images)
    config = hierarchy.config
    changes = (_base_changes(hierarchy, images) if use_bases else []) + (
        _package_changes(hierarchy, images, level, index_url) if level else [])
    outputs: dict[Path, bytes] = {}  # prepare outputs as they were, restored on failure (and after a dry run)
    if use_os:
        changes += _os_changes(hierarchy, images, connect(), outputs)
    if dry_run or not changes:
        _restore(outputs)
    if not changes:
        print("nothing to refresh: every external base and pinned package is current")
        return 0
    owners = hierarchy.sort({c.image for c in changes})
    bumps = versions.plan_bump(hierarchy, {name: "patch" for name in owners})
    out["changes"] = [{"image": c.image, "where": c.where, "what": c.what, "old": c.old, "new": c.new} for c in changes]
    out["bumps"] = {n: {"old": old, "new": new} for n, (old, new) in bumps.items()}
    print("changes:")
    for c in changes:
        print(f"  {c.image}: {c.what} {_short(c.old)} -> {_short(c.new)} ({c.where})")
    maintenance.show_bumps(hierarchy, bumps, owners)
    print(f"will rebuild and test: {', '.join(hierarchy.sort(hierarchy.closure_down(owners)))}")
    texts = _edited(changes)
    new_versions = {n: new for n, (_, new) in bumps.items()}
    if dry_run:
        import difflib

        for path, (old, new) in texts.items():
            rel = path.relative_to(config.root).as_posix()
            print("".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                               fromfile=f"a/{rel}", tofile=f"b/{rel}")), end="")
        print(yamledit.set_versions(config.path, new_versions, dry_run=True), end="")
        print("dry run: nothing changed")
        out["result"] = "dry-run"
        return 0
    files = sorted(texts) + [config.path]
    try:
        repo = maintenance.commit_ready(config.root, files) if commit else None
    except BbcError:
        _restore(outputs)
        raise
    saved = {path: path.read_bytes() for path in files}
    step = "writing the changes"
    try:
        for path, (_, new) in texts.items():
            yamledit.replace_file(path, new)
        yamledit.set_versions(config.path, new_versions)
        step = "build and tests"
        fresh = config_mod.load_hierarchy(config.path)
        engine = connect()
        if not maintenance.run(fresh, engine, Selection(tuple(owners), True, None, False), Scope(gate=True)):
            raise BbcError("a build or test failed (its log is named above)")
        if repo is not None:
            step = "the commit"
            from bbc.adapters import git

            sha = git.commit_paths(repo, files, _message(changes, bumps))
            out["commit"] = sha
            print(f"committed {sha[:12]}: bbc refresh: {', '.join(owners)}")
    except BbcError as exc:
        for path, data in saved.items():
            if path.read_bytes() != data:
                yamledit.replace_file(path, data.decode("utf-8"))
        _restore(outputs)
        print(f"refresh failed at {step}: {exc.message}; every file bbc changed is restored, nothing committed")
        out.update(result="failed", failed_step=step, message=exc.message)
        return 1
    print(f"refreshed {len(owners)} images: {', '.join(owners)}")
    out["result"] = "refreshed"
    if release or rollout:
        fresh = config_mod.load_hierarchy(config.path)
        if release and not maintenance.run(fresh, engine, Selection(tuple(owners), True, None, False),
                                           Scope(test=True, release=True)):
            print("release failed: no rollout")
            out.update(result="failed", failed_step="the release", message="a release step failed")
            return 1
        if rollout:
            code = 0
            for name in owners:
                code = max(code, rollouts.rollout(fresh, lambda: engine, name))
            return code
    return 0


def _base_changes(hierarchy: Hierarchy, names: tuple[str, ...]) -> list[Change]:
    """Pinned bases whose tag names another digest now (the pin is rewritten), unpinned ones
    that moved since the last build (nothing to write: the fingerprint sees it)."""
    root = hierarchy.config.root
    out: list[Change] = []
    for name in hierarchy.order:
        if names and name not in names:
            continue
        spec = hierarchy[name]
        recorded = (state.read_json(state.manifest_path(root, name)) or {}).get("bases") or {}
        for found in bases.of(spec, root):
            tag_ref = found.ref.partition("@")[0]
            now = bases.current_digest(tag_ref, hierarchy.config.mirrors)
            if isinstance(now, RegistryError):
                raise BbcError(f"{found.where}: base {tag_ref}: {now.message}; nothing was changed")
            old = found.ref.partition("@")[2] if found.pinned else recorded.get(found.ref)
            if not old or old == now:
                continue
            edit = (lambda text, b=found.base, d=now: dockerfile.pin_text(text, b, d)) if found.pinned else None
            out.append(Change(name, found.where, f"base {tag_ref}", old, now, edit, spec.dockerfile_path))
    return out


def _os_changes(hierarchy: Hierarchy, names: tuple[str, ...], engine: Engine,
                saved: dict[Path, bytes]) -> list[Change]:
    """Images whose prepare step takes the OS archive (`prepare.refresh`) and whose built image
    has package updates: the step runs again; a changed package set is a change per package,
    the same set puts the old outputs back (nothing to bump). Outputs replaced go to `saved`."""
    from bbc.upkeep import ospackages
    from bbc.plan import prepare
    from bbc.model import refs

    root = hierarchy.config.root
    out: list[Change] = []
    for name in hierarchy.order:
        spec = hierarchy[name]
        if (names and name not in names) or spec.prepare is None or not spec.prepare.refresh:
            continue
        ref = refs.ref(hierarchy.config.ref(name), spec.version)
        if engine.inspect(ref) is None:
            print(f"{name}: {ref} is not built: its OS packages are not asked")
            continue
        kind = ospackages.manager(engine, ref)
        found = ospackages.updates(engine, ref, kind, spec.network) if kind else []
        if not found:
            print(f"{name}: no OS package updates")
            continue
        security = sum(u.security for u in found)
        print(f"{name}: {len(found)} OS package updates ({security} security); running its prepare step again")
        files = [spec.path / o for o in spec.prepare.outputs]
        before_files = {f: f.read_bytes() for f in files if f.exists()}
        before = ospackages.package_set(spec.path, spec.prepare.outputs)
        try:
            prepare.run(spec, root, lambda line: print(f"[{name}] {line}"))  # noqa: B023 (runs now)
        except BbcError:
            _restore(before_files)
            raise
        after = ospackages.package_set(spec.path, spec.prepare.outputs)
        if after is None or after == before:
            _restore(before_files)
            print(f"{name}: the prepare step gave the same package set: nothing to bump")
            continue
        saved.update({f: d for f, d in before_files.items() if f not in saved})
        where = f"{spec.rel_path} (prepare)"
        old = before or {}
        out += [Change(name, where, f"os package {pkg}", old.get(pkg, "-"), after.get(pkg, "-"))
                for pkg in sorted(set(old) | set(after)) if old.get(pkg) != after.get(pkg)]
    return out


def _restore(files: dict[Path, bytes]) -> None:
    for path, data in files.items():
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)


def _package_changes(hierarchy: Hierarchy, names: tuple[str, ...], level: str,
                     index_url: str | None) -> list[Change]:
    """Pinned packages with a newer final release within `level`: each pin rewritten."""
    found = packages.pinned_in(hierarchy, names)
    answers = packages.ask_all([package for _, package, _ in found], index_url)
    out: list[Change] = []
    for image, package, pin in found:
        answer = answers[pins.normalize(package)]
        if isinstance(answer, BbcError):
            raise BbcError(f"{answer.message}; nothing was changed")
        newest = packages.newest_within(pin.old, answer, level)
        if newest is None:
            continue
        where = f"{pin.path.relative_to(hierarchy.config.root).as_posix()}:{pin.line}"
        edit = (lambda text, p=pin, v=newest: text[:p.start] + v + text[p.end:])
        out.append(Change(image, where, f"package {package}", pin.old, newest, edit, pin.path, pin.start))
    return out


def _short(text: str) -> str:
    return text[:19] + "…" if text.startswith("sha256:") else text


def _edited(changes: list[Change]) -> dict[Path, tuple[str, str]]:
    """{file: (text now, text after every change to it)}, before anything is written."""
    out: dict[Path, tuple[str, str]] = {}
    # offsets are into the file as read: apply those edits from the end, before any by line
    for c in sorted(changes, key=lambda c: (c.start < 0, -c.start)):
        if c.edit is None or c.path is None:
            continue
        if c.path not in out:
            with c.path.open(encoding="utf-8", newline="") as f:
                text = f.read()
            out[c.path] = (text, text)
        old, new = out[c.path]
        out[c.path] = (old, c.edit(new))
    return out


def _message(changes: list[Change], bumps: dict[str, tuple[str, str]]) -> str:
    lines = [f"bbc refresh: {', '.join(sorted({c.image for c in changes}))}", ""]
    for c in changes:
        lines.append(f"- {c.image}: {c.what} {c.old} -> {c.new} ({c.where})")
    return "\n".join(lines) + "\n\n" + maintenance.bump_lines(bumps)
