"""Read YAML into plain values while keeping line numbers and rejecting duplicate keys.

pyyaml silently keeps the last of two equal keys; a config tool must not. We compose the
node tree with libyaml (fast even for 10,000 images) and build the values ourselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_scalars = yaml.constructor.SafeConstructor()


@dataclass(frozen=True)
class Located:
    """Values of a YAML document plus, for each key path, the line it stands on."""

    value: Any
    lines: dict[tuple[str, ...], int]
    raw: dict[tuple[str, ...], str]  # the source text of every scalar, for str-typed fields


class YamlProblem(Exception):
    """The text is not YAML bbc reads: `problems` holds every one found, (line, message), in
    order; `line` and `message` are the first's."""

    def __init__(self, line: int, message: str, more: list[tuple[int, str]] | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.problems = [(line, message), *(more or [])]


def load(text: str) -> Located:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlProblem(line, _syntax(text, exc, mark)) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(0, f"invalid YAML: {exc}") from None
    lines: dict[tuple[str, ...], int] = {}
    raw: dict[tuple[str, ...], str] = {}
    if node is None:
        return Located(None, lines, raw)
    found: list[tuple[int, str]] = []
    value = _build(node, (), lines, raw, found)
    if found:  # every duplicate at once, not one a run
        raise YamlProblem(*found[0], found[1:])
    return Located(value, lines, raw)


def _syntax(text: str, exc: yaml.MarkedYAMLError, mark: Any) -> str:
    """libyaml's reason, or what it means where it is cryptic ("found character that cannot
    start any token"): a tab where YAML wants spaces."""
    lines = text.splitlines()
    if mark is not None and mark.line < len(lines):
        line = lines[mark.line]
        indent = line[:len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            return f"a tab in the indentation (column {indent.index(chr(9)) + 1}); YAML indents with spaces only"
        if line[mark.column:mark.column + 1] == "\t":
            return f"a tab at column {mark.column + 1}, where YAML wants spaces"
    return f"invalid YAML: {exc.problem or exc.context}"


def _build(
    node: yaml.Node,
    path: tuple[str, ...],
    lines: dict[tuple[str, ...], int],
    raw: dict[tuple[str, ...], str],
    found: list[tuple[int, str]],
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        _scalars.flatten_mapping(node)  # honour `<<: *anchor` merges
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem(key_node.start_mark.line + 1, "keys must be plain strings")
            key = str(key_node.value)
            where = ".".join(path + (key,))
            if key in out:
                first = lines[path + (key,)]
                found.append((key_node.start_mark.line + 1, f"{where}: duplicate key (first set on line {first}); "
                                                            "YAML would silently keep only the last one"))
                continue
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, path + (key,), lines, raw, found)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (str(i),), lines, raw, found) for i, item in enumerate(node.value)]
    raw[path] = str(node.value)
    return _scalars.construct_object(node, deep=True)
