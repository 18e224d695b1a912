"""The package's shape the one-plan design relies on: commands are thin and never import each
other (what two commands share lives in a domain module), and the docker SDK is used in
known places only."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "bbc"


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (deferred imports included)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def test_commands_do_not_import_each_other() -> None:
    commands = sorted((PACKAGE / "commands").glob("*.py"))
    assert len(commands) > 5
    offenders = {p.name: sorted(m for m in imports(p) if m.startswith("bbc.commands"))
                 for p in commands}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_docker_sdk_is_imported_in_three_known_places() -> None:
    users = sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
                   if any(m == "docker" or m.startswith("docker.") for m in imports(p)))
    # the engine; the SDK's .dockerignore matcher, so a context is read exactly as Docker
    # reads it; the SDK's reader of the Docker config (credential helpers) for registry auth
    assert users == ["adapters/registry/auth.py", "docker_engine.py", "fingerprint.py"]
