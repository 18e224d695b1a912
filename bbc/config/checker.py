"""What validating bbc.yaml is made of: typed getters over the parsed document that never
raise, each problem kept as one line located at the key it is about (or the nearest key
above it that has a line), all of them reported together at the end (bbc/config/validate.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bbc.errors import ConfigError, did_you_mean


class Checker:
    """The problems found so far, and every file and folder looked at (the config cache
    reuses a result while all of them are unchanged)."""

    def __init__(self, path: Path, lines: dict[tuple[str, ...], int], raw: dict[tuple[str, ...], str]) -> None:
        self.touched: list[str] = []  # files and folders looked at
        self.path = path
        self.lines = lines
        self.raw = raw  # scalars as written: `version: 1.10` must not become 1.1
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

    def raise_problems(self) -> None:
        """ConfigError with every problem, in line order, when there is any."""
        if not self.problems:
            return
        self.problems = sorted(dict.fromkeys(self.problems), key=lambda p: p[0])  # a bad default: once
        raise ConfigError(
            [f"{self.path.name}:{line}: {msg}" if line else f"{self.path.name}: {msg}" for line, msg in self.problems],
            tip="nothing was built; fix bbc.yaml and run again",
        )

    # -- typed getters ---------------------------------------------------------------
    def mapping(self, node: Any, keys: tuple[str, ...], allowed: tuple[str, ...]) -> dict[str, Any] | None:
        if node is None:
            return {}
        if not isinstance(node, dict):
            self.problem(keys, f"must be a mapping, not {kind(node)}")
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
            self.problem(keys + (key,), f"must be a string, not {kind(value)}")
            return None
        if isinstance(value, bool):
            self.problem(keys + (key,), f"must be a string, not {kind(value)}; quote it")
            return None
        # numbers keep their source text: `version: 1.10` must not become 1.1
        return self.raw.get(keys + (key,), str(value))

    def str_map(self, node: dict[str, Any], keys: tuple[str, ...], key: str) -> dict[str, str] | None:
        value = node.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problem(keys + (key,), f"must be a mapping of names to strings, not {kind(value)}")
            return None
        out: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, (dict, list)) or v is None:
                self.problem(keys + (key, k), f"must be a string, not {kind(v)}")
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
            self.problem(keys + (key,), f"must be a list of strings, not {kind(value)}")
            return None
        return tuple(self.raw.get(keys + (key, str(i)), str(v)) for i, v in enumerate(value))

    def choice(self, value: str | None, keys: tuple[str, ...], options: tuple[str, ...], default: str) -> str:
        if value is None:
            return default
        if value not in options:
            self.problem(keys, f"'{value}' is not one of {', '.join(options)}{did_you_mean(value, options)}")
            return default
        return value


def kind(value: Any) -> str:
    """What a YAML value is, in words, for a problem's message."""
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
