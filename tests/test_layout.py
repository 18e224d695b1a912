"""The package's shape the one-plan design relies on: packages by concern in a fixed layer order
with imports that only point down, no module import cycle, commands that are thin and never
import each other (what two commands share lives in a domain module), and the docker SDK used
in known places only. docs/ARCHITECTURE.md draws the same picture."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "bbc"

# Bottom to top: a module may import from its own package and from packages before it, never
# from one after it. `errors` is the one module of bbc/ itself every layer may raise from.
LAYERS = ("errors", "model", "adapters", "config", "plan", "inside", "release", "run", "upkeep", "page",
          "commands", "cli")


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
    assert users == ["adapters/docker/context.py", "adapters/docker/engine.py", "adapters/registry/client.py"]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _edges(modules: dict[str, Path]) -> set[tuple[str, str]]:
    """(importer, imported) between bbc modules, every import counted (inside functions and
    under TYPE_CHECKING too); `from pkg import submodule` is an edge to the submodule."""
    edges = set()
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
                targets = subs + ([node.module] if len(subs) < len(node.names) else [])
            edges.update((name, t) for t in targets if t in modules and t != name)
    return edges


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_package_has_a_layer() -> None:
    packages = {_layer(m) for m in _modules()} - {None}
    assert packages <= set(LAYERS), f"add {sorted(packages - set(LAYERS))} to LAYERS (and docs/ARCHITECTURE.md)"


def test_imports_only_point_down_the_layers() -> None:
    up = sorted(f"{a} -> {b}" for a, b in _edges(_modules())
                if _layer(a) and _layer(b) and LAYERS.index(_layer(b) or "") > LAYERS.index(_layer(a) or ""))
    assert up == [], "imports that run back up the layers (move the code down, or pass it in):\n" + "\n".join(up)


def test_no_module_import_cycle() -> None:
    import networkx as nx

    graph = nx.DiGraph(sorted(_edges(_modules())))
    cycles = [" -> ".join(c) for c in nx.simple_cycles(graph)]
    assert cycles == [], "\n".join(cycles)


def test_the_layer_check_sees_an_arrow_back_up(tmp_path: Path) -> None:
    """The check above would pass on a tree it cannot read: it must name a planted arrow."""
    (tmp_path / "bbc" / "model").mkdir(parents=True)
    (tmp_path / "bbc" / "run").mkdir()
    (tmp_path / "bbc" / "model" / "x.py").write_text("def f():\n    from bbc.run import y\n")
    (tmp_path / "bbc" / "run" / "y.py").write_text("")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "bbc"
    try:
        edges = _edges(_modules())
    finally:
        PACKAGE = saved
    assert ("bbc.model.x", "bbc.run.y") in edges
